import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import { testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
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
    });
    // The team's done items stand behind a team-share pace.
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
