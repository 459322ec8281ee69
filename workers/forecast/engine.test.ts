import { describe, expect, it } from 'vitest';
import { applyWhatIf, forecastMilestone, forecastWhatIf, historyShortfall, trialWeeks } from './engine.js';
import { Mulberry32 } from './prng.js';
import type { BlockedItems, Forecast, ForecastInputs, ForecastSettings } from './types.js';

const TODAY = '2026-03-02';

function settings(over: Partial<ForecastSettings> = {}): ForecastSettings {
  return {
    trials: 2_000,
    seed: 7,
    windowWeeks: 12,
    minDoneItems: 20,
    minWeeks: 6,
    bands: { onTrack: 0.8, atRisk: 0.5 },
    horizonWeeks: 104,
    ...over,
  };
}

function inputs(over: Partial<ForecastInputs> = {}): ForecastInputs {
  return {
    source: 'jira',
    milestoneId: 'PAY-M1',
    name: 'Payments GA',
    asOf: new Date(`${TODAY}T09:00:00Z`),
    today: TODAY,
    committed: null,
    remainingItems: 20,
    remainingPoints: null,
    doneItems: 40,
    throughput: [5, 5, 5, 5, 5, 5],
    throughputBasis: 'milestone',
    teams: ['payments'],
    growth: [],
    historyWeeks: 12,
    blockers: [],
    ...over,
  };
}

function blocker(key: string, blocked: string[], finishWeeks: number[], over: Partial<BlockedItems> = {}): BlockedItems {
  return { blocker: key, blockerTeam: 'payments', blockerTitle: `${key} title`, blocked, finishWeeks, idleBusinessDays: 0, ...over };
}

function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

function ok(f: Forecast): Extract<Forecast, { ok: true }> {
  if (!f.ok) throw new Error(`expected a forecast, got a refusal: ${f.reason}`);
  return f;
}

/** Weeks from today of a forecast date; beyond the horizon (null) is later than any date. */
const weekOf = (day: string | null): number => (day === null ? Infinity : (Date.parse(day) - Date.parse(TODAY)) / (7 * 86_400_000));

const items = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}-${i + 1}`);

describe('forecastMilestone: hand-computed cases', () => {
  it('constant throughput 5 a week against 20 items finishes in exactly 4 weeks', () => {
    const onTheDay = ok(forecastMilestone(inputs({ committed: addDays(TODAY, 28) }), settings()));
    expect(onTheDay.p50).toBe('2026-03-30');
    expect(onTheDay.p85).toBe('2026-03-30');
    expect(onTheDay.p95).toBe('2026-03-30');
    expect(onTheDay.confidence).toBe(1);
    expect(onTheDay.band).toBe('on track');
    expect(ok(forecastMilestone(inputs({ committed: addDays(TODAY, 60) }), settings())).confidence).toBe(1);

    const dayBefore = ok(forecastMilestone(inputs({ committed: addDays(TODAY, 27) }), settings()));
    expect(dayBefore.confidence).toBe(0);
    expect(dayBefore.band).toBe('off track');
    expect(dayBefore.p50).toBe('2026-03-30');

    const none = ok(forecastMilestone(inputs(), settings()));
    expect(none.confidence).toBeNull();
    expect(none.band).toBeNull();
    expect(new Set(trialWeeks(inputs(), settings()))).toEqual(new Set([4]));
  });

  it('a blocker finishing in week 6 holds its 3 blocked items until week 6, and sets the date', () => {
    const free = ok(forecastMilestone(inputs({ remainingItems: 10 }), settings()));
    expect(free.p95).toBe(addDays(TODAY, 14));

    const input = inputs({
      remainingItems: 10,
      blockers: [blocker('PAY-20', items('PAY', 3), [6], { idleBusinessDays: 15 })],
    });
    const f = ok(forecastMilestone(input, settings()));
    expect(new Set(trialWeeks(input, settings()))).toEqual(new Set([6]));
    expect([f.p50, f.p85, f.p95]).toEqual([addDays(TODAY, 42), addDays(TODAY, 42), addDays(TODAY, 42)]);
    expect(f.criticalPath).toEqual(['PAY-20']);
    expect(f.criticalShare).toBe(1);
    expect(f.drivers).toEqual([
      '10 items left at a median 5 per week over the last 6 weeks',
      '3 wait on PAY-20 (payments), unchanged for 15 business days',
      'PAY-20 sets the date in 100% of trials',
      "throughput basis: the milestone's own throughput",
    ]);
  });

  it('a blocker finishing part-way through week 6 also releases its items for week 6', () => {
    const input = inputs({ remainingItems: 10, blockers: [blocker('PAY-20', items('PAY', 3), [5.2])] });
    expect(new Set(trialWeeks(input, settings()))).toEqual(new Set([6]));
  });

  it('a blocker that finishes while the team is still busy sets nothing', () => {
    // 30 items at 5 a week take 6 weeks; the 3 blocked ones are released in week 2, long before they are needed.
    const f = ok(forecastMilestone(inputs({ remainingItems: 30, blockers: [blocker('PAY-20', items('PAY', 3), [2])] }), settings()));
    expect(f.p95).toBe(addDays(TODAY, 42));
    expect(f.criticalPath).toEqual([]);
    expect(f.drivers).not.toContainEqual(expect.stringContaining('sets the date'));
  });

  it('a chain of blockers: an item of the milestone blocked by PAY-20 holds its own dependants until PAY-20 finishes', () => {
    // ITEM-7 is worked on (finish 0) but waits on PAY-20 (week 6); ITEM-8 and ITEM-9 wait on ITEM-7.
    const input = inputs({
      remainingItems: 10,
      blockers: [blocker('PAY-20', ['ITEM-7'], [6]), blocker('ITEM-7', ['ITEM-8', 'ITEM-9'], [0], { blockerTeam: 'checkout' })],
    });
    const f = ok(forecastMilestone(input, settings()));
    expect(new Set(trialWeeks(input, settings()))).toEqual(new Set([6]));
    expect(f.criticalPath).toEqual(['PAY-20', 'ITEM-7']);
    expect(f.drivers).toContain('PAY-20 -> ITEM-7 sets the date in 100% of trials');
    expect(f.drivers).toContain('2 wait on ITEM-7 (checkout), in progress');
  });

  it('an item with two blockers waits for the later one', () => {
    const input = inputs({
      remainingItems: 4,
      blockers: [blocker('PAY-20', ['A-1', 'A-2'], [3]), blocker('OPS-5', ['A-2'], [9], { blockerTeam: 'ops' })],
    });
    const f = ok(forecastMilestone(input, settings()));
    expect(f.p50).toBe(addDays(TODAY, 63));
    expect(f.criticalPath).toEqual(['OPS-5']);
  });

  it('scope growing by 1 a week against throughput 3 and 10 items finishes in 5 weeks', () => {
    const f = ok(forecastMilestone(inputs({ remainingItems: 10, throughput: [3, 3, 3, 3, 3, 3], growth: [1, 1, 1, 1] }), settings()));
    expect([f.p50, f.p85, f.p95]).toEqual([addDays(TODAY, 35), addDays(TODAY, 35), addDays(TODAY, 35)]);
    expect(f.drivers).toContain('scope grows by 1 item per week on average over 4 weeks');
    // The week's growth comes before its work: 11 items are 9, 7, 5, 3, 1 after five weeks, and 2 + 1 in the sixth.
    const eleven = ok(forecastMilestone(inputs({ remainingItems: 11, throughput: [3, 3, 3, 3, 3, 3], growth: [1] }), settings()));
    expect(eleven.p95).toBe(addDays(TODAY, 42));
  });

  it('gives no number for a milestone with no work item yet, and "done" for one whose items are all done', () => {
    const empty = forecastMilestone(inputs({ remainingItems: 0, milestoneDoneItems: 0, throughput: [3] }), settings());
    expect(empty).toMatchObject({ ok: false, reason: 'no work item is in the milestone yet: its scope is not planned' });
    // With no team, and so no history, either: the missing scope is the reason.
    const teamless = forecastMilestone(
      inputs({ remainingItems: 0, milestoneDoneItems: 0, doneItems: 0, historyWeeks: 0, teams: [] }),
      settings(),
    );
    expect(teamless).toMatchObject({ ok: false, reason: 'no work item is in the milestone yet: its scope is not planned' });
    const finished = ok(forecastMilestone(inputs({ remainingItems: 0, milestoneDoneItems: 5, throughput: [3] }), settings()));
    expect(finished.p95).toBe(TODAY);
  });

  it('growth stops after growthWeeks: 10 items, +1 a week for two weeks, 3 done a week finish in 4 weeks', () => {
    // 11 - 3 = 8, 9 - 3 = 6, then 3 and 0.
    const f = ok(forecastMilestone(inputs({ remainingItems: 10, throughput: [3], growth: [1], growthWeeks: 2 }), settings()));
    expect([f.p50, f.p95]).toEqual([addDays(TODAY, 28), addDays(TODAY, 28)]);
    expect(f.drivers).toContain('scope grows by 1 item per week on average over 1 week, taken to go on for 2 more weeks');
    // Growth faster than the work, forever, never finishes; for a while, it does.
    expect(ok(forecastMilestone(inputs({ remainingItems: 4, throughput: [2], growth: [3] }), settings())).p50).toBeNull();
    expect(ok(forecastMilestone(inputs({ remainingItems: 4, throughput: [2], growth: [3], growthWeeks: 3 }), settings())).p50).toBe(
      addDays(TODAY, 7 * 7),
    );
  });

  it('scope that shrinks faster than anything is done runs out, never below 0', () => {
    const f = ok(forecastMilestone(inputs({ remainingItems: 10, throughput: [0, 0, 0, 0, 0, 1], growth: [-4] }), settings()));
    expect(f.p95).toBe(addDays(TODAY, 21));
    expect(f.drivers).toContain('scope shrinks by 4 items per week on average over 1 week');
  });

  it('nothing left finishes today', () => {
    const f = ok(forecastMilestone(inputs({ remainingItems: 0, committed: TODAY }), settings()));
    expect(f.p50).toBe(TODAY);
    expect(f.confidence).toBe(1);
  });

  it('percentiles are nearest-rank order statistics of the completion weeks', () => {
    // 100 trials; trial t waits on a blocker finishing in week t + 1 and the team does everything at once,
    // so the completion weeks are exactly 1..100, one trial each.
    const input = inputs({
      remainingItems: 5,
      throughput: [1000, 1000, 1000, 1000, 1000, 1000],
      blockers: [
        blocker(
          'PAY-20',
          items('PAY', 5),
          Array.from({ length: 100 }, (_, t) => t + 1),
        ),
      ],
      committed: addDays(TODAY, 7 * 30 + 6),
    });
    const f = ok(forecastMilestone(input, settings({ trials: 100, horizonWeeks: 120 })));
    expect([...trialWeeks(input, settings({ trials: 100, horizonWeeks: 120 }))]).toEqual(Array.from({ length: 100 }, (_, t) => t + 1));
    expect(f.p50).toBe(addDays(TODAY, 7 * 50));
    expect(f.p85).toBe(addDays(TODAY, 7 * 85));
    expect(f.p95).toBe(addDays(TODAY, 7 * 95));
    expect(f.confidence).toBe(0.3);
    expect(f.band).toBe('off track');
    // 30 trials, weeks 1..30: the 85th percentile is the 26th (ceil(25.5)) smallest, the 95th the 29th.
    const thirtyInput = {
      ...input,
      blockers: [
        blocker(
          'PAY-20',
          items('PAY', 5),
          Array.from({ length: 30 }, (_, t) => 30 - t),
        ),
      ],
    };
    const thirty = ok(forecastMilestone(thirtyInput, settings({ trials: 30, horizonWeeks: 120 })));
    expect([thirty.p50, thirty.p85, thirty.p95]).toEqual([addDays(TODAY, 7 * 15), addDays(TODAY, 7 * 26), addDays(TODAY, 7 * 29)]);
    // Beyond the horizon: the rank lands on trials that do not finish.
    const short = ok(forecastMilestone(input, settings({ trials: 100, horizonWeeks: 90 })));
    expect(short.p85).toBe(addDays(TODAY, 7 * 85));
    expect(short.p95).toBeNull();
    expect(short.drivers).toContain('10% of trials do not finish within 90 weeks');
  });

  it('bands follow the settings', () => {
    const input = inputs({
      remainingItems: 5,
      throughput: [1000, 1000, 1000, 1000, 1000, 1000],
      blockers: [
        blocker(
          'PAY-20',
          items('PAY', 5),
          Array.from({ length: 100 }, (_, t) => t + 1),
        ),
      ],
    });
    const at = (week: number, bands = { onTrack: 0.8, atRisk: 0.5 }): Forecast =>
      forecastMilestone({ ...input, committed: addDays(TODAY, 7 * week) }, settings({ trials: 100, bands }));
    expect(ok(at(80)).band).toBe('on track');
    expect(ok(at(79)).band).toBe('at risk');
    expect(ok(at(50)).band).toBe('at risk');
    expect(ok(at(49)).band).toBe('off track');
    expect(ok(at(79, { onTrack: 0.7, atRisk: 0.6 })).band).toBe('on track');
  });

  it('says which throughput the forecast draws from, with points when the items have them', () => {
    const f = ok(
      forecastMilestone(
        inputs({
          remainingItems: 41,
          remainingPoints: 96,
          throughputBasis: 'team share',
          teams: ['payments', 'ledger'],
          throughput: [6, 4, 7.5, 6, 5],
        }),
        settings(),
      ),
    );
    expect(f.drivers[0]).toBe('41 items (96 points) left at a median 6 per week over the last 5 weeks');
    expect(f.drivers).toContain("throughput basis: the teams' throughput times the milestone's share (payments, ledger)");
  });
});

describe('forecastMilestone: too little history', () => {
  it('gives no number and says why', () => {
    const f = forecastMilestone(inputs({ doneItems: 12, historyWeeks: 4 }), settings());
    expect(f).toMatchObject({
      ok: false,
      milestoneId: 'PAY-M1',
      reason: '12 done items and 4 weeks of history; a forecast needs 20 and 6',
    });
    expect(forecastMilestone(inputs({ doneItems: 25, historyWeeks: 5 }), settings()).ok).toBe(false);
    expect(forecastMilestone(inputs({ doneItems: 19, historyWeeks: 6 }), settings()).ok).toBe(false);
    expect(forecastMilestone(inputs({ doneItems: 20, historyWeeks: 6 }), settings()).ok).toBe(true);
    expect(historyShortfall(inputs({ throughput: [] }), settings())).toBe('no weekly throughput samples in the last 12 weeks');
  });
});

describe('forecastMilestone: bad input', () => {
  it('names the milestone and the field that cannot be used', () => {
    expect(() => forecastMilestone(inputs({ throughput: [5, 5, NaN, 5] }), settings())).toThrow(
      /forecast of jira milestone PAY-M1: throughput\[2\] is NaN/,
    );
    expect(() => forecastMilestone(inputs({ throughput: [5, -1] }), settings())).toThrow(/throughput\[1\] is -1/);
    expect(() => forecastMilestone(inputs({ committed: '2026-02-30' }), settings())).toThrow(
      /PAY-M1: committed is '2026-02-30'; expected a calendar day/,
    );
    expect(() => forecastMilestone(inputs(), settings({ trials: 0 }))).toThrow(/settings.trials is 0/);
    expect(() => forecastMilestone(inputs({ blockers: [blocker('PAY-20', ['A-1'], [NaN])] }), settings())).toThrow(
      /blocker PAY-20: finishWeeks\[0\] is NaN/,
    );
  });
});

describe('forecastMilestone: determinism', () => {
  it('the same seed and inputs give the same forecast; another seed other trials', () => {
    const input = inputs({
      remainingItems: 47,
      throughput: [0, 3, 8, 2, 5, 9, 1, 4],
      growth: [0, 2, -1, 1],
      committed: addDays(TODAY, 70),
    });
    expect(forecastMilestone(input, settings())).toEqual(forecastMilestone(input, settings()));
    expect(trialWeeks(input, settings())).toEqual(trialWeeks(input, settings()));
    expect(trialWeeks(input, settings({ seed: 8 }))).not.toEqual(trialWeeks(input, settings()));
    // Each milestone has its own streams.
    expect(trialWeeks({ ...input, milestoneId: 'PAY-M2' }, settings())).not.toEqual(trialWeeks(input, settings()));
  });
});

/** Random inputs for the properties, from a seeded PRNG. */
function randomInputs(rng: Mulberry32, trials: number): ForecastInputs {
  const int = (lo: number, hi: number): number => lo + rng.below(hi - lo + 1);
  const throughput = Array.from({ length: int(3, 16) }, () => int(0, 9));
  throughput[int(0, throughput.length - 1)] = int(1, 9);
  const growth = rng.next() < 0.5 ? [] : Array.from({ length: int(2, 10) }, () => int(-1, 2));
  const blockers: BlockedItems[] = [];
  let n = 0;
  for (let b = 0, count = int(0, 2); b < count; b++) {
    const blocked = items(`B${b}`, int(1, 4));
    n += blocked.length;
    const finishWeeks = rng.next() < 0.5 ? [int(0, 15)] : Array.from({ length: trials }, () => rng.next() * 15);
    blockers.push(blocker(`DEP-${b}`, blocked, finishWeeks));
  }
  return inputs({
    remainingItems: n + int(0, 60),
    throughput,
    growth,
    blockers,
    committed: addDays(TODAY, int(0, 150)),
  });
}

describe('forecastMilestone: properties over random inputs', () => {
  const CASES = 200;
  const s = settings({ trials: 300 });

  it('more remaining scope never gives an earlier P50 or P85', () => {
    const rng = new Mulberry32(101);
    let later = 0;
    for (let i = 0; i < CASES; i++) {
      const input = randomInputs(rng, s.trials);
      const more = { ...input, remainingItems: input.remainingItems + 1 + rng.below(20) };
      const a = ok(forecastMilestone(input, s));
      const b = ok(forecastMilestone(more, s));
      expect(weekOf(b.p50), `case ${i}`).toBeGreaterThanOrEqual(weekOf(a.p50));
      expect(weekOf(b.p85), `case ${i}`).toBeGreaterThanOrEqual(weekOf(a.p85));
      if (weekOf(b.p50) > weekOf(a.p50)) later++;
    }
    expect(later).toBeGreaterThan(CASES / 2);
  });

  it('more throughput never lowers the confidence', () => {
    const rng = new Mulberry32(202);
    let higher = 0;
    for (let i = 0; i < CASES; i++) {
      const input = randomInputs(rng, s.trials);
      const factor = 1 + rng.next() * 2;
      const a = ok(forecastMilestone(input, s));
      const b = ok(forecastMilestone(applyWhatIf(input, { throughputFactor: factor }), s));
      expect(b.confidence!, `case ${i}, factor ${factor}`).toBeGreaterThanOrEqual(a.confidence!);
      if (b.confidence! > a.confidence!) higher++;
    }
    expect(higher).toBeGreaterThan(CASES / 4);
  });

  it('a milestone with items blocked by a later-finishing blocker never finishes before that blocker', () => {
    const rng = new Mulberry32(303);
    let held = 0;
    for (let i = 0; i < CASES; i++) {
      const input = randomInputs(rng, s.trials);
      const weeks = trialWeeks(input, s);
      for (const b of input.blockers) {
        for (let t = 0; t < s.trials; t++) {
          if (weeks[t]! > s.horizonWeeks) continue;
          const fw = b.finishWeeks.length === s.trials ? b.finishWeeks[t]! : b.finishWeeks[0]!;
          // Done at the end of week w: the blocker must have finished by then.
          expect(weeks[t]!, `case ${i}, trial ${t}, ${b.blocker} finishing at week ${fw}`).toBeGreaterThanOrEqual(fw);
          if (weeks[t]! === Math.max(1, Math.ceil(fw))) held++;
        }
      }
    }
    expect(held).toBeGreaterThan(0);
  });

  it('the same seed gives the same forecast', () => {
    const rng = new Mulberry32(404);
    for (let i = 0; i < CASES / 4; i++) {
      const input = randomInputs(rng, s.trials);
      expect(forecastMilestone(input, s)).toEqual(forecastMilestone(structuredClone(input), { ...s }));
    }
  });
});

/** Poisson(lambda) by Knuth's product of uniforms. */
function poisson(rng: Mulberry32, lambda: number): number {
  const limit = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rng.next();
  } while (p > limit);
  return k - 1;
}

describe('forecastMilestone: against the exact answer', () => {
  it('P(done by week k) agrees with the convolution of the throughput distribution within 0.02', () => {
    const rng = new Mulberry32(2026);
    const samples = Array.from({ length: 5_000 }, () => poisson(rng, 5));
    const scope = 30;
    // The empirical distribution of one week's throughput.
    const pmf = new Map<number, number>();
    for (const v of samples) pmf.set(v, (pmf.get(v) ?? 0) + 1 / samples.length);
    // dist[s]: P(items done after k weeks = s), with s = scope absorbing (done).
    let dist = new Float64Array(scope + 1);
    dist[0] = 1;
    const exact: number[] = [];
    for (let k = 1; k <= 7; k++) {
      const next = new Float64Array(scope + 1);
      for (let s = 0; s <= scope; s++) {
        if (dist[s] === 0) continue;
        if (s === scope) {
          next[scope] = next[scope]! + dist[s]!;
          continue;
        }
        for (const [v, p] of pmf) {
          const to = Math.min(scope, s + v);
          next[to] = next[to]! + dist[s]! * p;
        }
      }
      dist = next;
      exact.push(dist[scope]!);
    }
    const s = settings({ trials: 10_000, windowWeeks: 5_000 });
    const base = inputs({ remainingItems: scope, throughput: samples });
    for (const k of [5, 6, 7]) {
      const f = ok(forecastMilestone({ ...base, committed: addDays(TODAY, 7 * k) }, s));
      expect(Math.abs(f.confidence! - exact[k - 1]!), `week ${k}: simulated ${f.confidence}, exact ${exact[k - 1]}`).toBeLessThan(0.02);
    }
    // The exact answers are not trivially 0 or 1 at these weeks.
    expect(exact[4]).toBeGreaterThan(0.1);
    expect(exact[6]).toBeLessThan(0.99);
  });
});

describe('what-ifs', () => {
  const s = settings({ trials: 2_000 });
  const base = inputs({
    remainingItems: 60,
    throughput: [4, 6, 5, 0, 7, 5, 6, 3, 8, 5, 4, 6],
    growth: [1, 0, 2, 0, 0, 1],
    committed: addDays(TODAY, 84),
    blockers: [blocker('PAY-20', items('PAY', 3), [16], { idleBusinessDays: 15 })],
  });

  it('20% less scope gives an earlier or equal date', () => {
    const { current, whatIf } = forecastWhatIf(base, s, { scopeChange: -0.2 });
    expect(applyWhatIf(base, { scopeChange: -0.2 }).remainingItems).toBe(48);
    const a = ok(current);
    const b = ok(whatIf);
    expect(weekOf(b.p50)).toBeLessThanOrEqual(weekOf(a.p50));
    expect(weekOf(b.p85)).toBeLessThanOrEqual(weekOf(a.p85));
    // Without the blocker holding the date, the cut shows.
    const free = { ...base, blockers: [] };
    expect(weekOf(ok(forecastWhatIf(free, s, { scopeChange: -0.2 }).whatIf).p50)).toBeLessThan(weekOf(ok(forecastMilestone(free, s)).p50));
  });

  it('resolving a blocker earlier brings the date forward', () => {
    const a = ok(forecastMilestone(base, s));
    expect(a.criticalPath).toEqual(['PAY-20']);
    expect(a.p50).toBe(addDays(TODAY, 7 * 16));
    const changed = applyWhatIf(base, { resolve: [{ key: 'PAY-20', on: addDays(TODAY, 21) }] });
    expect(changed.blockers[0]!.finishWeeks).toEqual([3]);
    expect(base.blockers[0]!.finishWeeks).toEqual([16]);
    const b = ok(forecastMilestone(changed, s));
    expect(weekOf(b.p50)).toBeLessThan(16);
    expect(b.confidence!).toBeGreaterThan(a.confidence!);
  });

  it('committing later raises the confidence', () => {
    const free = { ...base, blockers: [] };
    const a = ok(forecastMilestone(free, s));
    const b = ok(forecastMilestone(applyWhatIf(free, { commit: addDays(TODAY, 112) }), s));
    expect(a.confidence!).toBeGreaterThan(0);
    expect(a.confidence!).toBeLessThan(1);
    expect(b.committed).toBe(addDays(TODAY, 112));
    expect(b.confidence!).toBeGreaterThan(a.confidence!);
    expect(b.p50).toBe(a.p50);
  });

  it("another team's throughput is pooled week by week, aligned on the latest week", () => {
    const changed = applyWhatIf(inputs({ throughput: [1, 2, 3, 4] }), { addThroughput: [10, 20], throughputFactor: 2 });
    expect(changed.throughput).toEqual([2 * 16, 2 * 17, 2 * 13, 2 * 24]);
  });

  it('refuses what-ifs it cannot apply, saying which', () => {
    expect(() => applyWhatIf(base, { resolve: [{ key: 'PAY-99', on: TODAY }] })).toThrow(
      'what-if for forecast of jira milestone PAY-M1: resolve[0]: PAY-99 is not a blocker of the milestone (its blockers: PAY-20)',
    );
    expect(() => applyWhatIf(base, { scopeChange: -1.5 })).toThrow(/scopeChange -1.5/);
    expect(() => applyWhatIf(base, { throughputFactor: 0 })).toThrow(/throughputFactor 0/);
    expect(() => applyWhatIf(base, { commit: '2026-13-01' })).toThrow(/commit is '2026-13-01'/);
  });
});

describe('forecastMilestone: the cadence method', () => {
  // Due 2026-03-27, 25 days after TODAY; six peers finished -2, 0, 0, 3, 5 and 8 days from their dates.
  const cadence = (over: Partial<NonNullable<ForecastInputs['cadence']>> = {}): ForecastInputs['cadence'] => ({
    style: 'date',
    from: 'team',
    peers: 6,
    withOpenItems: 5,
    medianOpenItems: 3,
    leadDays: 25,
    slipDays: [3, -2, 0, 8, 0, 5],
    orgSlipDays: [-1, -1, 0, 2],
    ...over,
  });
  const due = '2026-03-27';

  it("dates a milestone by its peers' finishes around their dates, the confidence drawn towards the organisation's", () => {
    const f = ok(forecastMilestone(inputs({ committed: due, cadence: cadence() }), settings()));
    expect(f.method).toBe('cadence');
    // Sorted -2, 0, 0, 3, 5, 8: P50 the 3rd (0), P85 and P95 the 6th (+8).
    expect([f.p50, f.p85, f.p95]).toEqual(['2026-03-27', '2026-04-04', '2026-04-04']);
    // 3 of 6 on or before their date; the organisation 3 of 4: (6 x 0.5 + 4 x 0.75) / 10.
    expect(f.confidence).toBeCloseTo(0.6, 12);
    expect(f.band).toBe('at risk');
    expect(f.criticalPath).toEqual([]);
    expect(f.drivers[0]).toBe(
      "ships by its date, as the team's last 6 milestones did, 5 of them with open items carried over (a median 3): they finished a median 0 days " +
        'from the date they had 25 days before (-2 to +8); the ones that finished this late or later give the dates',
    );
    // 20 items at 5 a week: after 3 whole weeks (the date falls in week 3) 5 are still open in every trial.
    expect(f.drivers[1]).toBe(`at ${due} a median 5 items of its work will still be open (all of it done in 0% of trials)`);
  });

  it('leaves out the peers that finished earlier than today is before the date, once it is close', () => {
    // One day before the date: the peer that finished two days early is not this milestone's future.
    const f = ok(forecastMilestone(inputs({ committed: addDays(TODAY, 1), cadence: cadence({ leadDays: 1 }) }), settings()));
    // 0, 0, 3, 5, 8: P50 the 3rd (+3); on time 2 of 5; the organisation's all finished a day early or later: 3 of 4.
    expect(f.p50).toBe(addDays(TODAY, 4));
    expect(f.confidence).toBeCloseTo((5 * 0.4 + 4 * 0.75) / 9, 12);
  });

  it('takes a milestone later than nearly all its peers were as late again as the late ones, from today', () => {
    // Ten days past its date: none finished that late; the late ones were 3, 5 and 8 days late.
    const f = ok(forecastMilestone(inputs({ committed: addDays(TODAY, -10), cadence: cadence({ leadDays: -10 }) }), settings()));
    expect([f.p50, f.p85, f.p95]).toEqual([addDays(TODAY, 5), addDays(TODAY, 8), addDays(TODAY, 8)]);
    expect(f.confidence).toBe(0);
    expect(f.band).toBe('off track');
    expect(f.drivers[0]).toContain(
      'it is later than most of them were, so it is taken to be as late again, from today, as the late ones were',
    );
  });

  it('takes the finishes already passed as today when too few peers were late', () => {
    // One day past its date; only one peer finished a day or more late.
    const f = ok(
      forecastMilestone(inputs({ committed: addDays(TODAY, -1), cadence: cadence({ slipDays: [-2, 0, 0, 3], leadDays: -1 }) }), settings()),
    );
    // -2, 0, 0 become +1 (today), 3 stays: P50 today, P85 +3 from the date.
    expect([f.p50, f.p85]).toEqual([TODAY, addDays(TODAY, 2)]);
    expect(f.confidence).toBe(0);
  });

  it('simulates the remaining work when too few peers had a date on record before they finished', () => {
    const f = ok(forecastMilestone(inputs({ committed: due, cadence: cadence({ slipDays: [0, 2] }) }), settings()));
    expect(f.method).toBe('throughput');
    expect(f.p50).toBe('2026-03-30');
    expect(f.drivers[0]).toBe(
      "ships by its date, as the team's last 6 milestones did, 5 of them with open items carried over (a median 3); but the dates of only 2 " +
        'of them were seen before they finished, too few to read how late they finish: the dates come from the remaining work',
    );
  });

  it('simulates the remaining work for a cadence by scope or a milestone without a date', () => {
    const byScope = ok(forecastMilestone(inputs({ committed: due, cadence: cadence({ style: 'scope' }) }), settings()));
    expect(byScope.method).toBe('throughput');
    // 20 items at 5 a week: 4 weeks, after the date's week 3.
    expect(byScope.p50).toBe('2026-03-30');
    expect(byScope.confidence).toBe(0);
    expect(byScope.drivers.some((d) => d.startsWith('ships by its date'))).toBe(false);
    const undated = ok(forecastMilestone(inputs({ cadence: cadence() }), settings()));
    expect(undated.method).toBe('throughput');
    expect(undated.confidence).toBeNull();
  });

  it('keeps the dates of a cadence under a scope or throughput what-if, and says what is still open at the date', () => {
    const base = inputs({ committed: due, cadence: cadence() });
    const { current, whatIf } = forecastWhatIf(base, settings(), { scopeChange: -0.5 });
    expect(ok(whatIf).p50).toBe(ok(current).p50);
    expect(ok(whatIf).confidence).toBe(ok(current).confidence);
    // 10 items at 5 a week are done within the date's week 3.
    expect(ok(whatIf).drivers[1]).toBe(`at ${due} a median 0 items of its work will still be open (all of it done in 100% of trials)`);
  });
});
