/**
 * The milestone forecast simulation (docs/metrics.md item 21): pure, deterministic for a seed and inputs.
 *
 * A trial walks week by week from the forecast's instant. Week w (1, 2, ...):
 *   1. the items whose blockers have all finished by the end of week w become workable;
 *   2. a throughput sample is drawn, uniform over the samples (items done that week);
 *   3. when there are growth samples, one is drawn and, in the weeks growth goes on for
 *      (inputs.growthWeeks), added to the workable scope (never below 0: items leaving the milestone
 *      leave from the work that waits on nothing);
 *   4. min(throughput, workable) items are done.
 * The trial's completion week is the first week its remaining scope (workable and still blocked) is 0,
 * and its date the end of that week: today + 7 * w days (week 0, today, when nothing is left). A trial not
 * done after settings.horizonWeeks weeks does not finish.
 *
 * Blocking links are precedence: an item blocked by an open item is not workable before the week its
 * blocker finishes (an item with several blockers waits for the last of them), and a blocker that is
 * itself blocked by another blocker of the milestone finishes no earlier than that one.
 *
 * Each trial draws from streams of its own (from the seed, the milestone and the trial's number): the
 * same seed and inputs give the same forecast, and a what-if runs every trial on the same draws as the
 * current forecast, so the difference between the two is the change, not noise.
 */
import { labelSeed, Mulberry32, streamSeed } from './prng.js';
import type { BlockedItems, Day, Forecast, ForecastBand, ForecastInputs, ForecastMethod, ForecastSettings, WhatIf } from './types.js';

const DAY_MS = 86_400_000;
/** Scope below this counts as none left (throughput scaled by a factor or a share is fractional). */
const EPS = 1e-9;
/** Completion weeks are kept in 16 bits; the week after the horizon marks a trial that does not finish. */
const MAX_HORIZON = 65_534;
/** The fewest peers the cadence model forecasts from, once those that finished before today are left out. */
const MIN_CADENCE_PEERS = 3;

// ---------------------------------------------------------------------------------------------------
// Public API

/**
 * Forecasts one milestone. With too little history (settings.minDoneItems, settings.minWeeks) there is
 * no number, and the result says why. Otherwise:
 * - p50, p85, p95 are nearest-rank percentiles of the trials' completion weeks (the smallest week w such
 *   that at least ceil(p * trials) trials finish by w), as dates; null when that rank lies beyond the
 *   horizon;
 * - confidence is the share of trials whose completion date is on or before the committed date (a trial
 *   beyond the horizon is not done by it); band from settings.bands;
 * - criticalPath is the blocker chain that sets the date in the most trials. A blocker sets a trial's
 *   date when the team ran out of workable items while items still waited on it: in the last week the
 *   team had capacity left over and items were still blocked, the blocker released last among those
 *   still waiting is the one credited, with the chain of blockers above it that held it back.
 * Throws a RangeError naming the milestone and the field when an input or setting cannot be used.
 */
export function forecastMilestone(inputs: ForecastInputs, settings: ForecastSettings): Forecast {
  const where = whereOf(inputs);
  checkSettings(settings, where);
  checkDay(inputs.today, `${where}: today`);
  if (inputs.committed !== null) checkDay(inputs.committed, `${where}: committed`);
  const asOf = isoInstant(inputs.asOf, where);
  const head = { source: inputs.source, milestoneId: inputs.milestoneId, name: inputs.name, asOf };
  // A milestone with no work item yet is not done: its scope has not been planned, and a forecast of
  // "done today" would be the surest miss of all. That is said first: its history is its team's, and
  // a milestone with no item may have no team either.
  if (inputs.remainingItems === 0 && inputs.milestoneDoneItems === 0) {
    return { ok: false, ...head, reason: 'no work item is in the milestone yet: its scope is not planned', inputs };
  }
  const shortfall = historyShortfall(inputs, settings);
  if (shortfall !== null) return { ok: false, ...head, reason: shortfall, inputs };

  const plan = compile(inputs, settings);
  const run = simulate(plan, settings);
  const H = plan.horizon;
  const histogram = new Uint32Array(H + 2);
  for (let t = 0; t < run.weeks.length; t++) histogram[run.weeks[t]!]!++;

  const dayOf = (q: number): Day | null => {
    const w = nearestRankWeek(histogram, settings.trials, q);
    return w > H ? null : addDays(inputs.today, 7 * w);
  };
  const bandOf = (c: number): ForecastBand =>
    c >= settings.bands.onTrack ? 'on track' : c >= settings.bands.atRisk ? 'at risk' : 'off track';
  const cadence = cadenceFinish(inputs);
  let method: ForecastMethod = 'throughput';
  let p50 = dayOf(0.5);
  let p85 = dayOf(0.85);
  let p95 = dayOf(0.95);
  let confidence: number | null = null;
  if (cadence !== null && inputs.committed !== null) {
    // The peers' finishes, shifted onto this milestone's date.
    method = 'cadence';
    const { offsets } = cadence;
    const at = (q: number): Day => addDays(inputs.committed!, offsets[Math.max(0, Math.ceil(q * offsets.length - 1e-9) - 1)]!);
    p50 = at(0.5);
    p85 = at(0.85);
    p95 = at(0.95);
    confidence = cadence.confidence;
  } else if (inputs.committed !== null) {
    let done = 0;
    if (plan.cutWeek >= 0) for (let w = 0; w <= plan.cutWeek; w++) done += histogram[w]!;
    confidence = done / settings.trials;
  }
  const critical = run.critical;
  return {
    ok: true,
    ...head,
    committed: inputs.committed,
    p50,
    p85,
    p95,
    confidence,
    band: confidence === null ? null : bandOf(confidence),
    method,
    drivers: [
      ...cadenceDrivers(inputs, cadence, run.left, plan.cutWeek),
      ...drivers(inputs, plan, method === 'cadence' ? null : critical, histogram[H + 1]! / settings.trials),
    ],
    criticalPath: method === 'cadence' ? [] : (critical?.chain ?? []),
    criticalShare: method === 'cadence' ? 0 : (critical?.share ?? 0),
    trials: settings.trials,
    seed: settings.seed,
    inputs,
  };
}

/** The fewer of the team's peers, the more their on-time share leans on the organisation's: this many peers' worth. */
const PRIOR_PEERS = 4;

/** How the cadence model read a milestone's finish from its peers' slips (see cadenceFinish). */
interface CadenceFinish {
  how:
    | 'the ones that finished this late or later give the dates'
    | 'it is later than most of them were, so it is taken to be as late again, from today, as the late ones were'
    | 'the finishes already passed are taken as today';
  /** Days from the committed date to each finish read, lowest first. */
  offsets: number[];
  confidence: number;
}

/**
 * The cadence model's finish, as days from the committed date, and its confidence; null when the
 * throughput model forecasts instead (no cadence, a cadence by scope, no committed date, or fewer than
 * MIN_CADENCE_PEERS peers whose date was seen before they finished).
 *
 * The milestone is not finished yet, so a peer's finish is read as it can still happen: with at least
 * MIN_CADENCE_PEERS of the peers finishing no earlier, relative to their date, than today is to this
 * milestone's, the finishes are those peers' (the others left out); a milestone past its date and later
 * than nearly all of its peers were is taken to be as late again, from today, as the late ones were;
 * otherwise every peer's finish counts, those already passed taken as today. The confidence is the share
 * of the finishes on or before the date, drawn towards the organisation's share (read the same way) by
 * PRIOR_PEERS milestones' worth, so that the few peers of one team do not swing it alone.
 */
function cadenceFinish(inputs: ForecastInputs): CadenceFinish | null {
  const c = inputs.cadence;
  const committed = inputs.committed;
  if (c === undefined || c.style !== 'date' || committed === null) return null;
  const late = daysBetween(committed, inputs.today);
  const read = (slips: number[]): Omit<CadenceFinish, 'confidence'> | null => {
    const xs = slips.filter((d) => Number.isFinite(d)).sort((x, y) => x - y);
    if (xs.length < MIN_CADENCE_PEERS) return null;
    const after = xs.filter((d) => d >= late);
    if (after.length >= MIN_CADENCE_PEERS) return { how: 'the ones that finished this late or later give the dates', offsets: after };
    const lateOnes = xs.filter((d) => d > 0);
    if (late > 0 && lateOnes.length >= MIN_CADENCE_PEERS)
      return {
        how: 'it is later than most of them were, so it is taken to be as late again, from today, as the late ones were',
        offsets: lateOnes.map((d) => late + d),
      };
    return { how: 'the finishes already passed are taken as today', offsets: xs.map((d) => Math.max(d, late)) };
  };
  const share = (xs: number[]): number => xs.filter((d) => d <= 0).length / xs.length;
  const own = read(c.slipDays);
  if (own === null) return null;
  const org = read(c.orgSlipDays ?? []);
  const prior = org !== null && org.offsets.length >= MIN_CADENCE_PEERS ? share(org.offsets) : 0.5;
  const n = own.offsets.length;
  return { ...own, confidence: (n * share(own.offsets) + PRIOR_PEERS * prior) / (n + PRIOR_PEERS) };
}

/**
 * The completion week of every trial (settings.horizonWeeks + 1 for a trial that does not finish), the
 * same trials forecastMilestone summarises. A blocker's own milestone's trial weeks are that blocker's
 * BlockedItems.finishWeeks for a milestone waiting on it (Array.from them). The history rule is not
 * applied here: check historyShortfall (or the forecast's ok) first.
 */
export function trialWeeks(inputs: ForecastInputs, settings: ForecastSettings): Uint16Array {
  const where = whereOf(inputs);
  checkSettings(settings, where);
  return simulate(compile(inputs, settings), settings).weeks;
}

/**
 * Why the milestone has too little history for a number ("12 done items and 4 weeks of history; a
 * forecast needs 20 and 6"), or null when it has enough.
 */
export function historyShortfall(inputs: ForecastInputs, settings: ForecastSettings): string | null {
  const samples = Math.min(inputs.throughput.length, settings.windowWeeks);
  if (inputs.doneItems < settings.minDoneItems || inputs.historyWeeks < settings.minWeeks) {
    return (
      `${plural(inputs.doneItems, 'done item')} and ${plural(inputs.historyWeeks, 'week')} of history; ` +
      `a forecast needs ${settings.minDoneItems} and ${settings.minWeeks}`
    );
  }
  if (samples === 0) return `no weekly throughput samples in the last ${plural(settings.windowWeeks, 'week')}`;
  return null;
}

/**
 * The inputs as a what-if changes them:
 * - scopeChange: remaining items (rounded to whole items) and points times 1 + scopeChange;
 * - addThroughput: another team's weekly samples added to ours week by week, aligned on the most recent
 *   week; a week ours has and theirs does not gets their mean;
 * - throughputFactor: every sample (pooled ones included) times the factor;
 * - resolve: the blocker finishes on that day in every trial;
 * - commit: the new committed date.
 * Throws a RangeError naming the milestone and the what-if field when a value cannot be used.
 */
export function applyWhatIf(inputs: ForecastInputs, whatIf: WhatIf): ForecastInputs {
  const where = `what-if for ${whereOf(inputs)}`;
  const out: ForecastInputs = { ...inputs, throughput: [...inputs.throughput], blockers: inputs.blockers.map((b) => ({ ...b })) };
  if (whatIf.scopeChange !== undefined) {
    const s = whatIf.scopeChange;
    if (!Number.isFinite(s) || s < -1) throw new RangeError(`${where}: scopeChange ${s} is not a number of at least -1 (-0.2 is 20% less)`);
    out.remainingItems = Math.max(0, Math.round(inputs.remainingItems * (1 + s)));
    out.remainingPoints = inputs.remainingPoints === null ? null : Math.round(inputs.remainingPoints * (1 + s) * 100) / 100;
  }
  if (whatIf.addThroughput !== undefined) {
    const add = whatIf.addThroughput;
    add.forEach((v, i) => {
      if (!Number.isFinite(v) || v < 0) throw new RangeError(`${where}: addThroughput[${i}] is ${v}; a week's throughput is 0 or more`);
    });
    if (add.length > 0) {
      const mean = add.reduce((s, v) => s + v, 0) / add.length;
      const offset = add.length - out.throughput.length;
      out.throughput = out.throughput.map((v, i) => v + (i + offset >= 0 ? add[i + offset]! : mean));
    }
  }
  if (whatIf.throughputFactor !== undefined) {
    const f = whatIf.throughputFactor;
    if (!Number.isFinite(f) || f <= 0) throw new RangeError(`${where}: throughputFactor ${f} is not a number above 0`);
    out.throughput = out.throughput.map((v) => v * f);
  }
  for (const [i, r] of (whatIf.resolve ?? []).entries()) {
    checkDay(r.on, `${where}: resolve[${i}].on`);
    const matches = out.blockers.filter((b) => b.blocker === r.key);
    if (matches.length === 0) {
      const known = out.blockers.map((b) => b.blocker);
      throw new RangeError(
        `${where}: resolve[${i}]: ${r.key} is not a blocker of the milestone (its blockers: ${known.length > 0 ? known.join(', ') : 'none'})`,
      );
    }
    for (const b of matches) b.finishWeeks = [daysBetween(inputs.today, r.on) / 7];
  }
  if (whatIf.commit !== undefined) {
    checkDay(whatIf.commit, `${where}: commit`);
    out.committed = whatIf.commit;
  }
  return out;
}

/** The current forecast and the what-if's, on the same trials. */
export function forecastWhatIf(
  inputs: ForecastInputs,
  settings: ForecastSettings,
  whatIf: WhatIf,
): { current: Forecast; whatIf: Forecast } {
  return { current: forecastMilestone(inputs, settings), whatIf: forecastMilestone(applyWhatIf(inputs, whatIf), settings) };
}

// ---------------------------------------------------------------------------------------------------
// The compiled simulation: typed arrays only, built once per forecast.

interface Plan {
  horizon: number;
  seed: number;
  throughput: Float64Array;
  growth: Float64Array;
  /** Growth is added in weeks 1..growthWeeks only (its sample is drawn every week, so what-ifs stay on the same draws). */
  growthWeeks: number;
  /** Open items that wait on no blocker at week 0. */
  free: number;
  blockers: BlockedItems[];
  /** Per blocker, its finish weeks (see finishMode) and the blockers of this milestone above it. */
  finish: Float64Array[];
  /** 0: one value per trial; 1: one value for every trial; 2: drawn uniformly per trial. */
  finishMode: Uint8Array;
  upstream: Int32Array[];
  /** Blockers in an order where every blocker comes after those above it. */
  order: Int32Array;
  /** Groups of blocked items sharing the same blockers: their blockers and how many items. */
  groupBlockers: Int32Array[];
  groupCount: Float64Array;
  blockedTotal: number;
  /** Blocked items per blocker (distinct keys), for the drivers. */
  blockedPerBlocker: number[];
  /** The week the committed date falls in (its scope left is recorded), -1 without a date or past it. */
  cutWeek: number;
}

function compile(inputs: ForecastInputs, settings: ForecastSettings): Plan {
  const where = whereOf(inputs);
  const horizon = settings.horizonWeeks;
  const window = inputs.throughput.slice(Math.max(0, inputs.throughput.length - settings.windowWeeks));
  const offset = inputs.throughput.length - window.length;
  const throughput = Float64Array.from(window, (v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new RangeError(`${where}: throughput[${i + offset}] is ${String(v)}; a week's throughput is a number of items, 0 or more`);
    return v;
  });
  if (throughput.length === 0) throw new RangeError(`${where}: no weekly throughput samples to draw from`);
  const growth = Float64Array.from(inputs.growth, (v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new RangeError(`${where}: growth[${i}] is ${String(v)}; expected a number of items`);
    return v;
  });
  const remaining = inputs.remainingItems;
  if (!Number.isFinite(remaining) || remaining < 0)
    throw new RangeError(`${where}: remainingItems is ${remaining}; expected a number of items, 0 or more`);

  const blockers = inputs.blockers;
  const B = blockers.length;
  const index = new Map<string, number>();
  blockers.forEach((b, i) => {
    if (!index.has(b.blocker)) index.set(b.blocker, i);
  });
  const finish: Float64Array[] = [];
  const finishMode = new Uint8Array(B);
  blockers.forEach((b, i) => {
    const values = b.finishWeeks.length === 0 ? [0] : b.finishWeeks;
    finish.push(
      Float64Array.from(values, (v, k) => {
        if (typeof v !== 'number' || Number.isNaN(v))
          throw new RangeError(`${where}: blocker ${b.blocker}: finishWeeks[${k}] is ${String(v)}; expected a number of weeks`);
        return v;
      }),
    );
    finishMode[i] = values.length === settings.trials ? 0 : values.length === 1 ? 1 : 2;
  });
  // Blockers above a blocker: those whose blocked items include it.
  const ups: number[][] = blockers.map(() => []);
  blockers.forEach((b, i) => {
    for (const key of b.blocked) {
      const j = index.get(key);
      if (j !== undefined && j !== i && !ups[j]!.includes(i)) ups[j]!.push(i);
    }
  });
  const order = topoOrder(ups);
  // Each blocked item waits on all of its blockers; items with the same blockers form one group.
  const blockersOf = new Map<string, Set<number>>();
  blockers.forEach((b, i) => {
    for (const key of b.blocked) {
      let set = blockersOf.get(key);
      if (set === undefined) blockersOf.set(key, (set = new Set()));
      set.add(i);
    }
  });
  const groups = new Map<string, { blockers: number[]; count: number }>();
  for (const set of blockersOf.values()) {
    const members = [...set].sort((a, b) => a - b);
    const key = members.join(',');
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { blockers: members, count: 1 });
    else g.count++;
  }
  const groupList = [...groups.values()];
  // Blocked items are open items of the milestone; when the remaining scope is smaller (a scope cut), the
  // cut is taken from the blocked items too, last groups first.
  let excess = groupList.reduce((s, g) => s + g.count, 0) - remaining;
  for (let g = groupList.length - 1; g >= 0 && excess > 0; g--) {
    const cut = Math.min(excess, groupList[g]!.count);
    groupList[g]!.count -= cut;
    excess -= cut;
  }
  const blockedTotal = groupList.reduce((s, g) => s + g.count, 0);
  return {
    horizon,
    seed: labelSeed(settings.seed, `${inputs.source}\u0000${inputs.milestoneId}`),
    throughput,
    growth,
    growthWeeks: inputs.growthWeeks === undefined ? horizon : Math.max(0, Math.min(horizon, Math.floor(inputs.growthWeeks))),
    free: Math.max(0, remaining - blockedTotal),
    blockers,
    finish,
    finishMode,
    upstream: ups.map((u) => Int32Array.from(u)),
    order,
    groupBlockers: groupList.map((g) => Int32Array.from(g.blockers)),
    groupCount: Float64Array.from(groupList, (g) => g.count),
    blockedTotal,
    blockedPerBlocker: blockers.map((b) => new Set(b.blocked).size),
    cutWeek: (() => {
      if (inputs.committed === null) return -1;
      const days = daysBetween(inputs.today, inputs.committed);
      return days < 0 ? -1 : Math.min(horizon, Math.floor(days / 7));
    })(),
  };
}

/** Blockers ordered so each comes after the blockers above it; a cycle is broken where it closes. */
function topoOrder(ups: number[][]): Int32Array {
  const state = new Uint8Array(ups.length); // 0 new, 1 on the path, 2 placed
  const out: number[] = [];
  const visit = (i: number): void => {
    if (state[i] !== 0) return;
    state[i] = 1;
    for (const u of ups[i]!) visit(u);
    state[i] = 2;
    out.push(i);
  };
  for (let i = 0; i < ups.length; i++) visit(i);
  return Int32Array.from(out);
}

interface Critical {
  chain: string[];
  share: number;
}

interface Run {
  weeks: Uint16Array;
  critical: Critical | null;
  /** Per trial, the items still open at the end of the committed date's week (null without one). */
  left: Float64Array | null;
}

function simulate(plan: Plan, settings: ForecastSettings): Run {
  const T = settings.trials;
  const H = plan.horizon;
  const never = H + 1;
  const weeks = new Uint16Array(T);
  const tp = plan.throughput;
  const nT = tp.length;
  const gr = plan.growth;
  const nG = gr.length;
  const gW = plan.growthWeeks;
  const B = plan.blockers.length;
  const G = plan.groupCount.length;
  const ownRelease = new Int32Array(B);
  const release = new Int32Array(B);
  const groupRelease = new Int32Array(G);
  const releaseAt = new Float64Array(H + 2);
  const credit = new Float64Array(B);
  const chainCredit = new Map<string, number>();
  const hasChains = plan.upstream.some((u) => u.length > 0);
  const weekly = new Mulberry32(0);
  const draws = new Mulberry32(0);
  const cut = plan.cutWeek;
  const left = cut >= 0 ? new Float64Array(T) : null;

  for (let t = 0; t < T; t++) {
    weekly.reseed(streamSeed(plan.seed, 2 * t));
    if (G > 0) {
      draws.reseed(streamSeed(plan.seed, 2 * t + 1));
      for (let k = 0; k < B; k++) {
        const b = plan.order[k]!;
        const f = plan.finish[b]!;
        const mode = plan.finishMode[b]!;
        const fw = mode === 0 ? f[t]! : mode === 1 ? f[0]! : f[draws.below(f.length)]!;
        // A blocker finishing within week w (at or before its end) releases its items for week w.
        let r = fw <= 1 ? 1 : fw > H ? never : Math.ceil(fw);
        ownRelease[b] = r;
        const up = plan.upstream[b]!;
        for (let u = 0; u < up.length; u++) if (release[up[u]!]! > r) r = release[up[u]!]!;
        release[b] = r;
      }
      for (let g = 0; g < G; g++) {
        const members = plan.groupBlockers[g]!;
        let r = 1;
        for (let m = 0; m < members.length; m++) if (release[members[m]!]! > r) r = release[members[m]!]!;
        groupRelease[g] = r;
        releaseAt[r] = releaseAt[r]! + plan.groupCount[g]!;
      }
    }
    let workable = plan.free;
    let pending = plan.blockedTotal;
    let lastIdle = 0;
    let week = never;
    let leftAtCut = workable + pending;
    if (workable <= EPS && pending <= EPS) week = 0;
    else {
      for (let w = 1; w <= H; w++) {
        if (pending > EPS) {
          const r = releaseAt[w]!;
          if (r !== 0) {
            pending -= r;
            workable += r;
          }
        }
        const c = tp[Math.floor(weekly.next() * nT)]!;
        if (nG > 0) {
          const g = gr[Math.floor(weekly.next() * nG)]!;
          if (w <= gW) {
            workable += g;
            if (workable < 0) workable = 0;
          }
        }
        if (c >= workable - EPS) {
          if (pending > EPS) {
            if (c > workable + EPS) lastIdle = w;
          } else {
            week = w;
            break;
          }
          workable = 0;
        } else workable -= c;
        if (w === cut) leftAtCut = workable + pending;
      }
    }
    weeks[t] = week;
    if (left !== null) left[t] = week <= cut ? 0 : leftAtCut;
    if (G > 0) {
      if (lastIdle > 0) creditTrial(plan, lastIdle, groupRelease, ownRelease, release, credit, hasChains ? chainCredit : null);
      for (let g = 0; g < G; g++) releaseAt[groupRelease[g]!] = 0;
    }
  }
  return { weeks, critical: criticalOf(plan, T, credit, chainCredit), left };
}

/**
 * Credits the blocker that set a trial's date: among the groups still waiting after the last week the team
 * had capacity to spare, the one released last (more items first on a tie), and in it the blocker whose
 * finish released it.
 */
function creditTrial(
  plan: Plan,
  lastIdle: number,
  groupRelease: Int32Array,
  ownRelease: Int32Array,
  release: Int32Array,
  credit: Float64Array,
  chainCredit: Map<string, number> | null,
): void {
  let best = -1;
  for (let g = 0; g < groupRelease.length; g++) {
    const r = groupRelease[g]!;
    if (r <= lastIdle || plan.groupCount[g]! <= 0) continue;
    if (best < 0 || r > groupRelease[best]! || (r === groupRelease[best]! && plan.groupCount[g]! > plan.groupCount[best]!)) best = g;
  }
  if (best < 0) return;
  const members = plan.groupBlockers[best]!;
  let b = members[0]!;
  for (let m = 0; m < members.length; m++) {
    if (release[members[m]!]! === groupRelease[best]!) {
      b = members[m]!;
      break;
    }
  }
  if (chainCredit === null) {
    credit[b]!++;
    return;
  }
  // Walk up while a blocker above holds this one back (its own finish is earlier than its release).
  const chain = [b];
  let at = b;
  while (ownRelease[at]! < release[at]! && chain.length <= plan.blockers.length) {
    const up = plan.upstream[at]!;
    let next = -1;
    for (let u = 0; u < up.length; u++) {
      if (release[up[u]!]! === release[at]!) {
        next = up[u]!;
        break;
      }
    }
    if (next < 0 || chain.includes(next)) break;
    chain.push(next);
    at = next;
  }
  const key = chain.reverse().join(',');
  chainCredit.set(key, (chainCredit.get(key) ?? 0) + 1);
}

function criticalOf(plan: Plan, trials: number, credit: Float64Array, chainCredit: Map<string, number>): Critical | null {
  let bestKey: number[] | null = null;
  let bestCount = 0;
  for (let b = 0; b < credit.length; b++) {
    if (credit[b]! > bestCount) {
      bestCount = credit[b]!;
      bestKey = [b];
    }
  }
  for (const [key, count] of chainCredit) {
    if (count > bestCount) {
      bestCount = count;
      bestKey = key.split(',').map(Number);
    }
  }
  if (bestKey === null) return null;
  return { chain: bestKey.map((b) => plan.blockers[b]!.blocker), share: bestCount / trials };
}

/** The nearest-rank percentile: the smallest week by which at least ceil(q * trials) trials finish. */
function nearestRankWeek(histogram: Uint32Array, trials: number, q: number): number {
  const rank = Math.max(1, Math.ceil(q * trials - 1e-9));
  let seen = 0;
  for (let w = 0; w < histogram.length; w++) {
    seen += histogram[w]!;
    if (seen >= rank) return w;
  }
  return histogram.length - 1;
}

// ---------------------------------------------------------------------------------------------------
// Drivers: one-line sentences a person reads.

function drivers(inputs: ForecastInputs, plan: Plan, critical: Critical | null, beyond: number): string[] {
  const out: string[] = [];
  const points = inputs.remainingPoints === null ? '' : ` (${num(inputs.remainingPoints)} points)`;
  out.push(
    `${plural(inputs.remainingItems, 'item')}${points} left at a median ${num(median(plan.throughput))} per week ` +
      `over the last ${plural(plan.throughput.length, 'week')}`,
  );
  if (plan.growth.length > 0) {
    const mean = plan.growth.reduce((s, v) => s + v, 0) / plan.growth.length;
    if (Math.abs(mean) >= 0.05)
      out.push(
        `scope ${mean > 0 ? 'grows' : 'shrinks'} by ${num(Math.abs(mean))} item${num(Math.abs(mean)) === '1' ? '' : 's'} per week on average over ${plural(plan.growth.length, 'week')}` +
          (plan.growthWeeks < plan.horizon ? `, taken to go on for ${plural(plan.growthWeeks, 'more week')}` : ''),
      );
  }
  const split = inputs.splitItems ?? 0;
  if (split > 0)
    out.push(
      `${plural(split, 'item')} added since the commit point ${split === 1 ? 'was' : 'were'} split from others: the same work cut finer`,
    );
  inputs.blockers.forEach((b, i) => {
    const n = plan.blockedPerBlocker[i]!;
    const idle = b.idleBusinessDays > 0 ? `unchanged for ${plural(b.idleBusinessDays, 'business day')}` : 'in progress';
    out.push(`${n} wait${n === 1 ? 's' : ''} on ${b.blocker} (${b.blockerTeam}), ${idle}`);
  });
  if (critical !== null) out.push(`${critical.chain.join(' -> ')} sets the date in ${Math.round(critical.share * 100)}% of trials`);
  const teams = inputs.teams.length > 0 ? ` (${inputs.teams.join(', ')})` : '';
  out.push(
    inputs.throughputBasis === 'milestone'
      ? `throughput basis: the milestone's own throughput`
      : `throughput basis: the ${inputs.teams.length > 1 ? "teams'" : "team's"} throughput times the milestone's share${teams}`,
  );
  if (beyond > 0) out.push(`${Math.round(beyond * 100)}% of trials do not finish within ${plural(plan.horizon, 'week')}`);
  return out;
}

/**
 * The cadence's sentences: where the dates come from (the peers, how they finished, how late), or why a
 * cadence by date could not give them; then, with a committed date ahead, what is still open at it.
 */
function cadenceDrivers(inputs: ForecastInputs, read: CadenceFinish | null, left: Float64Array | null, cutWeek: number): string[] {
  const out: string[] = [];
  const c = inputs.cadence;
  if (c !== undefined && c.style === 'date' && inputs.committed !== null) {
    const kind = inputs.milestoneId.startsWith('version/') ? 'version' : inputs.milestoneId.startsWith('epic/') ? 'epic' : 'milestone';
    const whose = c.from === 'team' ? "the team's" : "the organisation's";
    const peers = `${whose} last ${plural(c.peers, kind)}`;
    const carried = `${c.withOpenItems} of them with open items carried over (a median ${num(c.medianOpenItems)})`;
    if (read !== null) {
      const lead = c.leadDays >= 0 ? `${plural(c.leadDays, 'day')} before` : 'when they finished';
      const xs = c.slipDays.filter((d) => Number.isFinite(d)).sort((x, y) => x - y);
      const med = xs[Math.ceil(xs.length / 2) - 1]!;
      out.push(
        `ships by its date, as ${peers} did, ${carried}: they finished a median ${signed(med)} days from the date they had ${lead} ` +
          `(${signed(xs[0]!)} to ${signed(xs[xs.length - 1]!)}); ${read.how}`,
      );
    } else {
      out.push(
        `ships by its date, as ${peers} did, ${carried}; but the dates of only ${c.slipDays.length} of them were seen before ` +
          `they finished, too few to read how late they finish: the dates come from the remaining work`,
      );
    }
  }
  if (c?.style === 'date' && left !== null && cutWeek >= 0 && inputs.committed !== null) {
    const sorted = Float64Array.from(left).sort();
    const med = sorted[Math.ceil(sorted.length / 2) - 1]!;
    const allDone = left.filter((v) => v <= EPS).length / left.length;
    out.push(
      `at ${inputs.committed} a median ${plural(Math.round(med), 'item')} of its work will still be open ` +
        `(all of it done in ${Math.round(allDone * 100)}% of trials)`,
    );
  }
  return out;
}

/** Days with their sign: '+3', '-2', '0'. */
function signed(days: number): string {
  return days > 0 ? `+${num(days)}` : num(days);
}

function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const num = (n: number): string => (Number.isInteger(n) ? String(n) : String(Math.round(n * 10) / 10));
const plural = (n: number, word: string): string => `${num(n)} ${word}${n === 1 ? '' : 's'}`;

// ---------------------------------------------------------------------------------------------------
// Checks and days

function whereOf(inputs: ForecastInputs): string {
  return `forecast of ${inputs.source} milestone ${inputs.milestoneId}`;
}

function checkSettings(s: ForecastSettings, where: string): void {
  const whole = (v: number, name: string, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    if (!Number.isInteger(v) || v < min || v > max)
      throw new RangeError(`${where}: settings.${name} is ${v}; expected a whole number from ${min} to ${max}`);
  };
  whole(s.trials, 'trials', 1, 10_000_000);
  whole(s.horizonWeeks, 'horizonWeeks', 1, MAX_HORIZON);
  whole(s.windowWeeks, 'windowWeeks', 1);
  whole(s.seed, 'seed', 0, 4_294_967_295);
  const { onTrack, atRisk } = s.bands;
  if (!(atRisk >= 0 && atRisk <= onTrack && onTrack <= 1))
    throw new RangeError(`${where}: settings.bands on track ${onTrack} and at risk ${atRisk}; expected 0 <= atRisk <= onTrack <= 1`);
}

function dayMs(day: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (m === null) return NaN;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return new Date(ms).toISOString().slice(0, 10) === day ? ms : NaN;
}

function checkDay(day: string, what: string): void {
  if (Number.isNaN(dayMs(day))) throw new RangeError(`${what} is '${day}'; expected a calendar day YYYY-MM-DD`);
}

function isoInstant(at: Date, where: string): string {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw new RangeError(`${where}: asOf is not a valid instant`);
  return at.toISOString();
}

function daysBetween(from: Day, to: Day): number {
  return Math.round((dayMs(to) - dayMs(from)) / DAY_MS);
}

function addDays(day: Day, days: number): Day {
  return new Date(dayMs(day) + days * DAY_MS).toISOString().slice(0, 10);
}
