import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blocksLinkRow, workItemRow } from '../../../test/support/rows.js';
import type { Store } from '../../../infra/store/client.js';
import type { WorkItemHistoryRow, WorkItemKind, WorkItemRow } from '../../../schemas/domain.js';
import { queryRows, testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain, testParams, type Value } from '../../../test/support/metrics.js';
import type { MetricDefinition } from '../types.js';
import { FLOW_METRICS, STALLS_NOW_SQL } from './program-flow.js';

/**
 * Hand-computed scenarios at the level of the domain tables. Weeks start on Monday: week 1 is
 * 2026-03-02 .. 03-08 (its end is 03-09 00:00 UTC), week 2 is 03-09 .. 03-15 (end 03-16 00:00); the
 * month is March (end 04-01 00:00). The time zone is UTC.
 */

const PROGRAM: Record<string, string> = { checkout: 'payments', search: 'discovery' };
const def = (id: string): MetricDefinition => {
  const d = FLOW_METRICS.find((m) => m.id === id);
  if (d === undefined) throw new Error(`no metric ${id}`);
  return d;
};

function wi(key: string, kind: WorkItemKind, team: string, extra: Partial<WorkItemRow> = {}): WorkItemRow {
  const status = extra.status ?? 'To Do';
  return workItemRow({
    item_id: `id-${key}`,
    key,
    project: key.split('-')[0]!,
    type: kind,
    kind,
    status,
    status_category: 'todo',
    priority: 'Medium',
    priority_rank: 3,
    assignee: 'dana',
    reporter: 'sam',
    created_at: '2026-02-01T00:00:00.000Z',
    updated_at: '2026-02-01T00:00:00.000Z',
    summary: `Title of ${key}`,
    team,
    program: PROGRAM[team] ?? '',
    raw_event_id: 'e',
    version: 1,
    ...extra,
  });
}

let historyIds = 0;
function change(
  key: string,
  at: string,
  field: string,
  from: string,
  to: string,
  values?: { from: string; to: string },
): WorkItemHistoryRow {
  historyIds += 1;
  return {
    source: 'jira',
    item_id: `id-${key}`,
    history_id: String(historyIds),
    field,
    field_id: field,
    from_value: values?.from ?? '',
    from_string: from,
    to_value: values?.to ?? '',
    to_string: to,
    changed_at: at,
    author: 'dana',
    raw_event_id: 'e',
    version: 1,
  };
}

/** Status changes of one item: [at, from, to] in order. */
const statuses = (key: string, steps: Array<[string, string, string]>): WorkItemHistoryRow[] =>
  steps.map(([at, from, to]) => change(key, at, 'status', from, to));

const blocks = blocksLinkRow;

type Reader = (
  metric: string,
  scope: `${'org' | 'program' | 'team' | 'service' | 'repo'}:${string}`,
  period: 'day' | 'week' | 'month',
  start: string,
) => Promise<Value | undefined>;

const items = async (
  store: Store,
  id: string,
  scope: `team:${string}` | `org:org` | `program:${string}`,
  period: 'day' | 'week' | 'month',
  start: string,
  params = testParams(),
) => (await explain(store, def(id), scope, period, start, params)).map((r) => r.item);

describe('dependency stall (item 15)', () => {
  let store: Store;
  let read: Reader;
  // 'Highest' blockers stall after 2 business days, others after the default 5.
  const params = testParams({ stall_days: 5, stall_priorities: ['highest'], stall_priority_days: [2] });

  beforeAll(async () => {
    store = await testStore();
    const work = [
      // L1: B1 (search) idle since its last update Wed 02-25: by 03-09 the weekdays 02-26, 02-27, 03-02..03-06 passed (7 >= 5).
      wi('B-1', 'task', 'search', {
        status: 'In Progress',
        status_category: 'in_progress',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-02-25T10:00:00Z',
      }),
      wi('D-1', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // L2: B2 'Highest' (threshold 2): moved to In Progress Wed 03-04; by 03-09: Thu 03-05, Fri 03-06 (2 >= 2) stalled.
      // A change on Thu 03-12 resets it: by 03-16 only Fri 03-13 passed (1 < 2). By 04-01 stalled again.
      wi('B-2', 'task', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        priority: 'Highest',
        priority_rank: 1,
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-03-12T09:00:00Z',
      }),
      wi('D-2', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // L3: B3 is busy (changes Fri 03-06 and Fri 03-13: 0 idle days at both week ends) but due 03-20, after D3's 03-13.
      wi('B-3', 'task', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        due_date: '2026-03-20',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-03-13T09:00:00Z',
      }),
      wi('D-3', 'story', 'checkout', { due_date: '2026-03-13', created_at: '2026-02-20T00:00:00Z' }),
      // L4: B4 (search) idle since its creation 02-20 (its last update 03-10 is after week 1's end), done 03-10:
      // stalled (cross-team) at 03-09, not at 03-16 nor 04-01.
      wi('B-4', 'task', 'search', {
        status: 'Done',
        status_category: 'done',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-03-10T12:00:00Z',
      }),
      wi('D-4', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // L5: B5 idle, but the blocked item D5 was done 03-03: not an open dependency.
      wi('B-5', 'task', 'search', { created_at: '2026-02-01T00:00:00Z' }),
      wi('D-5', 'story', 'checkout', {
        status: 'Done',
        status_category: 'done',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-03-03T00:00:00Z',
      }),
      // L6: a removed link (deleted row): never counted.
      wi('D-6', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // L7: B6 (search) idle since 02-01 (a Sunday); the link was made 03-10: counted from week 2 on.
      wi('B-6', 'task', 'search', { created_at: '2026-02-01T00:00:00Z' }),
      wi('D-7', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // L8: B7 has no owning team, idle since 02-01: stalled, but not cross-team (the blocker's team is unknown).
      wi('B-7', 'task', '', { created_at: '2026-02-01T00:00:00Z' }),
      wi('D-9', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // A 'relates' link from an idle item is not a dependency.
      wi('D-8', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
    ];
    const history = [
      ...statuses('B-2', [['2026-03-04T10:00:00Z', 'To Do', 'In Progress']]),
      change('B-2', '2026-03-12T09:00:00Z', 'labels', '', 'api'),
      change('B-3', '2026-03-06T09:00:00Z', 'labels', '', 'api'),
      change('B-3', '2026-03-13T09:00:00Z', 'labels', 'api', 'api web'),
      ...statuses('B-4', [['2026-03-10T12:00:00Z', 'In Progress', 'Done']]),
      ...statuses('D-5', [['2026-03-03T00:00:00Z', 'To Do', 'Done']]),
    ];
    const links = [
      blocks('B-1', 'D-1', '2026-02-26T00:00:00Z'),
      blocks('B-2', 'D-2', '2026-02-26T00:00:00Z'),
      blocks('B-3', 'D-3', '2026-03-03T10:00:00Z'),
      blocks('B-4', 'D-4', null),
      blocks('B-5', 'D-5', '2026-02-26T00:00:00Z'),
      blocks('B-1', 'D-6', '2026-02-26T00:00:00Z'),
      blocks('B-1', 'D-6', null, { version: 2, is_deleted: 1 }),
      blocks('B-6', 'D-7', '2026-03-10T00:00:00Z'),
      blocks('B-7', 'D-9', '2026-02-26T00:00:00Z'),
      blocks('B-5', 'D-8', '2026-02-26T00:00:00Z', { link_type: 'relates', raw_type: 'Relates' }),
    ];
    await insertTables(store, { work_items: work, work_item_history: history, work_item_links: links });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.item === 15),
      '2026-03-02',
      '2026-03-16',
      params,
    );
  });
  afterAll(() => store.close());

  it('counts the stalled open blocking links at each period end, for the blocked team', async () => {
    // Week 1: L1 (idle 7), L2 (idle 2, Highest), L3 (due after), L4 (idle, blocker done only later), L8 = 5, all blocked
    // items checkout's.
    expect(await read('dependency_stalls', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 5, sample_size: 5 });
    expect(await read('dependency_stalls', 'program:payments', 'week', '2026-03-02')).toMatchObject({ value: 5 });
    // The blockers' team is not charged.
    expect(await read('dependency_stalls', 'team:search', 'week', '2026-03-02')).toBeUndefined();
    expect(await items(store, 'dependency_stalls', 'team:checkout', 'week', '2026-03-02', params)).toEqual([
      'jira B-1 blocks D-1',
      'jira B-2 blocks D-2',
      'jira B-3 blocks D-3',
      'jira B-4 blocks D-4',
      'jira B-7 blocks D-9',
    ]);
    // Week 2: L1, L3, L7, L8 = 4 (L2 was touched 03-12, L4's blocker is done).
    expect(await read('dependency_stalls', 'org:org', 'week', '2026-03-09')).toMatchObject({ value: 4, sample_size: 4 });
    expect(await items(store, 'dependency_stalls', 'org:org', 'week', '2026-03-09', params)).toEqual([
      'jira B-1 blocks D-1',
      'jira B-3 blocks D-3',
      'jira B-6 blocks D-7',
      'jira B-7 blocks D-9',
    ]);
    // March (end 04-01): L1, L2 (idle again since 03-12), L3, L7, L8 = 5.
    expect(await read('dependency_stalls', 'team:checkout', 'month', '2026-03-01')).toMatchObject({ value: 5, sample_size: 5 });
    // The reasons are shown: idle days with the threshold, and the due dates.
    const why = await explain(store, def('dependency_stalls'), 'team:checkout', 'week', '2026-03-02', params);
    expect(why.find((r) => r.item === 'jira B-2 blocks D-2')?.detail).toContain(
      "idle 2 business days since 2026-03-04 10:00:00.000 (threshold 2 for priority 'Highest')",
    );
    expect(why.find((r) => r.item === 'jira B-3 blocks D-3')?.detail).toContain(
      'stalled at 2026-03-09 00:00:00.000: blocker due 2026-03-20 after blocked item due 2026-03-13',
    );
    expect(why.find((r) => r.item === 'jira B-1 blocks D-1')?.detail).toContain(
      'idle 7 business days since 2026-02-25 10:00:00.000 (threshold 5',
    );
  });

  it('with the default threshold for every priority, the Highest blocker is not stalled after 2 days', async () => {
    const plain = testParams({ stall_days: 5, stall_priorities: [], stall_priority_days: [] });
    expect(await items(store, 'dependency_stalls', 'team:checkout', 'week', '2026-03-02', plain)).toEqual([
      'jira B-1 blocks D-1',
      'jira B-3 blocks D-3',
      'jira B-4 blocks D-4',
      'jira B-7 blocks D-9',
    ]);
  });

  it('counts the cross-team subset', async () => {
    // Week 1: L1 (search -> checkout) and L4 (search -> checkout); week 2: L1 and L7; March: L1 and L7. Never L8: its
    // blocker has no team.
    expect(await read('dependency_stalls_cross_team', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 2, sample_size: 2 });
    expect(await read('dependency_stalls_cross_team', 'org:org', 'week', '2026-03-09')).toMatchObject({ value: 2 });
    expect(await read('dependency_stalls_cross_team', 'program:payments', 'month', '2026-03-01')).toMatchObject({ value: 2 });
    expect(await items(store, 'dependency_stalls_cross_team', 'team:checkout', 'week', '2026-03-02', params)).toEqual([
      'jira B-1 blocks D-1',
      'jira B-4 blocks D-4',
    ]);
  });

  it('lists the links stalled now for alerts, cross-team first, with days stalled and reason', async () => {
    const rows = await queryRows<{
      blocker: string;
      blocked: string;
      blocker_team: string;
      blocked_team: string;
      cross_team: number;
      days_stalled: string;
      reason: string;
    }>(store, STALLS_NOW_SQL, { ...params, now: Date.parse('2026-04-01T09:00:00Z') / 1000 });
    // Open now: L1, L2, L3, L7, L8 (B4 is done, D5 is done); all idle since March at the latest. Cross-team first, then
    // the longest idle.
    expect(rows.map((r) => `${r.blocker}>${r.blocked}`)).toEqual(['B-6>D-7', 'B-1>D-1', 'B-7>D-9', 'B-2>D-2', 'B-3>D-3']);
    expect(rows.map((r) => Number(r.cross_team))).toEqual([1, 1, 0, 0, 0]);
    expect(rows[0]).toMatchObject({ blocker_team: 'search', blocked_team: 'checkout' });
    const d = rows.map((r) => Number(r.days_stalled));
    // B6 idle since Sun 02-01, B1 since Wed 02-25: the weekdays 02-02 .. 02-25 (18) separate them.
    expect(d[0]! - d[1]!).toBe(18);
    // B2 idle since Thu 03-12, B3 since Fri 03-13: one weekday apart.
    expect(d[3]! - d[4]!).toBe(1);
    // B6 and B7 both idle since 02-01.
    expect(d[0]).toBe(d[2]);
    expect(rows[4]!.reason).toContain('blocker due 2026-03-20 after blocked item due 2026-03-13');
    expect(rows[4]!.reason).toContain('idle');
  });
});

describe('risk burn-down (item 16)', () => {
  let store: Store;
  let read: Reader;

  beforeAll(async () => {
    store = await testStore();
    const work = [
      // R1: high (severity), owned, open throughout.
      wi('R-1', 'risk', 'checkout', { severity: 'High', status: 'Open', created_at: '2026-02-10T00:00:00Z' }),
      // R2: no severity, priority Highest (rank 1) -> high; raised 03-03; owned until its assignee was removed at
      // 03-09 00:00, the instant week 1 ended: a change at a period's end belongs to the next period.
      wi('R-2', 'risk', 'checkout', {
        priority: 'Highest',
        priority_rank: 1,
        assignee: '',
        status: 'Mitigating',
        status_category: 'in_progress',
        created_at: '2026-03-03T00:00:00Z',
      }),
      // R3: low, resolved 03-04, archived 03-20. No item is 'Resolved' now: Jira's default makes it a done category status.
      wi('R-3', 'risk', 'checkout', { severity: 'Low', status: 'Archived', status_category: 'done', created_at: '2026-02-01T00:00:00Z' }),
      // R9: high, recorded 03-10 already mitigated (no changelog): live in week 2 and done at its end.
      wi('R-9', 'risk', 'checkout', { severity: 'High', status: 'Done', status_category: 'done', created_at: '2026-03-10T00:00:00Z' }),
      // R8: high, mitigated 03-04: live in week 1 only.
      wi('R-8', 'risk', 'checkout', { severity: 'high', status: 'Done', status_category: 'done', created_at: '2026-02-20T00:00:00Z' }),
      // R4: critical -> high, never owned, mitigated 03-11 ('Mitigated' is a done category status on this site).
      wi('R-4', 'risk', 'checkout', {
        severity: 'Critical',
        assignee: '',
        status: 'Mitigated',
        status_category: 'done',
        created_at: '2026-02-15T00:00:00Z',
      }),
      // R5: medium, search's, open.
      wi('R-5', 'risk', 'search', { severity: 'Medium', status: 'Open', created_at: '2026-03-04T00:00:00Z' }),
      // R7: high, raised 03-12 and mitigated 03-13.
      wi('R-7', 'risk', 'checkout', {
        severity: 'High',
        assignee: 'sam',
        status: 'Done',
        status_category: 'done',
        created_at: '2026-03-12T00:00:00Z',
      }),
      // A high-severity bug is not a risk.
      wi('X-1', 'bug', 'checkout', { severity: 'High', status: 'Open', created_at: '2026-02-10T00:00:00Z' }),
    ];
    const history = [
      change('R-2', '2026-03-09T00:00:00Z', 'assignee', 'Dana', '', { from: 'acct-1', to: '' }),
      ...statuses('R-2', [['2026-03-05T00:00:00Z', 'Open', 'Mitigating']]),
      ...statuses('R-3', [
        ['2026-03-04T00:00:00Z', 'Open', 'Resolved'],
        ['2026-03-20T00:00:00Z', 'Resolved', 'Archived'],
      ]),
      ...statuses('R-8', [['2026-03-04T00:00:00Z', 'Open', 'Done']]),
      ...statuses('R-4', [['2026-03-11T00:00:00Z', 'Open', 'Mitigated']]),
      ...statuses('R-7', [['2026-03-13T00:00:00Z', 'Open', 'Done']]),
    ];
    await insertTables(store, { work_items: work, work_item_history: history });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.item === 16),
      '2026-03-02',
      '2026-03-16',
    );
  });
  afterAll(() => store.close());

  it('counts open risks by severity at each period end', async () => {
    // End of week 1 (03-09): R1, R2, R4 (high, checkout), R5 (medium, search); R3 resolved and R8 done 03-04.
    expect(await read('risks_open', 'org:org', 'week', '2026-03-02')).toMatchObject({ value: 4, sample_size: 4 });
    expect(await read('risks_open', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 3 });
    expect(await read('risks_open_high', 'program:payments', 'week', '2026-03-02')).toMatchObject({ value: 3 });
    expect(await read('risks_open_medium', 'team:search', 'week', '2026-03-02')).toMatchObject({ value: 1 });
    expect(await read('risks_open_low', 'org:org', 'week', '2026-03-02')).toBeUndefined();
    expect(await items(store, 'risks_open_high', 'org:org', 'week', '2026-03-02')).toEqual([
      'R-1 "Title of R-1"',
      'R-2 "Title of R-2"',
      'R-4 "Title of R-4"',
    ]);
    // End of week 2 (03-16): R1, R2 (high), R5 (medium); R4 and R7 are done.
    expect(await read('risks_open', 'org:org', 'week', '2026-03-09')).toMatchObject({ value: 3 });
    expect(await read('risks_open_high', 'team:checkout', 'week', '2026-03-09')).toMatchObject({ value: 2 });
    // End of March: as week 2.
    expect(await read('risks_open', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 3 });
    expect(await read('risks_open_high', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 2 });
  });

  it('gives the share of high risks live in the period that are done at its end', async () => {
    // Week 1: live R1, R2 (raised 03-03), R4, R8; R8 done at 03-09 -> 1 / 4.
    expect(await read('high_risks_mitigated_share', 'team:checkout', 'week', '2026-03-02')).toEqual({
      value: 0.25,
      numerator: 1,
      denominator: 4,
      sample_size: 4,
    });
    // Week 2: live R1, R2, R4, R7 (raised 03-12), R9 (raised 03-10); R8 was mitigated in week 1 and is not counted
    // again; R4, R7 and R9 done at 03-16 -> 3 / 5.
    expect(await read('high_risks_mitigated_share', 'org:org', 'week', '2026-03-09')).toEqual({
      value: 0.6,
      numerator: 3,
      denominator: 5,
      sample_size: 5,
    });
    // March: R1, R2, R4, R7, R8, R9 (R3 is low); R4, R7, R8, R9 done -> 4 / 6.
    expect(await read('high_risks_mitigated_share', 'program:payments', 'month', '2026-03-01')).toMatchObject({
      numerator: 4,
      denominator: 6,
    });
    const why = await explain(store, def('high_risks_mitigated_share'), 'org:org', 'week', '2026-03-09');
    expect(why.filter((r) => r.num === 1).map((r) => r.item)).toEqual(['R-4 "Title of R-4"', 'R-7 "Title of R-7"', 'R-9 "Title of R-9"']);
  });

  it('counts open high risks with no owner at the period end, from the assignee history', async () => {
    // 03-09: R4 has never had an owner; R2 still had one (removed at 03-09 00:00, after the end).
    expect(await read('high_risks_unowned', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 1 });
    expect(await items(store, 'high_risks_unowned', 'team:checkout', 'week', '2026-03-02')).toEqual(['R-4 "Title of R-4"']);
    // 03-16: R2 has lost its owner; R4 is done.
    expect(await items(store, 'high_risks_unowned', 'org:org', 'week', '2026-03-09')).toEqual(['R-2 "Title of R-2"']);
    expect(await read('high_risks_unowned', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 1 });
  });
});

describe('decision latency (item 17)', () => {
  let store: Store;
  let read: Reader;

  beforeAll(async () => {
    store = await testStore();
    const decided = { status: 'Decided', status_category: 'done' as const };
    const work = [
      // DC1: 24 h, release-critical (label case differs): within 48 h, made 03-03.
      wi('DC-1', 'decision', 'checkout', {
        ...decided,
        labels: ['Release-Critical'],
        created_at: '2026-03-02T09:00:00Z',
        resolved_at: '2026-03-03T09:00:00Z',
      }),
      // DC2: 72 h, release-blocker: missed, at its target 03-04 12:00.
      wi('DC-2', 'decision', 'checkout', {
        ...decided,
        labels: ['release-blocker'],
        created_at: '2026-03-02T12:00:00Z',
        resolved_at: '2026-03-05T12:00:00Z',
      }),
      // DC3: 6 h, search's, not release-critical.
      wi('DC-3', 'decision', 'search', { ...decided, created_at: '2026-03-04T00:00:00Z', resolved_at: '2026-03-04T06:00:00Z' }),
      // DC4: open since 02-20.
      wi('DC-4', 'decision', 'checkout', { status: 'Open', created_at: '2026-02-20T00:00:00Z' }),
      // DC5: open since 03-09 00:00, release-critical: its target passed 03-11 00:00 -> missed in week 2.
      wi('DC-5', 'decision', 'search', { status: 'Open', labels: ['release-critical'], created_at: '2026-03-09T00:00:00Z' }),
      // DC6: decided 03-03 12:00, reopened 03-04 10:00: open again.
      wi('DC-6', 'decision', 'checkout', { status: 'Reopened', created_at: '2026-03-01T00:00:00Z' }),
      // DC8: release-critical, open, its target not passed yet (created in 2099): not counted.
      wi('DC-8', 'decision', 'checkout', { status: 'Open', labels: ['release-critical'], created_at: '2099-03-02T00:00:00Z' }),
      // DC7: exactly 48 h: within target.
      wi('DC-7', 'decision', 'checkout', {
        ...decided,
        labels: ['release-critical'],
        created_at: '2026-03-10T00:00:00Z',
        resolved_at: '2026-03-12T00:00:00Z',
      }),
    ];
    const history = [
      ...statuses('DC-1', [['2026-03-03T09:00:00Z', 'Open', 'Decided']]),
      ...statuses('DC-2', [['2026-03-05T12:00:00Z', 'Open', 'Decided']]),
      ...statuses('DC-3', [['2026-03-04T06:00:00Z', 'Open', 'Decided']]),
      ...statuses('DC-6', [
        ['2026-03-03T12:00:00Z', 'Open', 'Decided'],
        ['2026-03-04T10:00:00Z', 'Decided', 'Reopened'],
      ]),
      ...statuses('DC-7', [['2026-03-12T00:00:00Z', 'Open', 'Decided']]),
    ];
    await insertTables(store, { work_items: work, work_item_history: history });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.item === 17),
      '2026-03-02',
      '2026-03-16',
    );
  });
  afterAll(() => store.close());

  it('gives the median hours from created to decided, by when decided', async () => {
    // Week 1: DC3 6, DC1 24, DC2 72 -> 24; checkout: 24, 72 -> 48 (mean of the middle two).
    expect(await read('decision_latency_p50', 'org:org', 'week', '2026-03-02')).toMatchObject({ value: 24, sample_size: 3 });
    expect(await read('decision_latency_p50', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 48, sample_size: 2 });
    // March: 6, 24, 48, 72 -> 36 (the reopened DC6 is not decided).
    expect(await read('decision_latency_p50', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 36, sample_size: 4 });
    expect(await read('decision_latency_p50', 'program:payments', 'month', '2026-03-01')).toMatchObject({ value: 48, sample_size: 3 });
    expect(await items(store, 'decision_latency_p50', 'team:checkout', 'week', '2026-03-02')).toEqual([
      'DC-1 "Title of DC-1"',
      'DC-2 "Title of DC-2"',
    ]);
  });

  it('gives the mean age of the decisions open at each period end', async () => {
    // 03-09: DC4 17 days, DC6 8 days (reopened) -> 12.5; DC5 was created at the instant the week ended.
    expect(await read('open_decision_age_days', 'org:org', 'week', '2026-03-02')).toMatchObject({ value: 12.5, sample_size: 2 });
    expect(await items(store, 'open_decision_age_days', 'org:org', 'week', '2026-03-02')).toEqual([
      'DC-4 "Title of DC-4"',
      'DC-6 "Title of DC-6"',
    ]);
    // 03-16: DC4 24, DC6 15 (checkout: 19.5), DC5 7 (search).
    expect(await read('open_decision_age_days', 'team:checkout', 'week', '2026-03-09')).toMatchObject({ value: 19.5, sample_size: 2 });
    expect(await read('open_decision_age_days', 'team:search', 'week', '2026-03-09')).toMatchObject({ value: 7, sample_size: 1 });
    // End of 03-03 (03-04 00:00): DC4 12 days, DC2 1.5 days; DC1 and DC6 were decided then -> 6.75.
    expect(await read('open_decision_age_days', 'org:org', 'day', '2026-03-03')).toMatchObject({ value: 6.75, sample_size: 2 });
  });

  it('gives the share of release-critical decisions made within the target, each counted when its outcome is known', async () => {
    // Week 1: DC1 within (03-03), DC2 missed (at 03-04 12:00) -> 1 / 2.
    expect(await read('release_critical_decisions_on_time', 'team:checkout', 'week', '2026-03-02')).toEqual({
      value: 0.5,
      numerator: 1,
      denominator: 2,
      sample_size: 2,
    });
    // Week 2: DC5 missed (search, 03-11), DC7 within at exactly 48 h (checkout, 03-12).
    expect(await read('release_critical_decisions_on_time', 'team:search', 'week', '2026-03-09')).toMatchObject({
      value: 0,
      numerator: 0,
      denominator: 1,
    });
    expect(await read('release_critical_decisions_on_time', 'program:payments', 'week', '2026-03-09')).toMatchObject({
      value: 1,
      numerator: 1,
      denominator: 1,
    });
    expect(await read('release_critical_decisions_on_time', 'org:org', 'month', '2026-03-01')).toMatchObject({
      value: 0.5,
      numerator: 2,
      denominator: 4,
    });
    const why = await explain(store, def('release_critical_decisions_on_time'), 'org:org', 'week', '2026-03-02');
    expect(why.map((r) => [r.item, r.num, r.at])).toEqual([
      ['DC-1 "Title of DC-1"', 1, '2026-03-03 09:00:00.000'],
      ['DC-2 "Title of DC-2"', 0, '2026-03-04 12:00:00.000'],
    ]);
    // A 72 h target makes DC2 on time.
    const wide = testParams({ decision_target_hours: 72 });
    const relaxed = await explain(store, def('release_critical_decisions_on_time'), 'org:org', 'week', '2026-03-02', wide);
    expect(relaxed.map((r) => r.num)).toEqual([1, 1]);
    // An open decision is not counted before its target passes (DC-8: created 2099-03-02, target 03-04 00:00).
    const open = (at: string) =>
      explain(store, def('release_critical_decisions_on_time'), 'org:org', 'week', '2099-03-02', testParams(), new Date(at));
    expect(await open('2099-03-03T23:59:59Z')).toEqual([]);
    expect((await open('2099-03-04T00:00:00Z')).map((r) => [r.item, r.num])).toEqual([['DC-8 "Title of DC-8"', 0]]);
  });
});

describe('action item closure rate (item 18)', () => {
  let store: Store;
  let read: Reader;

  beforeAll(async () => {
    store = await testStore();
    const closed = { status: 'Done', status_category: 'done' as const };
    const work = [
      // AC1 due 03-04, closed 03-04 15:00 (on the due day): on time.
      wi('AC-1', 'action', 'checkout', { ...closed, due_date: '2026-03-04' }),
      // AC2 due 03-05, closed 03-06: late.
      wi('AC-2', 'action', 'checkout', { ...closed, due_date: '2026-03-05' }),
      // AC3 due 03-06, open: not closed.
      wi('AC-3', 'action', 'search', { status: 'Open', due_date: '2026-03-06' }),
      // AC4 due 03-10, closed early (03-01): on time, in week 2.
      wi('AC-4', 'action', 'checkout', { ...closed, due_date: '2026-03-10' }),
      // AC5 has no due date: not counted.
      wi('AC-5', 'action', 'checkout', { ...closed }),
      // AC6 due 03-03, closed with no changelog: its resolution time 03-03 08:00 -> on time.
      wi('AC-6', 'action', 'checkout', {
        status: 'Closed',
        status_category: 'done',
        due_date: '2026-03-03',
        resolved_at: '2026-03-03T08:00:00Z',
      }),
      // A task is not an action item.
      wi('T-1', 'task', 'checkout', { due_date: '2026-03-04' }),
    ];
    const history = [
      ...statuses('AC-1', [['2026-03-04T15:00:00Z', 'Open', 'Done']]),
      ...statuses('AC-2', [['2026-03-06T10:00:00Z', 'Open', 'Done']]),
      ...statuses('AC-4', [['2026-03-01T10:00:00Z', 'Open', 'Done']]),
      ...statuses('AC-5', [['2026-03-04T10:00:00Z', 'Open', 'Done']]),
    ];
    await insertTables(store, { work_items: work, work_item_history: history });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.item === 18),
      '2026-03-02',
      '2026-03-16',
    );
  });
  afterAll(() => store.close());

  it('divides the items closed by their due date by the items due in the period', async () => {
    // Week 1: due AC6, AC1, AC2, AC3; on time AC6, AC1 -> 2 / 4; checkout 2 / 3; search 0 / 1.
    expect(await read('action_item_closure_rate', 'org:org', 'week', '2026-03-02')).toEqual({
      value: 0.5,
      numerator: 2,
      denominator: 4,
      sample_size: 4,
    });
    expect(await read('action_item_closure_rate', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ numerator: 2, denominator: 3 });
    expect(await read('action_item_closure_rate', 'team:search', 'week', '2026-03-02')).toMatchObject({
      value: 0,
      numerator: 0,
      denominator: 1,
    });
    // Week 2: AC4 -> 1 / 1. March: 3 / 5.
    expect(await read('action_item_closure_rate', 'program:payments', 'week', '2026-03-09')).toMatchObject({
      value: 1,
      numerator: 1,
      denominator: 1,
    });
    expect(await read('action_item_closure_rate', 'org:org', 'month', '2026-03-01')).toMatchObject({
      value: 0.6,
      numerator: 3,
      denominator: 5,
    });
    // By due day: 03-05 has AC2 only, closed late.
    expect(await read('action_item_closure_rate', 'org:org', 'day', '2026-03-05')).toMatchObject({
      value: 0,
      numerator: 0,
      denominator: 1,
    });
    const why = await explain(store, def('action_item_closure_rate'), 'org:org', 'week', '2026-03-02');
    expect(why.map((r) => [r.item, r.num])).toEqual([
      ['AC-6 "Title of AC-6"', 1],
      ['AC-1 "Title of AC-1"', 1],
      ['AC-2 "Title of AC-2"', 0],
      ['AC-3 "Title of AC-3"', 0],
    ]);
    // Days are cut in the metrics' time zone: in Tokyo AC1's close (03-04 15:00 UTC) is 03-05 00:00, a day late.
    const tokyo = await explain(store, def('action_item_closure_rate'), 'org:org', 'week', '2026-03-02', testParams({ tz: 'Asia/Tokyo' }));
    expect(tokyo.map((r) => [r.item, r.num])).toEqual([
      ['AC-6 "Title of AC-6"', 1],
      ['AC-1 "Title of AC-1"', 0],
      ['AC-2 "Title of AC-2"', 0],
      ['AC-3 "Title of AC-3"', 0],
    ]);
  });
});

describe('flow (item 19)', () => {
  let store: Store;
  let read: Reader;

  beforeAll(async () => {
    store = await testStore();
    const done = { status: 'Done', status_category: 'done' as const };
    const work = [
      // F1: in progress 03-02, blocked 03-03 .. 03-04, done 03-05: cycle 3 d, active 48 h.
      wi('CHK-1', 'story', 'checkout', done),
      // F2: in progress 03-03 12:00, review 03-04 12:00, back to Backlog 03-05 12:00, in progress 03-06 12:00, done 03-07 12:00:
      // cycle 4 d, active 72 h (24 h in Backlog is not: no item is in Backlog now, and Jira's default makes it todo).
      wi('CHK-2', 'bug', 'checkout', done),
      // F3: in progress 03-02 00:00, done 03-02 12:00, then Closed 03-03 (done to done: still done at 12:00): cycle 0.5 d, active 12 h.
      wi('SRCH-1', 'task', 'search', { status: 'Closed', status_category: 'done' }),
      // F4: straight from To Do to Done 03-04: throughput only.
      wi('CHK-4', 'story', 'checkout', done),
      // F5: a sub-task: not counted.
      wi('CHK-5', 'subtask', 'checkout', done),
      // F6: in progress 03-09, parked 03-10 00:00 .. 12:00, done 03-11: cycle 2 d, active 36 h (week 2).
      wi('CHK-6', 'story', 'checkout', done),
      // F7: in progress, not done.
      wi('CHK-7', 'story', 'checkout', { status: 'In Progress', status_category: 'in_progress' }),
      // M1: moved from search's project SRCH to checkout's CHK on 03-03: across teams.
      wi('CHK-9', 'story', 'checkout'),
      // M2: moved from a project with no owner: not counted.
      wi('CHK-10', 'story', 'checkout'),
      // M3: moved between two of checkout's projects: not across teams.
      wi('CHK-11', 'story', 'checkout'),
      wi('CKO-1', 'story', 'checkout'),
      // M4: moved out of search's project into a project with no owner: not counted (not even for the org).
      wi('ZZ-1', 'story', ''),
      // Epics (not flow items) in 'Parked': two say todo, one says in_progress: the most common, todo, is Parked's category.
      wi('EP-1', 'epic', 'checkout', { status: 'Parked', status_category: 'in_progress' }),
      wi('EP-2', 'epic', 'checkout', { status: 'Parked', status_category: 'todo' }),
      wi('EP-3', 'epic', 'checkout', { status: 'Parked', status_category: 'todo' }),
    ];
    const history = [
      ...statuses('CHK-1', [
        ['2026-03-02T00:00:00Z', 'To Do', 'In Progress'],
        ['2026-03-03T00:00:00Z', 'In Progress', 'Blocked'],
        ['2026-03-04T00:00:00Z', 'Blocked', 'In Progress'],
        ['2026-03-05T00:00:00Z', 'In Progress', 'Done'],
      ]),
      ...statuses('CHK-2', [
        ['2026-03-03T12:00:00Z', 'To Do', 'In Progress'],
        ['2026-03-04T12:00:00Z', 'In Progress', 'In Review'],
        ['2026-03-05T12:00:00Z', 'In Review', 'Backlog'],
        ['2026-03-06T12:00:00Z', 'Backlog', 'In Progress'],
        ['2026-03-07T12:00:00Z', 'In Progress', 'Done'],
      ]),
      ...statuses('SRCH-1', [
        ['2026-03-02T00:00:00Z', 'To Do', 'In Progress'],
        ['2026-03-02T12:00:00Z', 'In Progress', 'Done'],
        ['2026-03-03T00:00:00Z', 'Done', 'Closed'],
      ]),
      ...statuses('CHK-4', [['2026-03-04T00:00:00Z', 'To Do', 'Done']]),
      ...statuses('CHK-5', [
        ['2026-03-02T00:00:00Z', 'To Do', 'In Progress'],
        ['2026-03-04T00:00:00Z', 'In Progress', 'Done'],
      ]),
      ...statuses('CHK-6', [
        ['2026-03-09T00:00:00Z', 'To Do', 'In Progress'],
        ['2026-03-10T00:00:00Z', 'In Progress', 'Parked'],
        ['2026-03-10T12:00:00Z', 'Parked', 'In Progress'],
        ['2026-03-11T00:00:00Z', 'In Progress', 'Done'],
      ]),
      ...statuses('CHK-7', [['2026-03-02T00:00:00Z', 'To Do', 'In Progress']]),
      change('CHK-9', '2026-03-03T10:00:00Z', 'Key', 'SRCH-4', 'CHK-9'),
      change('CHK-10', '2026-03-03T10:00:00Z', 'Key', 'OPS-1', 'CHK-10'),
      change('CHK-11', '2026-03-03T10:00:00Z', 'Key', 'CKO-2', 'CHK-11'),
      change('ZZ-1', '2026-03-04T10:00:00Z', 'Key', 'SRCH-5', 'ZZ-1'),
    ];
    await insertTables(store, { work_items: work, work_item_history: history });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => m.item === 19),
      '2026-03-02',
      '2026-03-16',
    );
  });
  afterAll(() => store.close());

  it('gives cycle time p50 and p85 in days, by when done', async () => {
    // Week 1: 0.5, 3, 4 -> p50 3; p85 at rank 0.85 * 2 = 1.7: 3 + 0.7 * (4 - 3) = 3.7.
    expect(await read('cycle_time_p50', 'org:org', 'week', '2026-03-02')).toMatchObject({ value: 3, sample_size: 3 });
    expect((await read('cycle_time_p85', 'org:org', 'week', '2026-03-02'))?.value).toBeCloseTo(3.7, 9);
    // checkout: 3, 4 -> p50 3.5, p85 3.85.
    expect(await read('cycle_time_p50', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 3.5, sample_size: 2 });
    expect((await read('cycle_time_p85', 'program:payments', 'week', '2026-03-02'))?.value).toBeCloseTo(3.85, 9);
    // March: 0.5, 2, 3, 4 -> p50 2.5; p85 at rank 2.55: 3 + 0.55 = 3.55.
    expect(await read('cycle_time_p50', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 2.5, sample_size: 4 });
    expect((await read('cycle_time_p85', 'org:org', 'month', '2026-03-01'))?.value).toBeCloseTo(3.55, 9);
    expect(await items(store, 'cycle_time_p50', 'team:checkout', 'week', '2026-03-02')).toEqual([
      'CHK-1 "Title of CHK-1"',
      'CHK-2 "Title of CHK-2"',
    ]);
  });

  it('counts items done per team per week', async () => {
    // Week 1: checkout CHK-1, CHK-4 (no cycle), CHK-2; search SRCH-1. Week 2: CHK-6.
    expect(await read('throughput', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 3 });
    expect(await read('throughput', 'team:search', 'week', '2026-03-02')).toMatchObject({ value: 1 });
    expect(await read('throughput', 'org:org', 'week', '2026-03-02')).toMatchObject({ value: 4 });
    expect(await read('throughput', 'program:payments', 'week', '2026-03-09')).toMatchObject({ value: 1 });
    expect(await read('throughput', 'org:org', 'month', '2026-03-01')).toBeUndefined();
    expect(await items(store, 'throughput', 'team:checkout', 'week', '2026-03-02')).toEqual([
      'CHK-4 "Title of CHK-4"',
      'CHK-1 "Title of CHK-1"',
      'CHK-2 "Title of CHK-2"',
    ]);
  });

  it('gives flow efficiency as active hours over cycle hours', async () => {
    // Week 1, checkout: (48 + 72) / (72 + 96) = 120 / 168.
    const w = await read('flow_efficiency', 'team:checkout', 'week', '2026-03-02');
    expect(w).toMatchObject({ numerator: 120, denominator: 168, sample_size: 2 });
    expect(w?.value).toBeCloseTo(120 / 168, 9);
    // org: + SRCH-1 12 / 12 -> 132 / 180.
    expect(await read('flow_efficiency', 'org:org', 'week', '2026-03-02')).toMatchObject({ numerator: 132, denominator: 180 });
    // Week 2: CHK-6 36 / 48. March: + CHK-6 -> 168 / 228.
    expect(await read('flow_efficiency', 'team:checkout', 'week', '2026-03-09')).toMatchObject({
      value: 0.75,
      numerator: 36,
      denominator: 48,
    });
    expect(await read('flow_efficiency', 'org:org', 'month', '2026-03-01')).toMatchObject({
      numerator: 168,
      denominator: 228,
      sample_size: 4,
    });
  });

  it('counts items moved across teams, for the receiving team', async () => {
    expect(await read('cross_team_moves', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 1, sample_size: 1 });
    expect(await read('cross_team_moves', 'org:org', 'month', '2026-03-01')).toMatchObject({ value: 1 });
    const why = await explain(store, def('cross_team_moves'), 'program:payments', 'week', '2026-03-02');
    expect(why.map((r) => [r.item, r.detail])).toEqual([
      ['CHK-9 "Title of CHK-9"', "moved SRCH-4 -> CHK-9 at 2026-03-03 10:00:00.000: project SRCH (team 'search') to team 'checkout'"],
    ]);
  });
});

describe('snapshots of the current period', () => {
  // Wednesday 2026-03-11 12:00 UTC, mid-month and mid-week: March and the week of 03-09 are still running.
  const NOW = new Date('2026-03-11T12:00:00Z');
  let store: Store;
  let read: Reader;

  beforeAll(async () => {
    store = await testStore();
    const work = [
      // S1: blocker idle since 02-20 (Fri). Weekdays strictly between 02-20 and 03-11: 02-23..27, 03-02..06, 03-09, 03-10 = 12 >= 5.
      wi('B-20', 'task', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-02-20T00:00:00Z',
      }),
      wi('D-20', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // S2: blocker last updated Fri 03-06: by 03-11 only 03-09 and 03-10 passed (2 < 5), not stalled now.
      // At the month's end (04-01) it would be idle 17 weekdays: the month-end reading counted it.
      wi('B-21', 'task', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        created_at: '2026-02-20T00:00:00Z',
        updated_at: '2026-03-06T10:00:00Z',
      }),
      wi('D-21', 'story', 'checkout', { created_at: '2026-02-20T00:00:00Z' }),
      // Open decisions: 6.5 and 14 days old now (mean 10.25); at 04-01 they would be 27 and 34.5 days (30.75).
      wi('DEC-1', 'decision', 'checkout', { status: 'Open', created_at: '2026-03-05T00:00:00Z', updated_at: '2026-03-05T00:00:00Z' }),
      wi('DEC-2', 'decision', 'checkout', { status: 'Open', created_at: '2026-02-25T12:00:00Z', updated_at: '2026-02-25T12:00:00Z' }),
      // An open high risk with no owner, raised 03-02 00:00: 9.5 days old now.
      wi('R-20', 'risk', 'checkout', {
        severity: 'High',
        assignee: '',
        created_at: '2026-03-02T00:00:00Z',
        updated_at: '2026-03-02T00:00:00Z',
      }),
    ];
    const links = [blocks('B-20', 'D-20', '2026-02-23T00:00:00Z'), blocks('B-21', 'D-21', '2026-02-23T00:00:00Z')];
    await insertTables(store, { work_items: work, work_item_links: links });
    read = await compute(
      store,
      FLOW_METRICS.filter((m) => ['dependency_stalls', 'open_decision_age_days', 'risks_open_high', 'high_risks_unowned'].includes(m.id)),
      '2026-03-01',
      '2026-04-01',
      testParams({ stall_days: 5, stall_priorities: [], stall_priority_days: [] }),
      undefined,
      { now: NOW },
    );
  });
  afterAll(() => store.close());

  it('takes the current month and week as they stand now, not at their end', async () => {
    expect(await read('dependency_stalls', 'team:checkout', 'month', '2026-03-01')).toMatchObject({ value: 1, sample_size: 1 });
    expect(await read('dependency_stalls', 'team:checkout', 'week', '2026-03-09')).toMatchObject({ value: 1 });
    expect(await read('open_decision_age_days', 'team:checkout', 'month', '2026-03-01')).toMatchObject({ value: 10.25, sample_size: 2 });
    expect(await read('open_decision_age_days', 'team:checkout', 'week', '2026-03-09')).toMatchObject({ value: 10.25 });
    expect(await read('risks_open_high', 'team:checkout', 'month', '2026-03-01')).toMatchObject({ value: 1 });
    expect(await read('high_risks_unowned', 'team:checkout', 'month', '2026-03-01')).toMatchObject({ value: 1 });
    // Today is a running day too: its snapshot is now's.
    expect(await read('open_decision_age_days', 'team:checkout', 'day', '2026-03-11')).toMatchObject({ value: 10.25 });
  });

  it('takes a period that has ended at its end', async () => {
    // Week of 03-02 ended 03-09 00:00: S1 idle 10 weekdays (stalled), S2 none (03-07, 03-08 are a weekend); DEC-1 4 days, DEC-2 11.5 -> 7.75.
    expect(await read('dependency_stalls', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 1 });
    expect(await read('open_decision_age_days', 'team:checkout', 'week', '2026-03-02')).toMatchObject({ value: 7.75 });
    // Periods that had not started are not computed.
    expect(await read('dependency_stalls', 'team:checkout', 'week', '2026-03-16')).toBeUndefined();
    expect(await read('open_decision_age_days', 'team:checkout', 'day', '2026-03-12')).toBeUndefined();
  });

  it('explains each snapshot unit with its age at the instant it was taken', async () => {
    const at = (id: string) => explain(store, def(id), 'team:checkout', 'month', '2026-03-01', testParams(), NOW);
    expect((await at('open_decision_age_days')).map((r) => r.detail)).toEqual([
      'open (Open) since 2026-03-05 00:00:00.000: 6.5 days at 2026-03-11 12:00:00.000',
      'open (Open) since 2026-02-25 12:00:00.000: 14 days at 2026-03-11 12:00:00.000',
    ]);
    expect((await at('high_risks_unowned')).map((r) => r.detail)).toEqual([
      'open (To Do) at 2026-03-11 12:00:00.000, 9.5 days since raised 2026-03-02 00:00:00.000; high severity, no assignee',
    ]);
    const stalls = await explain(
      store,
      def('dependency_stalls'),
      'team:checkout',
      'month',
      '2026-03-01',
      testParams({ stall_days: 5, stall_priorities: [], stall_priority_days: [] }),
      NOW,
    );
    expect(stalls.map((r) => r.item)).toEqual(['jira B-20 blocks D-20']);
    expect(stalls[0]!.detail).toContain('stalled at 2026-03-11 12:00:00.000: idle 12 business days since 2026-02-20 00:00:00.000');
  });
});
