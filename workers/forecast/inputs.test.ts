import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import { testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
import { checkoutTrain, releaseRows } from '../../test/support/forecasts.js';
import { blocksLinkRow, historyRow, milestoneDateRow, milestoneRow, workItemMaker } from '../../test/support/rows.js';
import { readForecastInputs, readTeamThroughput, type OpenMilestone } from './inputs.js';

/**
 * A hand-built store, read at Monday 2026-03-16 12:00 UTC with a 4-week window: week 0 is
 * [03-09 12:00, 03-16 12:00), week 1 [03-02 12:00, 03-09 12:00), week 2 [02-23 12:00, 03-02 12:00),
 * week 3 [02-16 12:00, 02-23 12:00). A milestone needs 3 done items over 2 weeks for its own throughput.
 * Every expected value below is worked out by hand from these facts.
 */
const T = new Date('2026-03-16T12:00:00Z');
const PROGRAM: Record<string, string> = { checkout: 'payments', ledger: 'payments' };
const wi = workItemMaker({ programOf: PROGRAM, createdAt: '2026-01-10T09:00:00.000Z', updatedAt: '2026-03-15T09:00:00.000Z' });
const done = { status: 'Done', status_category: 'done' } as const;
const finished = (key: string, at: string) => historyRow(key, at, 'status', 'To Do', 'Done');

let store: Store;
let read: OpenMilestone[];
const byKey = (key: string): OpenMilestone => {
  const m = read.find((r) => r.key === key);
  if (m === undefined) throw new Error(`no inputs for ${key}: ${read.map((r) => r.key).join(', ')}`);
  return m;
};

beforeAll(async () => {
  store = await testStore();
  await insertTables(store, {
    milestones: [
      // Started 02-02: six whole weeks of history at the instant.
      milestoneRow('version/1', 'Checkout 2.0', 'checkout', 'payments', { start_date: '2026-02-02', committed_date: '2026-04-30' }),
      // No start date: committed when its date was first seen, 03-02, two whole weeks before the instant.
      milestoneRow('version/2', 'Ledger 1.0', 'ledger', 'payments', { start_date: null, committed_date: '2026-04-15' }),
      // Released before the instant: not open.
      milestoneRow('version/3', 'Checkout 1.9', 'checkout', 'payments', {
        state: 'done',
        raw_state: 'released',
        committed_date: '2026-03-06',
        completed_at: '2026-03-06T00:00:00.000Z',
      }),
      // Its only committed date was seen after the instant: not a commitment yet.
      milestoneRow('version/4', 'Ledger 2.0', 'ledger', 'payments', { committed_date: '2026-06-01' }),
    ],
    milestone_dates: [
      milestoneDateRow('version/1', '2026-02-01T00:00:00.000Z', '2026-04-30'),
      milestoneDateRow('version/2', '2026-03-02T00:00:00.000Z', '2026-04-15'),
      milestoneDateRow('version/3', '2026-02-01T00:00:00.000Z', '2026-03-06'),
      milestoneDateRow('version/4', '2026-03-20T00:00:00.000Z', '2026-06-01'),
    ],
    work_items: [
      wi('CHK-1', 'story', 'checkout', { ...done, fix_versions: ['version/1'] }),
      wi('CHK-2', 'story', 'checkout', { ...done, fix_versions: ['version/1'] }),
      wi('CHK-3', 'story', 'checkout', { ...done, fix_versions: ['version/1'] }),
      wi('CHK-4', 'story', 'checkout', { ...done, fix_versions: ['version/1'] }),
      wi('CHK-5', 'story', 'checkout', { fix_versions: ['version/1'], story_points: 3 }),
      wi('CHK-6', 'story', 'checkout', { fix_versions: ['version/1'], story_points: 5 }),
      // Created into the version after its commit point: an add.
      wi('CHK-7', 'story', 'checkout', { fix_versions: ['version/1'], created_at: '2026-03-05T09:00:00.000Z' }),
      // Removed from the version on 02-25.
      wi('CHK-8', 'story', 'checkout'),
      // Added to the version on 03-12.
      wi('CHK-9', 'story', 'checkout', { fix_versions: ['version/1'] }),
      // Created after the instant: not counted.
      wi('CHK-10', 'story', 'checkout', { fix_versions: ['version/1'], created_at: '2026-03-17T09:00:00.000Z' }),
      wi('LED-1', 'story', 'ledger', { ...done, fix_versions: ['version/2'] }),
      // The blocker of CHK-6: due 03-30, two weeks after the instant; last updated Monday 03-09.
      wi('LED-2', 'story', 'ledger', {
        fix_versions: ['version/2'],
        due_date: '2026-03-30',
        status: 'In Progress',
        status_category: 'in_progress',
        updated_at: '2026-03-09T09:00:00.000Z',
      }),
      wi('LED-3', 'story', 'ledger', { fix_versions: ['version/2'] }),
      // Ledger work outside the milestone: part of the team's throughput.
      wi('LED-8', 'story', 'ledger', done),
      wi('LED-9', 'story', 'ledger', done),
      // Done before the window: not in the team's throughput.
      wi('LED-7', 'story', 'ledger', done),
    ],
    work_item_history: [
      finished('CHK-1', '2026-03-10T10:00:00.000Z'), // week 0
      finished('CHK-2', '2026-03-03T10:00:00.000Z'), // week 1
      finished('CHK-3', '2026-03-04T10:00:00.000Z'), // week 1
      finished('CHK-4', '2026-02-20T10:00:00.000Z'), // week 3
      historyRow('CHK-8', '2026-02-25T10:00:00.000Z', 'Fix Version', '1', ''), // week 2: -1
      historyRow('CHK-9', '2026-03-12T10:00:00.000Z', 'Fix Version', '', '1'), // week 0: +1
      finished('LED-1', '2026-03-11T10:00:00.000Z'), // week 0
      finished('LED-8', '2026-03-10T10:00:00.000Z'), // week 0
      finished('LED-9', '2026-02-25T10:00:00.000Z'), // week 2
      finished('LED-7', '2026-02-10T10:00:00.000Z'),
    ],
    work_item_links: [blocksLinkRow('LED-2', 'CHK-6', '2026-03-01T10:00:00.000Z')],
  });
  read = await readForecastInputs(store, { params: testParams(), asOf: T, windowWeeks: 4, minDoneItems: 3, minWeeks: 2 });
});

afterAll(async () => {
  await store.close();
});

describe('forecast inputs read from the store at an instant', () => {
  it('lists the milestones open at the instant with a commitment made by then', () => {
    expect(read.map((r) => r.key).sort()).toEqual(['jira:version/1', 'jira:version/2']);
    const a = byKey('jira:version/1');
    expect(a).toMatchObject({ program: 'payments', team: 'checkout' });
    expect(a.inputs).toMatchObject({
      source: 'jira',
      milestoneId: 'version/1',
      name: 'Checkout 2.0',
      today: '2026-03-16',
      committed: '2026-04-30',
    });
    expect(a.inputs.asOf).toEqual(T);
  });

  it('counts the remaining items and points and the done items', () => {
    // Open: CHK-5 (3 points), CHK-6 (5), CHK-7, CHK-9; done: CHK-1..4; CHK-8 left, CHK-10 came later.
    expect(byKey('jira:version/1').inputs).toMatchObject({ remainingItems: 4, remainingPoints: 8, doneItems: 4 });
    // No item of the ledger version has points.
    // Ledger 1.0 has one done item of its own; its forecast rests on the ledger team's pace, so the
    // history rule counts the team's done items in the window: LED-9, LED-1 and LED-8.
    expect(byKey('jira:version/2').inputs).toMatchObject({ remainingItems: 2, remainingPoints: null, doneItems: 3, milestoneDoneItems: 1 });
  });

  it("takes a milestone's own weekly throughput when it has the history, zero weeks included", () => {
    const a = byKey('jira:version/1').inputs;
    // Oldest first: week 3 CHK-4, week 2 none, week 1 CHK-2 and CHK-3, week 0 CHK-1.
    expect(a.throughputBasis).toBe('milestone');
    expect(a.throughput).toEqual([1, 0, 2, 1]);
    expect(a.teams).toEqual(['checkout']);
    expect(a.historyWeeks).toBe(4);
  });

  it("falls back on the team's throughput times the milestone's share of the team's done items", () => {
    const b = byKey('jira:version/2').inputs;
    // One done item over two weeks: too little. Ledger's done items in the window: LED-9 (week 2), LED-1
    // and LED-8 (week 0). The version was committed on 03-02: since then the team did LED-1 and LED-8,
    // and the version one of those two, so its share is 1/2 of the team's weekly throughput.
    expect(b.throughputBasis).toBe('team share');
    expect(b.throughput).toEqual([0, 0.5, 0, 1]);
    // Due 04-15, 4 weeks and 2 days after the instant: growth goes on for 5 weeks.
    expect(b.growthWeeks).toBe(5);
    expect(b.teams).toEqual(['ledger']);
  });

  it('gives the net items added per whole week since the commit point', () => {
    // Six whole weeks from 02-02 00:00: CHK-8 out in week 2, CHK-7 created in week 1, CHK-9 in week 0.
    expect(byKey('jira:version/1').inputs.growth).toEqual([0, 0, 0, -1, 1, 1]);
    expect(byKey('jira:version/2').inputs.growth).toEqual([0, 0]);
  });

  it("groups the open blocking links by blocker, with the blocker's due date, idle days and milestone", () => {
    const a = byKey('jira:version/1');
    // Due 03-30: two weeks; last updated Monday 03-09: Tuesday to Friday idle.
    expect(a.inputs.blockers).toEqual([
      { blocker: 'LED-2', blockerTeam: 'ledger', blockerTitle: 'LED-2 title', blocked: ['CHK-6'], finishWeeks: [2], idleBusinessDays: 4 },
    ]);
    expect(a.blockerMilestones).toEqual({ 'LED-2': 'jira:version/2' });
    expect(a.blockerDueWeeks).toEqual({ 'LED-2': 2 });
    expect(byKey('jira:version/2').inputs.blockers).toEqual([]);
  });

  it('lists the items behind each input when asked', async () => {
    const withEvidence = await readForecastInputs(store, {
      params: testParams(),
      asOf: T,
      windowWeeks: 4,
      minDoneItems: 3,
      minWeeks: 2,
      evidence: true,
    });
    const a = withEvidence.find((r) => r.key === 'jira:version/1')!;
    expect(a.inputs).toEqual(byKey('jira:version/1').inputs);
    expect(a.evidence).toEqual({
      remaining: [
        { key: 'CHK-5', points: 3 },
        { key: 'CHK-6', points: 5 },
        { key: 'CHK-7', points: null },
        { key: 'CHK-9', points: null },
      ],
      // Samples oldest first, as a.inputs.throughput [1, 0, 2, 1].
      done: [
        { key: 'CHK-4', doneAt: '2026-02-20T10:00:00.000Z', sample: 0 },
        { key: 'CHK-2', doneAt: '2026-03-03T10:00:00.000Z', sample: 2 },
        { key: 'CHK-3', doneAt: '2026-03-04T10:00:00.000Z', sample: 2 },
        { key: 'CHK-1', doneAt: '2026-03-10T10:00:00.000Z', sample: 3 },
      ],
      // As a.inputs.growth [0, 0, 0, -1, 1, 1].
      growth: [
        { key: 'CHK-8', at: '2026-02-25T10:00:00.000Z', change: -1, sample: 3 },
        { key: 'CHK-7', at: '2026-03-05T09:00:00.000Z', change: 1, sample: 4 },
        { key: 'CHK-9', at: '2026-03-12T10:00:00.000Z', change: 1, sample: 5 },
      ],
      share: null,
      // One released version is too few for a cadence: no peers behind one.
      peers: [],
      split: [],
    });
    // The team's done items stand behind a team-share pace, scaled by the milestone's share.
    expect(withEvidence.find((r) => r.key === 'jira:version/2')!.evidence!.share).toBe(0.5);
    expect(withEvidence.find((r) => r.key === 'jira:version/2')!.evidence!.done.map((d) => [d.key, d.sample])).toEqual([
      ['LED-9', 1],
      ['LED-8', 3],
      ['LED-1', 3],
    ]);
    expect(byKey('jira:version/1').evidence).toBeUndefined();
  });

  it('reads items as they stood at an earlier instant', async () => {
    const earlier = await readForecastInputs(store, {
      params: testParams(),
      asOf: new Date('2026-03-09T12:00:00Z'),
      windowWeeks: 4,
      minDoneItems: 3,
      minWeeks: 2,
    });
    const a = earlier.find((r) => r.key === 'jira:version/1')!.inputs;
    // CHK-1 was done on 03-10: still open then.
    expect(a).toMatchObject({ doneItems: 3, today: '2026-03-09' });
    expect(a.throughput).toEqual([0, 1, 0, 2]);
  });

  it("reads a team's weekly throughput for a what-if", async () => {
    expect(await readTeamThroughput(store, { params: testParams(), asOf: T, windowWeeks: 4, team: 'ledger' })).toEqual([0, 1, 0, 2]);
  });

  it('says what is wrong with the window', async () => {
    await expect(readForecastInputs(store, { params: testParams(), asOf: T, windowWeeks: 0 })).rejects.toThrow(/window of 0 weeks/);
  });
});

/**
 * Cadence: a team's released versions, read at the same instant T. Checkout R1..R3 were released on
 * 01-16, 02-06 and 02-27; R4 is open, due 03-20 (4 days after T's day). Hand-worked:
 * - R1 released with A2 open: A2 moved to R2 that afternoon (carried over); R2 released with nothing
 *   open (A2 done 01-25, A3 02-01); R3 released with A4 still in it and open (left open).
 * - R2's date was 02-02 until 02-03, when it moved to 02-06: four days before its release day (02-02)
 *   the date was 02-02, so it finished 4 days late by the date it had 4 days before; R1 and R3 on theirs.
 */
const cadenceItem = workItemMaker({ programOf: PROGRAM, createdAt: '2025-12-01T09:00:00.000Z', updatedAt: '2026-03-15T09:00:00.000Z' });

/** The inputs at T with a cadence read from at least three peers. */
const cadenceInputs = (store: Store, o: Partial<Parameters<typeof readForecastInputs>[1]> = {}): Promise<OpenMilestone[]> =>
  readForecastInputs(store, {
    params: testParams(),
    asOf: T,
    windowWeeks: 4,
    minDoneItems: 1,
    minWeeks: 1,
    cadence: { method: 'auto', peers: 12, minPeers: 3, carryOverShare: 0.5 },
    ...o,
  });

describe('a cadence read from the finished milestones of the team', () => {
  let cadenceStore: Store;
  const readAt = (o: Partial<Parameters<typeof readForecastInputs>[1]> = {}) => cadenceInputs(cadenceStore, o);

  beforeAll(async () => {
    cadenceStore = await testStore();
    const item = cadenceItem;
    await insertTables(cadenceStore, {
      ...checkoutTrain(),
      work_items: [
        item('A1', 'story', 'checkout', { ...done, fix_versions: ['version/11'] }),
        item('A2', 'story', 'checkout', { ...done, fix_versions: ['version/12'] }),
        item('A3', 'story', 'checkout', { ...done, fix_versions: ['version/12'] }),
        item('A4', 'story', 'checkout', { fix_versions: ['version/13'] }),
        item('A5', 'story', 'checkout', { fix_versions: ['version/14'] }),
        item('A6', 'story', 'checkout', { ...done, fix_versions: ['version/14'] }),
      ],
      work_item_history: [
        finished('A1', '2026-01-10T10:00:00.000Z'),
        historyRow('A2', '2026-01-16T15:00:00.000Z', 'Fix Version', '11', '12'),
        finished('A2', '2026-01-25T10:00:00.000Z'),
        finished('A3', '2026-02-01T10:00:00.000Z'),
        finished('A6', '2026-03-10T10:00:00.000Z'),
      ],
    });
  });
  afterAll(async () => {
    await cadenceStore.close();
  });

  it('counts the releases with open work, carried over or left, and how late each was by the date it had as long before', async () => {
    const [r4] = await readAt();
    expect(r4!.key).toBe('jira:version/14');
    expect(r4!.inputs.cadence).toEqual({
      style: 'date',
      from: 'team',
      peers: 3,
      withOpenItems: 2,
      medianOpenItems: 1,
      leadDays: 4,
      slipDays: [0, 4, 0],
      orgSlipDays: [0, 4, 0],
    });
    const [explained] = await readAt({ evidence: true });
    expect(explained!.evidence!.peers).toEqual([
      { key: 'jira:version/11', name: 'Checkout R1', doneDay: '2026-01-16', dateThen: '2026-01-16', slipDays: 0, openItems: 1 },
      { key: 'jira:version/12', name: 'Checkout R2', doneDay: '2026-02-06', dateThen: '2026-02-02', slipDays: 4, openItems: 0 },
      { key: 'jira:version/13', name: 'Checkout R3', doneDay: '2026-02-27', dateThen: '2026-02-27', slipDays: 0, openItems: 1 },
    ]);
  });

  it('reads no lateness from a finished milestone whose date was first seen after it finished', async () => {
    // Ledger L1..L3 released; L2's date was first seen on 02-10, after its release on 02-06 (pulled late):
    // it carried work over, but there is no plan on record to be late against.
    const late = await testStore();
    try {
      const item = cadenceItem;
      await insertTables(late, {
        ...releaseRows('ledger', [
          { n: 21, name: 'Ledger L1', released: '2026-01-16', dates: [['2025-12-01', '2026-01-16']] },
          { n: 22, name: 'Ledger L2', released: '2026-02-06', dates: [['2026-02-10', '2026-02-06']] },
          { n: 23, name: 'Ledger L3', released: '2026-02-27', dates: [['2026-02-01', '2026-02-25']] },
          { n: 24, name: 'Ledger L4', dates: [['2026-02-20', '2026-03-20']] },
        ]),
        work_items: [
          item('B1', 'story', 'ledger', { ...done, fix_versions: ['version/21'] }),
          item('B2', 'story', 'ledger', { fix_versions: ['version/23'] }),
          item('B3', 'story', 'ledger', { fix_versions: ['version/22'] }),
          item('B4', 'story', 'ledger', { fix_versions: ['version/24'] }),
        ],
        work_item_history: [finished('B1', '2026-01-10T10:00:00.000Z')],
      });
      const [l4] = await cadenceInputs(late, { evidence: true });
      expect(l4!.inputs.cadence).toMatchObject({ style: 'date', peers: 3, withOpenItems: 2, slipDays: [0, 2], orgSlipDays: [0, 2] });
      expect(l4!.evidence!.peers.map((p) => p.name)).toEqual(['Ledger L1', 'Ledger L3']);
    } finally {
      await late.close();
    }
  });

  it('reads a cadence by scope when too few finished with open work, and none with the throughput method or too few peers', async () => {
    const [byScope] = await readAt({ cadence: { method: 'auto', peers: 12, minPeers: 3, carryOverShare: 0.7 } });
    expect(byScope!.inputs.cadence).toMatchObject({ style: 'scope', withOpenItems: 2, peers: 3 });
    const [forced] = await readAt({ cadence: { method: 'cadence', peers: 12, minPeers: 3, carryOverShare: 0.7 } });
    expect(forced!.inputs.cadence?.style).toBe('date');
    const [off] = await readAt({ cadence: { method: 'throughput', peers: 12, minPeers: 3, carryOverShare: 0.5 } });
    expect(off!.inputs.cadence).toBeUndefined();
    const [few] = await readAt({ cadence: { method: 'auto', peers: 12, minPeers: 4, carryOverShare: 0.5 } });
    expect(few!.inputs.cadence).toBeUndefined();
    // The two most recent only.
    const [recent] = await readAt({ cadence: { method: 'auto', peers: 2, minPeers: 2, carryOverShare: 0.5 } });
    expect(recent!.inputs.cadence).toMatchObject({ peers: 2, withOpenItems: 1, slipDays: [4, 0] });
  });

  it('reads only the milestones finished by the instant', async () => {
    // On 02-10 only R1 and R2 had been released; R3 was the open one, due 02-27 (17 days on).
    const [r3] = await readAt({
      asOf: new Date('2026-02-10T12:00:00Z'),
      cadence: { method: 'auto', peers: 12, minPeers: 2, carryOverShare: 0.5 },
    });
    expect(r3!.key).toBe('jira:version/13');
    // 17 days before R2's release day (01-20) its date was 02-02: 4 days late; R1's was its only one.
    expect(r3!.inputs.cadence).toMatchObject({ peers: 2, withOpenItems: 1, leadDays: 17, slipDays: [0, 4] });
  });
});
