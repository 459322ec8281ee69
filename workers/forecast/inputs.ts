import type { Store } from '../../infra/store/client.js';
import { instantParam, today } from '../metrics/engine.js';
import { MILESTONE_OWNERS, MOVES, PLAN_HISTORY, PLANNED_KINDS, PLANS } from '../metrics/definitions/program-plan.js';
import { categoryAt, doneAtBefore, ITEMS, openBlockingLinks } from '../metrics/definitions/work-items.js';
import type { MetricParams } from '../metrics/types.js';
import type { BlockedItems, Cadence, Day, ForecastInputs } from './types.js';

/**
 * The forecast's inputs read from the store as they stood at an instant (docs/metrics.md items 21-23).
 *
 * The open milestones are those the milestone register lists as open: Jira versions and epics (not
 * archived; an epic that existed then) not completed by the instant, with the last committed date seen
 * by then, or with none ever seen (a milestone whose first date was seen later was not committed yet).
 * Their team and program: the milestone's own, else (a version) the team with most of its items. Weeks end at
 * the instant: week k covers [asOf - 7(k+1) days, asOf - 7k days), and samples are listed oldest first.
 *
 * - throughput: the milestone's own items done per week over the trailing window (at most as many weeks
 *   as the milestone has history) when it has minDoneItems done items over minWeeks weeks; else its
 *   team's items done per week over the window times the milestone's share of the team's done items in
 *   the window ('team share'). A milestone none of whose items were done in the window takes its share
 *   of the team's open items instead, so new work still gets a pace.
 * - growth: net items added per whole week since the commit point (the start date, else the first
 *   committed date seen), from the changelog's fix version and parent changes; an item created into the
 *   milestone after the commit point is an add at its creation.
 * - blockers: the open blocking links into its open items, grouped by blocker. A blocker's finish is the
 *   weeks until its due date when it has one, else 0 (being worked on); the forecast run replaces it with
 *   the blocker's own milestone's trials when that milestone is forecast first (see job.ts).
 */

const WEEK_MS = 7 * 86_400_000;

/** The instant the inputs are read at, and its calendar day in the metrics' time zone. */
const T = '{as_of:DateTime64(3)}';
const TODAY = `toDate(toTimeZone(${T}, {tz:String}))`;

export interface ForecastInputOptions {
  params: MetricParams;
  asOf: Date;
  /** Trailing weeks of throughput. */
  windowWeeks: number;
  /** The history a milestone needs for its own throughput (defaults as metrics.forecast: 20 items, 6 weeks). */
  minDoneItems?: number;
  minWeeks?: number;
  /** Also list the items behind each input (OpenMilestone.evidence), for explaining a forecast. */
  evidence?: boolean;
  /** How cadences are read (metrics.forecast: method, cadencePeers, minCadencePeers, carryOverShare); default as there. */
  cadence?: CadenceOptions;
}

export interface CadenceOptions {
  method: 'auto' | 'cadence' | 'throughput';
  peers: number;
  minPeers: number;
  carryOverShare: number;
}

const CADENCE_DEFAULTS: CadenceOptions = { method: 'auto', peers: 12, minPeers: 4, carryOverShare: 0.5 };

/** The items behind a milestone's inputs. */
export interface ForecastEvidence {
  /** The open items counted as remaining scope. */
  remaining: Array<{ key: string; points: number | null }>;
  /**
   * The done items behind the throughput samples (the milestone's own, or its team's when the basis is
   * team share), with the sample they fall in: 0 is the oldest of inputs.throughput.
   */
  done: Array<{ key: string; doneAt: string; sample: number }>;
  /** The items added to (+1) or removed from (-1) the milestone behind inputs.growth, with the sample they fall in. */
  growth: Array<{ key: string; at: string; change: number; sample: number }>;
  /** On a team-share basis, the milestone's share of its team's done items that scales the team's weekly counts. */
  share: number | null;
  /** The finished milestones behind inputs.cadence.slipDays, in its order, with the date each had at the lead and how it finished. */
  peers: CadencePeer[];
  /** The items behind inputs.splitItems: each piece and the item it was split from. */
  split: Array<{ key: string; from: string }>;
}

/** A finished milestone behind a cadence. */
export interface CadencePeer {
  key: string;
  name: string;
  /** The day it finished, and the committed date it had leadDays before. */
  doneDay: Day;
  dateThen: Day;
  slipDays: number;
  /** Its items open when it finished (carried over or left). */
  openItems: number;
}

/** An open milestone's inputs, with who owns it and which milestones its blockers belong to. */
export interface OpenMilestone {
  /** `source:milestone_id`, the register's key. */
  key: string;
  program: string;
  team: string;
  inputs: ForecastInputs;
  /** For each blocker key of `inputs.blockers`, the key of the open milestone it belongs to (when another one). */
  blockerMilestones: Record<string, string>;
  /** For each blocker key, the weeks until its due date (its finish when its milestone has no trials). */
  blockerDueWeeks: Record<string, number>;
  /** The items behind the inputs, when asked for. */
  evidence?: ForecastEvidence;
}

type Num = number | string;

interface ItemRow {
  source: string;
  item_id: string;
  key: string;
  team: string;
  milestones: string[];
  category: string;
  points: number | null;
  done_ms: Num | null;
  created_ms: Num;
}

interface MoveRow {
  source: string;
  item_id: string;
  milestone_id: string;
  evs: Array<[Num, Num]>;
}

interface SplitRow {
  source: string;
  from_key: string;
  to_key: string;
}

interface LinkRow {
  source: string;
  blocker_key: string;
  blocker_id: string;
  blocker_team: string;
  blocker_title: string;
  blocked_key: string;
  blocked_id: string;
  blocker_due: string | null;
  idle_days: Num;
}

interface FinishedRow {
  key: string;
  name: string;
  kind: string;
  team: string;
  done_day: string;
  done_ms: Num;
  seen: Array<[Num, string]>;
}

interface MilestoneRow {
  key: string;
  title: string;
  team: string;
  program: string;
  start_date: string | null;
  committed: string;
  first_seen_ms: Num | null;
}

/** Work items with their milestones, their status category and done time at the instant. */
const ITEMS_AT = `
SELECT i.source AS source, i.item_id AS item_id, i.key AS key, i.team AS team,
       arrayConcat(i.fix_versions, if(i.parent_id != '', [concat('epic/', i.parent_id)], [])) AS milestones,
       ${categoryAt('i', T)} AS category, i.story_points AS points,
       toUnixTimestamp64Milli(${doneAtBefore('i', T)}) AS done_ms, toUnixTimestamp64Milli(i.created_at) AS created_ms
FROM ${ITEMS} AS i
WHERE i.created_at < ${T} AND i.kind NOT IN ('epic', 'risk', 'decision', 'action')`;

/** Every membership change of an item in a version or epic, oldest first (the changelog's, at any time). */
const MEMBERSHIP = `
SELECT source, item_id, milestone_id, arraySort(x -> x.1, groupArray((toUnixTimestamp64Milli(t), delta))) AS evs
FROM (${MOVES})
WHERE delta != 0 AND (startsWith(milestone_id, 'version/') OR startsWith(milestone_id, 'epic/') OR startsWith(milestone_id, 'milestone/'))
GROUP BY source, item_id, milestone_id`;

/**
 * The milestones open at the instant, soonest committed date first (none last): committed, the last
 * committed date seen by then; first_seen_ms, when the first one was seen; the start date.
 */
const OPEN_MILESTONES = `
SELECT * FROM
(
    SELECT concat(m.source, ':', m.milestone_id) AS key, m.name AS title,
           if(m.team != '', toString(m.team), o.team) AS team, if(m.team != '', toString(m.program), o.program) AS program,
           toString(m.start_date) AS start_date,
           arrayFilter(x -> x.1 <= ${T}, p.seen_all) AS seen_t,
           if(notEmpty(seen_t), toString(seen_t[-1].2), '') AS committed,
           if(notEmpty(seen_t), toNullable(toUnixTimestamp64Milli(seen_t[1].1)), NULL) AS first_seen_ms
    FROM (SELECT * FROM milestones FINAL WHERE kind IN ${PLANNED_KINDS} AND state != 'archived') AS m
    LEFT JOIN ${PLAN_HISTORY} AS p ON p.source = m.source AND p.milestone_id = m.milestone_id
    LEFT JOIN ${MILESTONE_OWNERS} AS o ON o.source = m.source AND o.milestone_id = m.milestone_id
    LEFT JOIN
    (
        SELECT i.source AS source, concat('epic/', i.item_id) AS milestone_id, i.created_at AS created_at
        FROM ${ITEMS} AS i WHERE i.kind = 'epic'
    ) AS e ON e.source = m.source AND e.milestone_id = m.milestone_id
    WHERE (m.kind != 'epic' OR e.created_at < ${T}) AND (notEmpty(seen_t) OR empty(p.seen_all))
      AND NOT (m.completed_at IS NOT NULL AND assumeNotNull(m.completed_at) <= ${T})
)
ORDER BY committed = '', committed, title, key
SETTINGS join_use_nulls = 0`;

/**
 * The versions and epics finished by the instant, oldest first, with the committed dates seen up to
 * their finish (observed_at in ms, date; none when every date was seen after it: a version pulled for
 * the first time after its release has no plan on record) and their finish day (docs/metrics.md item 10's).
 */
const FINISHED = `
SELECT concat(source, ':', milestone_id) AS key, name, kind, team, toString(assumeNotNull(done_day)) AS done_day,
       toUnixTimestamp64Milli(assumeNotNull(completed_at)) AS done_ms,
       arrayMap(x -> (toUnixTimestamp64Milli(x.1), toString(x.2)), seen_raw) AS seen
FROM (${PLANS})
WHERE completed_at IS NOT NULL AND assumeNotNull(completed_at) <= ${T}
ORDER BY done_ms, key`;

/** The split links known by the instant: a piece (to) split from an original (from). */
const SPLITS = `
SELECT source, from_key, to_key FROM work_item_links FINAL
WHERE link_type = 'splits' AND (created_at IS NULL OR assumeNotNull(created_at) < ${T})`;

const BLOCKERS = `
SELECT source, blocker_key, blocker_id, blocker_team, blocker_title, blocked_key, blocked_id, toString(blocker_due) AS blocker_due, idle_days
FROM (${openBlockingLinks(T, TODAY, false)})`;

async function rows<R>(store: Store, query: string, params: Record<string, unknown>): Promise<R[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<R>();
}

const num = (v: Num | null | undefined): number | null => (v === null || v === undefined ? null : Number(v));

/** The week (0 = the last whole week before asOf) an instant falls in, or undefined outside [asOf - 7n days, asOf). */
function weekOf(at: number, asOf: number, weeks: number): number | undefined {
  if (at >= asOf) return undefined;
  const k = Math.floor((asOf - at) / WEEK_MS);
  return k < weeks ? k : undefined;
}

/** The sample (0 = the oldest of `weeks`) an instant falls in, or undefined outside them. */
function sampleOf(at: number, asOf: number, weeks: number): number | undefined {
  const k = weekOf(at, asOf, weeks);
  return k === undefined ? undefined : weeks - 1 - k;
}

/** Counts per week over the last `weeks` whole weeks, oldest first. */
function weekly(events: Array<{ at: number; n: number }>, asOf: number, weeks: number): number[] {
  const out = new Array<number>(weeks).fill(0);
  for (const e of events) {
    const k = sampleOf(e.at, asOf, weeks);
    if (k !== undefined) out[k]! += e.n;
  }
  return out;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/** Whole days from one calendar day to another. */
const daysBetween = (from: Day, to: Day): number =>
  Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);

/** A team's items done per whole week over the trailing `windowWeeks` weeks before `asOf`, oldest first. */
export async function readTeamThroughput(
  store: Store,
  options: { params: MetricParams; asOf: Date; windowWeeks: number; team: string },
): Promise<number[]> {
  const items = await rows<ItemRow>(store, `SELECT * FROM (${ITEMS_AT}) WHERE team = {team:String} AND done_ms IS NOT NULL`, {
    ...options.params,
    as_of: instantParam(options.asOf),
    team: options.team,
  });
  return weekly(
    items.map((i) => ({ at: Number(i.done_ms), n: 1 })),
    options.asOf.getTime(),
    options.windowWeeks,
  );
}

/** The inputs of every milestone open at `options.asOf`, soonest committed date first (none last). */
export async function readForecastInputs(store: Store, options: ForecastInputOptions): Promise<OpenMilestone[]> {
  const { params, asOf, windowWeeks } = options;
  if (!Number.isFinite(asOf.getTime())) throw new RangeError('forecast inputs: as of is not an instant');
  if (!Number.isInteger(windowWeeks) || windowWeeks < 1)
    throw new RangeError(`forecast inputs: window of ${windowWeeks} weeks; expected 1 or more`);
  const minDoneItems = options.minDoneItems ?? 20;
  const minWeeks = options.minWeeks ?? 6;
  const at = asOf.getTime();
  const day = today(params.tz, asOf);
  const query = { ...params, as_of: instantParam(asOf) };

  const open = await rows<MilestoneRow>(store, OPEN_MILESTONES, query);
  if (open.length === 0) return [];

  const cadenceOptions = options.cadence ?? CADENCE_DEFAULTS;
  const [items, moves, links, finished, splits] = await Promise.all([
    rows<ItemRow>(store, ITEMS_AT, query),
    rows<MoveRow>(store, MEMBERSHIP, query),
    rows<LinkRow>(store, BLOCKERS, query),
    cadenceOptions.method === 'throughput' ? Promise.resolve([]) : rows<FinishedRow>(store, FINISHED, query),
    rows<SplitRow>(store, SPLITS, query),
  ]);
  const splitFrom = new Map(splits.map((l) => [`${l.source}:${l.to_key}`, l.from_key]));

  const itemById = new Map(items.map((i) => [`${i.source}:${i.item_id}`, i]));
  const push = <V>(map: Map<string, V[]>, k: string, v: V): void => {
    const list = map.get(k);
    if (list === undefined) map.set(k, [v]);
    else list.push(v);
  };
  const movesOf = new Map<string, MoveRow[]>();
  for (const m of moves) push(movesOf, `${m.source}:${m.milestone_id}`, m);
  const itemsOf = membersAt(items, moves, itemById, at);
  const openKeys = new Set(open.map((r) => r.key));
  const peersOf = finishedPeers(finished, itemsOf, movesOf, itemById);

  // Team throughput and open items, for milestones that fall back on their team's pace.
  const windowStart = at - windowWeeks * WEEK_MS;
  const teamDone = new Map<string, ItemRow[]>();
  const teamOpen = new Map<string, number>();
  const teamFirst = new Map<string, number>();
  for (const i of items) {
    if (i.team === '') continue;
    teamFirst.set(i.team, Math.min(teamFirst.get(i.team) ?? Infinity, Number(i.created_ms)));
    const done = num(i.done_ms);
    if (done === null) teamOpen.set(i.team, (teamOpen.get(i.team) ?? 0) + 1);
    else if (done >= windowStart) push(teamDone, i.team, i);
  }

  const out: OpenMilestone[] = [];
  for (const r of open) {
    const key = r.key;
    const cut = key.indexOf(':');
    const source = key.slice(0, cut);
    const milestoneId = key.slice(cut + 1);
    const { team, program } = r;
    const committed = r.committed === '' ? null : r.committed;
    const mine = itemsOf.get(key) ?? [];
    const openItems = mine.filter((i) => num(i.done_ms) === null);
    const doneTimes = mine.map((i) => num(i.done_ms)).filter((d): d is number => d !== null);
    const pointed = mine.filter((i) => i.points !== null);
    const remainingPoints = pointed.length === 0 ? null : round3(openItems.reduce((s, i) => s + (i.points ?? 0), 0));

    // The commit point, and the milestone's history: from its start date, else its commit point, else its first item.
    const startMs = r.start_date !== null && r.start_date !== '' ? Date.parse(`${r.start_date}T00:00:00Z`) : undefined;
    const commitMs = startMs ?? num(r.first_seen_ms) ?? undefined;
    const firstItem = mine.length > 0 ? Math.min(...mine.map((i) => Number(i.created_ms))) : undefined;
    const since = commitMs ?? firstItem;
    const historyWeeks = since === undefined || since >= at ? 0 : Math.floor((at - since) / WEEK_MS);

    let throughput: number[];
    let basis: ForecastInputs['throughputBasis'];
    let coveredWeeks: number;
    // The done items behind the throughput samples: the milestone's own, or its team's in the window.
    let behind: ItemRow[];
    let share: number | null = null;
    if (doneTimes.length >= minDoneItems && historyWeeks >= minWeeks) {
      basis = 'milestone';
      coveredWeeks = Math.min(windowWeeks, historyWeeks);
      behind = mine.filter((i) => num(i.done_ms) !== null);
      throughput = weekly(
        doneTimes.map((d) => ({ at: d, n: 1 })),
        at,
        coveredWeeks,
      );
    } else {
      basis = 'team share';
      // The team's history stands behind the samples: the weeks since its first item, up to the window.
      const teamSince = teamFirst.get(team);
      coveredWeeks = teamSince === undefined || teamSince >= at ? 0 : Math.min(windowWeeks, Math.floor((at - teamSince) / WEEK_MS));
      behind = teamDone.get(team) ?? [];
      // The share over the weeks the milestone has been worked on within the window: a milestone begun
      // four weeks ago takes its share of those four weeks, not of the whole window.
      const from = since === undefined ? windowStart : Math.max(windowStart, since);
      const doneHere = doneTimes.filter((d) => d >= from && d < at).length;
      const teamTotal = behind.filter((i) => Number(i.done_ms) >= from && Number(i.done_ms) < at).length;
      const scale =
        doneHere > 0 && teamTotal > 0
          ? doneHere / teamTotal
          : (teamOpen.get(team) ?? 0) > 0
            ? openItems.filter((i) => i.team === team).length / teamOpen.get(team)!
            : 0;
      share = scale;
      throughput = weekly(
        behind.map((i) => ({ at: Number(i.done_ms), n: scale })),
        at,
        windowWeeks,
      ).map(round3);
    }
    const historyDone = basis === 'milestone' ? doneTimes.length : behind.length;

    // Growth: net adds per whole week since the commit point.
    const growthWeeks = commitMs === undefined || commitMs >= at ? 0 : Math.floor((at - commitMs) / WEEK_MS);
    const changes: Array<{ at: number; n: number; key: string }> = [];
    if (commitMs !== undefined) {
      const byItem = new Map((movesOf.get(key) ?? []).map((m) => [m.item_id, m.evs.map(([t, d]) => ({ t: Number(t), d: Number(d) }))]));
      const members = new Set(mine.map((i) => i.item_id));
      for (const id of new Set([...byItem.keys(), ...members])) {
        const item = itemById.get(`${source}:${id}`);
        if (item === undefined) continue; // created after the instant
        const evs = byItem.get(id) ?? [];
        const initially = evs.length > 0 ? evs[0]!.d === -1 : members.has(id);
        const created = Number(item.created_ms);
        if (created > commitMs && initially) changes.push({ at: created, n: 1, key: item.key });
        for (const e of evs) if (e.t > commitMs && e.t < at) changes.push({ at: e.t, n: e.d, key: item.key });
      }
    }
    const growth = weekly(changes, at, growthWeeks);
    // The items added since the commit point that are pieces split from another item.
    const split =
      commitMs === undefined
        ? []
        : mine
            .filter((i) => Number(i.created_ms) > commitMs && splitFrom.has(`${source}:${i.key}`))
            .map((i) => ({ key: i.key, from: splitFrom.get(`${source}:${i.key}`)! }))
            .sort((x, y) => x.key.localeCompare(y.key));

    // Blockers of its open items, grouped by blocker.
    const openIds = new Set(openItems.map((i) => i.item_id));
    const grouped = new Map<string, { link: LinkRow; blocked: Set<string> }>();
    for (const l of links) {
      if (l.source !== source || !openIds.has(l.blocked_id)) continue;
      const g = grouped.get(l.blocker_key) ?? { link: l, blocked: new Set<string>() };
      g.blocked.add(l.blocked_key);
      grouped.set(l.blocker_key, g);
    }
    const blockers: BlockedItems[] = [];
    const blockerMilestones: Record<string, string> = {};
    const blockerDueWeeks: Record<string, number> = {};
    for (const [blocker, g] of grouped) {
      const due = g.link.blocker_due !== null && g.link.blocker_due !== '' ? g.link.blocker_due : null;
      const dueWeeks = due === null ? 0 : round3(Math.max(0, daysBetween(day, due)) / 7);
      blockerDueWeeks[blocker] = dueWeeks;
      const own = itemById.get(`${source}:${g.link.blocker_id}`)?.milestones.map((m) => `${source}:${m}`) ?? [];
      const other = own.find((m) => m !== key && openKeys.has(m));
      if (other !== undefined) blockerMilestones[blocker] = other;
      blockers.push({
        blocker,
        blockerTeam: g.link.blocker_team,
        blockerTitle: g.link.blocker_title,
        blocked: [...g.blocked].sort(),
        finishWeeks: [dueWeeks],
        idleBusinessDays: Number(g.link.idle_days),
      });
    }
    blockers.sort((a, b) => a.blocker.localeCompare(b.blocker));

    const evidenceOf = (): ForecastEvidence => {
      const iso = (ms: number): string => new Date(ms).toISOString();
      const done = behind
        .map((i) => ({ key: i.key, at: Number(i.done_ms), sample: sampleOf(Number(i.done_ms), at, throughput.length) }))
        .filter((d): d is { key: string; at: number; sample: number } => d.sample !== undefined)
        .sort((x, y) => x.at - y.at || x.key.localeCompare(y.key))
        .map((d) => ({ key: d.key, doneAt: iso(d.at), sample: d.sample }));
      const added = changes
        .map((c) => ({ ...c, sample: sampleOf(c.at, at, growthWeeks) }))
        .filter((c): c is typeof c & { sample: number } => c.sample !== undefined)
        .sort((x, y) => x.at - y.at || x.key.localeCompare(y.key))
        .map((c) => ({ key: c.key, at: iso(c.at), change: c.n, sample: c.sample }));
      const remaining = openItems.map((i) => ({ key: i.key, points: num(i.points) })).sort((x, y) => x.key.localeCompare(y.key));
      return { remaining, done, growth: added, share: share === null ? null : round3(share), peers: cadencePeers, split };
    };
    const cadencePeers: CadencePeer[] = [];
    const cadence =
      committed === null ? undefined : cadenceOf(peersOf, milestoneId, team, daysBetween(day, committed), cadenceOptions, cadencePeers);
    out.push({
      key,
      program,
      team,
      blockerMilestones,
      blockerDueWeeks,
      ...(options.evidence === true ? { evidence: evidenceOf() } : {}),
      inputs: {
        source,
        milestoneId,
        name: r.title,
        asOf,
        today: day,
        committed,
        remainingItems: openItems.length,
        remainingPoints,
        doneItems: historyDone,
        milestoneDoneItems: doneTimes.length,
        throughput,
        throughputBasis: basis,
        teams: team === '' ? [] : [team],
        growth,
        // Growth goes on until the committed date; without one, or past it, for as long as it has been seen.
        growthWeeks:
          committed !== null && Date.parse(`${committed}T00:00:00Z`) > at
            ? Math.ceil((Date.parse(`${committed}T00:00:00Z`) - at) / WEEK_MS)
            : growthWeeks,
        historyWeeks: coveredWeeks,
        splitItems: split.length,
        blockers,
        ...(cadence === undefined ? {} : { cadence }),
      },
    });
  }
  return out;
}

/**
 * The items in each milestone at instant `at` (ms), by `source:milestone_id`: an item's milestones now
 * (its fix versions and parent epic), with its moves replayed: in a milestone it has moves for, it is
 * in it when its last move before `at` put it there (before its first move, when that move took it out).
 */
function membersAt(items: ItemRow[], moves: MoveRow[], itemById: Map<string, ItemRow>, at: number): Map<string, ItemRow[]> {
  const sets = new Map<string, Set<ItemRow>>();
  const set = (k: string): Set<ItemRow> => {
    let s = sets.get(k);
    if (s === undefined) sets.set(k, (s = new Set()));
    return s;
  };
  for (const i of items) for (const m of i.milestones) set(`${i.source}:${m}`).add(i);
  for (const m of moves) {
    const item = itemById.get(`${m.source}:${m.item_id}`);
    if (item === undefined || m.evs.length === 0) continue;
    let member = Number(m.evs[0]![1]) === -1;
    for (const [t, d] of m.evs) if (Number(t) < at) member = Number(d) === 1;
    const k = `${m.source}:${m.milestone_id}`;
    if (member) set(k).add(item);
    else sets.get(k)?.delete(item);
  }
  return new Map([...sets].map(([k, s]) => [k, [...s]]));
}

/** A finished version or epic as a peer of the open ones: how it finished. */
interface Peer {
  key: string;
  name: string;
  kind: string;
  team: string;
  doneDay: Day;
  /** The committed dates seen up to its finish: (observed at, ms; date); empty when none was seen before it. */
  seen: Array<[number, Day]>;
  /** Its items that were open when it finished (carried over, or left in it). */
  openItems: number;
}

/** The organisation's peers read for the prior of a cadence's on-time share: this many times cadencePeers. */
const ORG_PEERS = 4;

/** How near its finish an item left a milestone for the move to count as carrying it over. */
const CARRY_WINDOW_MS = 2 * 86_400_000;

/**
 * The finished milestones that had work items, oldest first, each with its items open when it finished:
 * an item in it at the end of its finish day and not done by then, or an item moved out within two days
 * of that while not done (the work carried over to another milestone when it shipped).
 */
function finishedPeers(
  finished: FinishedRow[],
  itemsOf: Map<string, ItemRow[]>,
  movesOf: Map<string, MoveRow[]>,
  itemById: Map<string, ItemRow>,
): Peer[] {
  const out: Peer[] = [];
  for (const f of finished) {
    const members = new Map((itemsOf.get(f.key) ?? []).map((i) => [i.item_id, i]));
    const moves = new Map((movesOf.get(f.key) ?? []).map((m) => [m.item_id, m.evs.map(([t, d]) => ({ t: Number(t), d: Number(d) }))]));
    const source = f.key.slice(0, f.key.indexOf(':'));
    const ids = new Set([...members.keys(), ...moves.keys()]);
    if (ids.size === 0) continue;
    const end = Date.parse(`${f.done_day}T00:00:00Z`) + 86_400_000;
    let open = 0;
    for (const id of ids) {
      const evs = moves.get(id) ?? [];
      const item = itemById.get(`${source}:${id}`);
      if (item === undefined) continue; // created after the instant
      const done = num(item.done_ms);
      const doneBy = (t: number): boolean => done !== null && done <= t;
      // In the milestone at the end of its finish day: the last move by then, else as it was before the first move.
      let member = evs.length === 0 ? members.has(id) : evs[0]!.d === -1;
      for (const e of evs) if (e.t <= end) member = e.d === 1;
      const carried = evs.some((e) => e.d === -1 && Math.abs(e.t - end) <= CARRY_WINDOW_MS && !doneBy(e.t));
      if ((member && !doneBy(end)) || carried) open += 1;
    }
    out.push({
      key: f.key,
      name: f.name,
      kind: f.kind,
      team: f.team,
      doneDay: f.done_day,
      seen: f.seen.map(([t, d]) => [Number(t), d] as [number, Day]),
      openItems: open,
    });
  }
  return out;
}

/**
 * The cadence of an open milestone: its owning team's most recent finished milestones of the same kind
 * (the organisation's when the team has too few), how many finished with open items, and for each how
 * many days it finished after the committed date it had `leadDays` before its finish day, and the same
 * for the organisation's most recent ones of the kind (a prior for the on-time share). Undefined when
 * the method is 'throughput' or there are too few peers.
 */
function cadenceOf(
  peers: Peer[],
  milestoneId: string,
  team: string,
  leadDays: number,
  o: CadenceOptions,
  /** Receives the peers read, for the evidence. */
  behind: CadencePeer[] = [],
): Cadence | undefined {
  if (o.method === 'throughput') return undefined;
  const kind = milestoneId.slice(0, milestoneId.indexOf('/'));
  const same = peers.filter((p) => p.kind === kind);
  const mine = same.filter((p) => team !== '' && p.team === team).slice(-o.peers);
  const from: Cadence['from'] = mine.length >= o.minPeers ? 'team' : 'organisation';
  const read = from === 'team' ? mine : same.slice(-o.peers);
  if (read.length < o.minPeers) return undefined;
  const withOpenItems = read.filter((p) => p.openItems > 0).length;
  const opens = read.map((p) => p.openItems).sort((a, b) => a - b);
  const dateThen = (p: Peer): Day => {
    const at = Date.parse(`${p.doneDay}T00:00:00Z`) - leadDays * 86_400_000;
    const then = p.seen.filter(([t]) => t <= at);
    return (then.length > 0 ? then[then.length - 1]! : p.seen[0]!)[1];
  };
  // Only a peer whose date was seen before it finished had a plan to be late against.
  const planned = (p: Peer): boolean => p.seen.length > 0;
  const slipOf = (p: Peer): number => daysBetween(dateThen(p), p.doneDay);
  const dated = read.filter(planned);
  const slipDays = dated.map(slipOf);
  const orgSlipDays = same
    .slice(-ORG_PEERS * o.peers)
    .filter(planned)
    .map(slipOf);
  behind.push(
    ...dated.map((p, i) => ({
      key: p.key,
      name: p.name,
      doneDay: p.doneDay,
      dateThen: dateThen(p),
      slipDays: slipDays[i]!,
      openItems: p.openItems,
    })),
  );
  const style: Cadence['style'] = o.method === 'cadence' || withOpenItems / read.length >= o.carryOverShare ? 'date' : 'scope';
  return {
    style,
    from,
    peers: read.length,
    withOpenItems,
    medianOpenItems: opens[Math.ceil(opens.length / 2) - 1]!,
    leadDays,
    slipDays,
    orgSlipDays,
  };
}
