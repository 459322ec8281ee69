import { forecastMilestone, trialWeeks } from '../workers/forecast/engine.js';
import { Mulberry32 } from '../workers/forecast/prng.js';
import type { BlockedItems, ForecastInputs, ForecastSettings } from '../workers/forecast/types.js';
import { rssSampler } from './memory.js';

export interface ForecastBenchOptions {
  out: NodeJS.WritableStream;
  /** Open milestones forecast. */
  milestones: number;
  /** Trials per milestone. */
  trials: number;
  seed?: number;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => `${fmt(bytes / 2 ** 20)} MB`;
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * The milestone forecast on one core: a seeded portfolio of open milestones (10 to 200 items left, 12
 * weeks of throughput and scope growth, up to three blockers, a fifth of them waiting on another
 * milestone's forecast), each forecast with the configured trials. Prints the time, milestones and trials
 * per second, the simulated weeks and random draws per second against what a tight loop of the same
 * draws does on this core (the ceiling), and the peak resident memory.
 */
export function benchForecast(options: ForecastBenchOptions): void {
  const { out } = options;
  if (!Number.isInteger(options.milestones) || options.milestones < 1)
    throw new RangeError(`milestones must be a whole number of at least 1, not ${options.milestones}`);
  if (!Number.isInteger(options.trials) || options.trials < 1 || options.trials > 1_000_000)
    throw new RangeError(`trials must be a whole number from 1 to 1,000,000, not ${options.trials}`);
  const seed = options.seed ?? 1;
  const settings: ForecastSettings = {
    trials: options.trials,
    seed,
    windowWeeks: 12,
    minDoneItems: 20,
    minWeeks: 6,
    bands: { onTrack: 0.8, atRisk: 0.5 },
    horizonWeeks: 104,
  };
  const sampler = rssSampler();
  try {
    out.write(
      `forecast benchmark: ${fmt(options.milestones)} milestones x ${fmt(options.trials)} trials, seed ${seed}, ` +
        `horizon ${settings.horizonWeeks} weeks; one core (Node ${process.version})\n`,
    );

    // The ceiling: the simulation's inner step at its barest, a draw, a sample looked up and added.
    const ceiling = drawCeiling();
    out.write(`ceiling on this core: ${fmt(ceiling)} draws/s (a tight loop: one mulberry32 draw, a sample looked up and added)\n`);

    const portfolio = generatePortfolio(options.milestones, new Mulberry32(seed));
    // Blockers in another milestone take that milestone's trial weeks, as the forecast job runs blockers' milestones first.
    let t0 = process.hrtime.bigint();
    const upstream = new Map<number, number[]>();
    for (const m of portfolio) {
      for (const b of m.blockers) {
        if (b.onMilestone === undefined || upstream.has(b.onMilestone)) continue;
        upstream.set(b.onMilestone, Array.from(trialWeeks(portfolio[b.onMilestone]!.inputs, settings)));
      }
    }
    const upstreamSecs = since(t0);
    const inputs = portfolio.map((m) => ({
      ...m.inputs,
      blockers: m.inputs.blockers.map((b, i) => {
        const from = m.blockers[i]!.onMilestone;
        return from === undefined ? b : { ...b, finishWeeks: upstream.get(from)! };
      }),
    }));
    out.write(
      `blockers' milestones first: ${upstream.size} trial-week sets in ${upstreamSecs.toFixed(2)} s ` +
        `(${inputs.filter((m) => m.blockers.some((b) => b.finishWeeks.length === settings.trials)).length} milestones wait on another's forecast)\n`,
    );

    // The forecasts as the job computes them: simulation, percentiles, confidence, drivers, critical path.
    let refused = 0;
    let onTrack = 0;
    let critical = 0;
    t0 = process.hrtime.bigint();
    for (const m of inputs) {
      const f = forecastMilestone(m, settings);
      if (!f.ok) refused++;
      else {
        if (f.band === 'on track') onTrack++;
        if (f.criticalPath.length > 0) critical++;
      }
    }
    const secs = since(t0);
    const trials = options.milestones * options.trials;
    out.write(
      `forecasts: ${secs.toFixed(2)} s; ${fmt(options.milestones / secs)} milestones/s, ${fmt(trials / secs)} trials/s; ` +
        `${refused} refused for too little history, ${onTrack} on track, ${critical} with a blocker chain setting the date\n`,
    );

    // The simulation alone, to count the weeks and draws it does.
    t0 = process.hrtime.bigint();
    let weeks = 0;
    let draws = 0;
    for (const m of inputs) {
      const w = trialWeeks(m, settings);
      let sum = 0;
      for (let t = 0; t < w.length; t++) sum += Math.min(w[t]!, settings.horizonWeeks);
      weeks += sum;
      draws += sum * (m.growth.length > 0 ? 2 : 1);
    }
    const simSecs = since(t0);
    out.write(
      `simulation alone: ${simSecs.toFixed(2)} s; ${fmt(weeks / simSecs)} trial-weeks/s (${(weeks / trials).toFixed(1)} weeks a trial), ` +
        `${fmt(draws / simSecs)} draws/s = ${((100 * draws) / simSecs / ceiling).toFixed(0)}% of the ceiling\n`,
    );
    sampler.stop();
    const maxRss = process.resourceUsage().maxRSS * 1024;
    out.write(`peak RSS: ${mb(Math.max(maxRss, sampler.peak()))} (sampled ${mb(sampler.peak())})\n`);
  } finally {
    sampler.stop();
  }
}

/** Draws per second of the simulation's barest inner step, measured for about a second. */
function drawCeiling(): number {
  const samples = new Float64Array([4, 6, 5, 0, 7, 5, 6, 3, 8, 5, 4, 6]);
  const rng = new Mulberry32(1);
  let n = 1_000_000;
  let sum = 0;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sum += samples[Math.floor(rng.next() * samples.length)]!;
    const secs = since(t0);
    if (secs >= 1 || n >= 2 ** 31) {
      if (sum < 0) throw new Error('unreachable'); // keeps the loop's result alive
      return n / secs;
    }
    n *= 2;
  }
}

interface GeneratedMilestone {
  inputs: ForecastInputs;
  /** Per blocker: the milestone whose forecast it waits on, when it is in another milestone. */
  blockers: Array<{ onMilestone?: number }>;
}

function generatePortfolio(count: number, rng: Mulberry32): GeneratedMilestone[] {
  const int = (lo: number, hi: number): number => lo + rng.below(hi - lo + 1);
  const poisson = (lambda: number): number => {
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = 1;
    do {
      k++;
      p *= rng.next();
    } while (p > limit);
    return k - 1;
  };
  const out: GeneratedMilestone[] = [];
  for (let i = 0; i < count; i++) {
    const rate = 2 + rng.next() * 13;
    const remaining = int(10, 200);
    const blockers: BlockedItems[] = [];
    const links: Array<{ onMilestone?: number }> = [];
    for (let b = 0, n = int(0, 3); b < n; b++) {
      const onMilestone = i > 0 && rng.next() < 0.2 ? rng.below(i) : undefined;
      blockers.push({
        blocker: `DEP-${i}-${b}`,
        blockerTeam: `team-${int(1, 40)}`,
        blockerTitle: 'generated blocker',
        blocked: Array.from({ length: int(1, Math.min(5, remaining)) }, (_, k) => `M${i}-B${b}-${k}`),
        finishWeeks: [int(0, 20)],
        idleBusinessDays: int(0, 20),
      });
      links.push({ onMilestone });
    }
    out.push({
      inputs: {
        source: 'jira',
        milestoneId: `M-${i}`,
        name: `Milestone ${i}`,
        asOf: new Date('2026-03-02T09:00:00Z'),
        today: '2026-03-02',
        committed: `2026-${String(int(4, 12)).padStart(2, '0')}-15`,
        remainingItems: remaining,
        remainingPoints: rng.next() < 0.5 ? null : remaining * 3,
        doneItems: int(20, 300),
        throughput: Array.from({ length: 12 }, () => poisson(rate)),
        throughputBasis: rng.next() < 0.7 ? 'milestone' : 'team share',
        teams: [`team-${int(1, 40)}`],
        growth: rng.next() < 0.5 ? [] : Array.from({ length: 12 }, () => int(-1, 3)),
        historyWeeks: int(6, 52),
        blockers,
      },
      blockers: links,
    });
  }
  return out;
}
