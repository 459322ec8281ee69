import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workItemRow } from '../../../test/support/rows.js';
import type { Store } from '../../../infra/store/client.js';
import type { MilestoneDateRow, MilestoneRow, WorkItemHistoryRow, WorkItemLinkRow, WorkItemRow } from '../../../schemas/domain.js';
import { testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain, testParams, type Value } from '../../../test/support/metrics.js';
import type { MetricDefinition } from '../types.js';
import { PLAN_METRICS } from './program-plan.js';

/**
 * Hand-computed scenarios at the level of the domain tables, in March and April 2026 (UTC; weeks start
 * on Monday 2026-03-02, 03-09, 03-16, 03-23, 03-30). Two teams: checkout (program payments) and search
 * (program discovery).
 */

const def = (id: string): MetricDefinition => {
  const d = PLAN_METRICS.find((m) => m.id === id);
  if (d === undefined) throw new Error(`no metric ${id}`);
  return d;
};

const CHECKOUT = { team: 'checkout', program: 'payments' };
const SEARCH = { team: 'search', program: 'discovery' };

function item(id: string, key: string, owner: { team: string; program: string }, extra: Partial<WorkItemRow> = {}): WorkItemRow {
  return workItemRow({
    item_id: id,
    key,
    project: key.split('-')[0]!,
    type: 'Story',
    kind: 'story',
    status: 'To Do',
    status_category: 'todo',
    priority: 'Medium',
    priority_rank: 3,
    created_at: '2026-02-01T00:00:00.000Z',
    updated_at: '2026-02-01T00:00:00.000Z',
    summary: key,
    ...owner,
    raw_event_id: 'e',
    version: 1,
    ...extra,
  });
}

let historyId = 0;
function change(
  itemId: string,
  at: string,
  field: string,
  fieldId: string,
  from: string,
  to: string,
  strings: { from?: string; to?: string } = {},
): WorkItemHistoryRow {
  historyId += 1;
  return {
    source: 'jira',
    item_id: itemId,
    history_id: String(historyId),
    field,
    field_id: fieldId,
    from_value: from,
    from_string: strings.from ?? from,
    to_value: to,
    to_string: strings.to ?? to,
    changed_at: at,
    author: 'jira:someone',
    raw_event_id: 'e',
    version: 1,
  };
}
const status = (itemId: string, at: string, from: string, to: string): WorkItemHistoryRow =>
  change(itemId, at, 'status', 'status', from, to, { from, to });
const sprintChange = (itemId: string, at: string, from: string, to: string): WorkItemHistoryRow =>
  change(itemId, at, 'Sprint', 'customfield_10020', from, to);

function milestone(
  id: string,
  kind: MilestoneRow['kind'],
  owner: { team: string; program: string },
  extra: Partial<MilestoneRow> = {},
): MilestoneRow {
  return {
    source: 'jira',
    milestone_id: id,
    kind,
    name: id,
    project: 'A',
    state: 'open',
    raw_state: '',
    start_date: null,
    committed_date: null,
    completed_at: null,
    ...owner,
    url: '',
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
    ...extra,
  };
}

const seen = (id: string, date: string | null, at: string, basis: MilestoneDateRow['basis'] = 'snapshot'): MilestoneDateRow => ({
  source: 'jira',
  milestone_id: id,
  committed_date: date,
  observed_at: at,
  basis,
  raw_event_id: 'e',
  version: 1,
});

function blocks(
  blocker: WorkItemRow,
  blocked: WorkItemRow,
  createdAt: string | null,
  type: WorkItemLinkRow['link_type'] = 'blocks',
): WorkItemLinkRow {
  return {
    source: 'jira',
    from_key: blocker.key,
    to_key: blocked.key,
    link_type: type,
    raw_type: type === 'blocks' ? 'Blocks' : 'Relates',
    link_id: `${blocker.key}-${blocked.key}`,
    from_item_id: blocker.item_id,
    to_item_id: blocked.item_id,
    created_at: createdAt,
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
  };
}

// ---------------------------------------------------------------------------------------------------
// Milestones (items 10-12)
//
// V1 version/1 (checkout), start 03-02, re-committed twice:
//   seen 03-01 10:00 -> 03-20 (original plan), 03-10 10:00 -> 03-27, 03-18 10:00 -> 04-03 (latest re-commit);
//   released 04-01 (completed_at 04-01 00:00); a release date 04-01 seen 04-01 12:00, after completion, is no plan.
//   Original: done 04-01 > 03-20, late. Latest: 04-01 <= 04-03, on time. Variance 04-01 - 03-20 = 12 days over a
//   planned 03-02 -> 03-20 = 18 days: 66.67 %. Re-plans: 2, both in March.
// E1 epic/100 (checkout), created 03-02 09:00 with due date 03-31 (a backfill: only the changelog knows it, as
//   the old value of the first due-date change), changed 03-05 10:00 to 03-25, done 03-24 15:00, no start date.
//   Original 03-31 and latest 03-25: on time against both. Variance 03-24 - 03-31 = -7 days. Re-plans: 1 (03-05).
// V2 version/2 (search), start 03-09, seen 03-09 08:00 -> 03-13, released 03-16: late against both.
//   Variance 3 days over a planned 4: 75 %. No re-plan.
// V3 version/3 (checkout), open: seen 03-16 12:00 -> 04-30, 04-06 12:00 -> 05-15: one re-plan in April.
// S7 sprint/7: sprints are no milestones for items 10-12, its end-date change is not a re-plan there.
// A4 version/4 (checkout) archived, never released: abandoned, left out of re-plans.
// V6 version/6, its project maps to no team: it belongs to search, which has 2 of its 3 work items (G-1, G-2,
//   G-3). Seen 04-10 -> 04-20, released 04-15: on time.

const epicItem = item('100', 'A-100', CHECKOUT, {
  kind: 'epic',
  type: 'Epic',
  created_at: '2026-03-02T09:00:00.000Z',
  due_date: '2026-03-25',
  status: 'Done',
  status_category: 'done',
  resolved_at: '2026-03-24T15:00:00.000Z',
});

const milestones: MilestoneRow[] = [
  milestone('version/1', 'version', CHECKOUT, {
    state: 'done',
    start_date: '2026-03-02',
    committed_date: '2026-04-01',
    completed_at: '2026-04-01T00:00:00.000Z',
  }),
  milestone('epic/100', 'epic', CHECKOUT, { state: 'done', committed_date: '2026-03-25', completed_at: '2026-03-24T15:00:00.000Z' }),
  milestone('version/2', 'version', SEARCH, {
    state: 'done',
    start_date: '2026-03-09',
    committed_date: '2026-03-13',
    completed_at: '2026-03-16T00:00:00.000Z',
  }),
  milestone('version/3', 'version', CHECKOUT, { committed_date: '2026-05-15' }),
  milestone('version/4', 'version', CHECKOUT, { state: 'archived', committed_date: '2026-03-20' }),
  milestone(
    'version/6',
    'version',
    { team: '', program: '' },
    {
      state: 'done',
      committed_date: '2026-04-20',
      completed_at: '2026-04-15T00:00:00.000Z',
    },
  ),
  milestone(
    'sprint/7',
    'sprint',
    { team: '', program: '' },
    {
      state: 'done',
      start_date: '2026-03-02',
      committed_date: '2026-03-13',
      completed_at: '2026-03-13T17:00:00.000Z',
    },
  ),
];

const milestoneDates: MilestoneDateRow[] = [
  seen('version/1', '2026-03-20', '2026-03-01T10:00:00.000Z'),
  seen('version/1', '2026-03-27', '2026-03-10T10:00:00.000Z'),
  seen('version/1', '2026-03-27', '2026-03-12T10:00:00.000Z'), // the same date seen again: no change
  seen('version/1', '2026-04-03', '2026-03-18T10:00:00.000Z'),
  seen('version/1', '2026-04-01', '2026-04-01T12:00:00.000Z'),
  seen('epic/100', '2026-03-25', '2026-03-05T10:00:00.000Z', 'changelog'),
  seen('epic/100', '2026-03-25', '2026-03-24T15:00:00.000Z'),
  seen('version/2', '2026-03-13', '2026-03-09T08:00:00.000Z'),
  seen('version/3', '2026-04-30', '2026-03-16T12:00:00.000Z'),
  seen('version/3', null, '2026-03-20T12:00:00.000Z'), // cleared, then set again: a cleared date is no commitment
  seen('version/3', '2026-04-30', '2026-03-21T12:00:00.000Z'),
  seen('version/3', '2026-05-15', '2026-04-06T12:00:00.000Z'),
  seen('version/4', '2026-03-10', '2026-03-02T12:00:00.000Z'),
  seen('version/4', '2026-03-20', '2026-03-09T12:00:00.000Z'),
  seen('version/6', '2026-04-20', '2026-04-10T00:00:00.000Z'),
  seen('sprint/7', '2026-03-12', '2026-03-01T00:00:00.000Z'),
  seen('sprint/7', '2026-03-13', '2026-03-05T00:00:00.000Z'),
];

// ---------------------------------------------------------------------------------------------------
// Scope (item 13)
//
// Sprint 7 starts 03-02: its commit point is the end of that day (03-03 00:00); it closed 03-13 17:00.
//   checkout committed: A-1 (3 points, added 03-01), A-2 (5, created in it, never changed), A-3 (2, added
//   03-02 15:00, planning day), A-5 (1, added 03-01), A-7 (3, added 03-01): 5 items, 14 points.
//   checkout changes: A-4 added 03-04 (8 points, week 03-02); A-5 removed 03-10 (1) and A-6 created in the
//   sprint 03-11 (2) (week 03-09). A-7 moved to sprint 8 at the close (03-13 17:00:00.400): after completion.
//   search committed: B-1 (5, added 03-01); removed 03-05 and added back 03-06: 2 changes, 10 points (week 03-02).
//   B-0 was added and removed before the commit point: neither committed nor a change.
// Version 1 is committed when first seen (03-01 10:00) and completed 04-01 00:00.
//   checkout committed: C-2 (4 points, created with the fix version). Change: C-1 added 03-05 (2 points).
// Epic 100 is committed at its creation (03-02 09:00), done 03-24 15:00.
//   search: Q-2 (of the dependencies below, unestimated: 0 points) was created in it: committed; D-1 linked
//   03-10 through 'Epic Link' (1 point).
// Version 3 had nothing in it when committed (03-16 12:00): C-3 added 03-20 has no baseline to change, and
//   version 3 is left out.
//
// March (month), count: checkout sprint 3/5 + version 1/1 = 4/6; search sprint 2/1 + epic 1/1 = 3/2; org 7/8.
// March, points: checkout 11/14 + 2/4 = 13/18; search 10/5 + 1/0 = 11/5; org 24/23.
// Week 03-02, checkout: sprint A-4 (1 item, 8 points) over 5 items / 14 points, version C-1 (1 item, 2 points)
//   over 1 / 4 => count 2/6, points 10/18. Week 03-09, checkout: sprint 2/5 and version 0/1 => 2/6, points 3/18.

const scopeItems: WorkItemRow[] = [
  item('201', 'A-1', CHECKOUT, { story_points: 3, sprints: ['sprint/7'] }),
  item('202', 'A-2', CHECKOUT, { story_points: 5, sprints: ['sprint/7'] }),
  item('203', 'A-3', CHECKOUT, { story_points: 2, sprints: ['sprint/7'] }),
  item('204', 'A-4', CHECKOUT, { story_points: 8, sprints: ['sprint/7'] }),
  item('205', 'A-5', CHECKOUT, { story_points: 1, sprints: [] }),
  item('206', 'A-6', CHECKOUT, { story_points: 2, sprints: ['sprint/7'], created_at: '2026-03-11T09:00:00.000Z' }),
  item('207', 'A-7', CHECKOUT, { story_points: 3, sprints: ['sprint/8'] }),
  item('208', 'B-0', SEARCH, { story_points: 13, sprints: [] }),
  item('209', 'B-1', SEARCH, { story_points: 5, sprints: ['sprint/7', 'sprint/9'] }),
  item('210', 'C-1', CHECKOUT, { story_points: 2, fix_versions: ['version/1'] }),
  item('211', 'C-2', CHECKOUT, { story_points: 4, fix_versions: ['version/1'] }),
  item('212', 'D-1', SEARCH, { story_points: 1, parent_id: '100' }),
  item('213', 'C-3', CHECKOUT, { story_points: 5, fix_versions: ['version/3'] }),
  item('214', 'G-1', SEARCH, { fix_versions: ['version/6'] }),
  item('215', 'G-2', SEARCH, { fix_versions: ['version/6'] }),
  item('216', 'G-3', CHECKOUT, { fix_versions: ['version/6'] }),
];

const scopeHistory: WorkItemHistoryRow[] = [
  sprintChange('201', '2026-03-01T10:00:00.000Z', '', '7'),
  sprintChange('203', '2026-03-02T15:00:00.000Z', '', '7'),
  sprintChange('204', '2026-03-04T10:00:00.000Z', '', '7'),
  sprintChange('205', '2026-03-01T10:00:00.000Z', '', '7'),
  sprintChange('205', '2026-03-10T10:00:00.000Z', '7', ''),
  sprintChange('207', '2026-03-01T10:00:00.000Z', '', '7'),
  sprintChange('207', '2026-03-13T17:00:00.400Z', '7', '8'),
  sprintChange('208', '2026-03-01T10:00:00.000Z', '', '7'),
  sprintChange('208', '2026-03-02T11:00:00.000Z', '7', ''),
  sprintChange('209', '2026-03-01T10:00:00.000Z', '', '7'),
  sprintChange('209', '2026-03-05T10:00:00.000Z', '7', ''),
  sprintChange('209', '2026-03-06T10:00:00.000Z', '', '9, 7'), // a list of sprint ids
  change('210', '2026-03-05T10:00:00.000Z', 'Fix Version', 'fixVersions', '', '1'),
  change('212', '2026-03-10T10:00:00.000Z', 'Epic Link', 'customfield_10014', '', '100'),
  change('213', '2026-03-20T10:00:00.000Z', 'Fix Version', 'fixVersions', '', '3'),
  // the epic's first due-date change: its old value is the due date it was created with
  change('100', '2026-03-05T10:00:00.000Z', 'duedate', 'duedate', '2026-03-31', '2026-03-25'),
];

// ---------------------------------------------------------------------------------------------------
// Dependencies (item 14), at each period end (weeks end 03-09, 03-16, 03-23, 03-30; March ends 04-01)
//
// X-1 (search) blocks X-2 (checkout, priority High: critical by rank <= 2), linked 03-03 00:00. X-1 is done
//   03-12 and reopened 03-18 (resolved and re-opened): open at 03-09 (6 days), not at 03-16, open again at
//   03-23 (20 days from the link) and 03-30 (27); at 04-01, 29.
// Y-1 blocks Y-2 (checkout, label release-blocker: critical), link time unknown: Y-2 became blocked 03-05
//   12:00 (status Blocked): 3.5, 10.5, 17.5, 24.5 days; 26.5 at 04-01.
// Z-1 blocks Z-2 (checkout, not critical), link time unknown, Z-2 never blocked ('Unblocked' 03-07 is no
//   blocked status): from its creation 03-06:
//   3 at 03-09, 10 at 03-16; Z-1 done 03-20: closed from then on.
// Q-1 blocks Q-2 (search, child of epic 100, a milestone: critical), linked 03-16 00:00: not open at the
//   period end 03-16 00:00 (not before it), 7 at 03-23, 14 at 03-30, 16 at 04-01.
// W-1 blocks W-2, W-2 done: a dependency of finished work, never open. R-1 relates to R-2: not a block.

const depItems: WorkItemRow[] = [
  item('301', 'X-1', SEARCH, { status: 'In Progress', status_category: 'in_progress' }),
  item('302', 'X-2', CHECKOUT, { status: 'In Progress', status_category: 'in_progress', priority: 'High', priority_rank: 2 }),
  item('303', 'Y-1', CHECKOUT),
  item('304', 'Y-2', CHECKOUT, {
    status: 'Blocked',
    status_category: 'in_progress',
    labels: ['Release-Blocker'],
    created_at: '2026-03-01T00:00:00.000Z',
  }),
  item('305', 'Z-1', CHECKOUT, { status: 'Done', status_category: 'done' }),
  item('306', 'Z-2', CHECKOUT, { status: 'Unblocked', created_at: '2026-03-06T00:00:00.000Z' }),
  item('307', 'Q-1', SEARCH),
  item('308', 'Q-2', SEARCH, { parent_id: '100' }),
  item('309', 'W-1', CHECKOUT),
  item('310', 'W-2', CHECKOUT, { status: 'Done', status_category: 'done' }),
  item('311', 'R-1', CHECKOUT),
  item('312', 'R-2', CHECKOUT),
];
const dep = (key: string): WorkItemRow => depItems.find((i) => i.key === key)!;

const depHistory: WorkItemHistoryRow[] = [
  status('301', '2026-03-12T00:00:00.000Z', 'In Progress', 'Done'),
  status('301', '2026-03-18T00:00:00.000Z', 'Done', 'In Progress'),
  status('304', '2026-03-05T12:00:00.000Z', 'To Do', 'Blocked'),
  status('305', '2026-03-01T00:00:00.000Z', 'To Do', 'In Progress'),
  status('306', '2026-03-07T00:00:00.000Z', 'To Do', 'Unblocked'), // not a blocked status
  status('305', '2026-03-20T00:00:00.000Z', 'In Progress', 'Done'),
];

const depLinks: WorkItemLinkRow[] = [
  blocks(dep('X-1'), dep('X-2'), '2026-03-03T00:00:00.000Z'),
  blocks(dep('Y-1'), dep('Y-2'), null),
  blocks(dep('Z-1'), dep('Z-2'), null),
  blocks(dep('Q-1'), dep('Q-2'), '2026-03-16T00:00:00.000Z'),
  blocks(dep('W-1'), dep('W-2'), '2026-03-02T00:00:00.000Z'),
  blocks(dep('R-1'), dep('R-2'), '2026-03-02T00:00:00.000Z', 'relates'),
];

// ---------------------------------------------------------------------------------------------------

let store: Store;
type Reader = Awaited<ReturnType<typeof compute>>;
let read: Reader;

beforeAll(async () => {
  store = await testStore();
  await insertTables(store, {
    milestones,
    milestone_dates: milestoneDates,
    work_items: [epicItem, ...scopeItems, ...depItems],
    work_item_history: [...scopeHistory, ...depHistory],
    work_item_links: depLinks,
  });
  read = await compute(store, PLAN_METRICS, '2026-03-01', '2026-05-01');
}, 120_000);

afterAll(async () => {
  await store.close();
});

async function expectValue(
  metric: string,
  scope: Parameters<Reader>[1],
  period: Parameters<Reader>[2],
  start: string,
  want: Partial<Value>,
) {
  const got = await read(metric, scope, period, start);
  expect(got, `${metric} ${scope} ${period} ${start}`).toBeDefined();
  for (const [k, v] of Object.entries(want) as Array<[keyof Value, number | null]>) {
    if (v === null) expect(got![k], `${metric} ${scope} ${period} ${start} ${k}`).toBeNull();
    else expect(got![k] as number, `${metric} ${scope} ${period} ${start} ${k}`).toBeCloseTo(v, 6);
  }
}

const items = async (metric: string, scope: Parameters<Reader>[1], period: Parameters<Reader>[2], start: string) =>
  (await explain(store, def(metric), scope, period, start)).map((r) => r.item);

describe('program delivery against plan', () => {
  it('milestone_on_time_rate_original: completed milestones done by their first committed date', async () => {
    // March: E1 on time (done 03-24, original 03-31), V2 late (done 03-16, original 03-13): 1 of 2.
    await expectValue('milestone_on_time_rate_original', 'org:org', 'month', '2026-03-01', {
      value: 0.5,
      numerator: 1,
      denominator: 2,
      sample_size: 2,
    });
    // April: V1 done 04-01 against its original 03-20: late, though it met its latest re-commit.
    await expectValue('milestone_on_time_rate_original', 'team:checkout', 'month', '2026-04-01', {
      value: 0,
      numerator: 0,
      denominator: 1,
      sample_size: 1,
    });
    await expectValue('milestone_on_time_rate_original', 'program:discovery', 'week', '2026-03-16', {
      value: 0,
      numerator: 0,
      denominator: 1,
      sample_size: 1,
    });
    // Sprint 7 closed 03-13 and version 4 was archived unreleased: neither is a completed milestone here.
    expect(await read('milestone_on_time_rate_original', 'org:org', 'week', '2026-03-09')).toBeUndefined();
    const why = await explain(store, def('milestone_on_time_rate_original'), 'team:checkout', 'month', '2026-04-01');
    expect(why.map((r) => r.item)).toEqual(['jira version version/1 "version/1"']);
    expect(why[0]!.detail).toContain('late: done 2026-04-01, original plan 2026-03-20');
    // The release date seen after completion is not a plan.
    expect(why[0]!.detail).not.toContain('2026-04-01 (snapshot');
    // V6's project names no team: it is search's, whose items it mostly holds.
    await expectValue('milestone_on_time_rate_original', 'program:discovery', 'month', '2026-04-01', {
      value: 1,
      numerator: 1,
      denominator: 1,
      sample_size: 1,
    });
    expect(await items('milestone_on_time_rate_original', 'team:search', 'month', '2026-04-01')).toEqual([
      'jira version version/6 "version/6"',
    ]);
  });

  it('milestone_on_time_rate_latest: against the last committed date before completion', async () => {
    // V1 re-committed twice, last to 04-03: on time.
    await expectValue('milestone_on_time_rate_latest', 'program:payments', 'month', '2026-04-01', {
      value: 1,
      numerator: 1,
      denominator: 1,
      sample_size: 1,
    });
    // March: E1 on time (latest 03-25, done 03-24), V2 late.
    await expectValue('milestone_on_time_rate_latest', 'org:org', 'month', '2026-03-01', { value: 0.5, numerator: 1, denominator: 2 });
    await expectValue('milestone_on_time_rate_latest', 'team:checkout', 'week', '2026-03-23', { value: 1, numerator: 1, denominator: 1 });
    expect(await items('milestone_on_time_rate_latest', 'org:org', 'month', '2026-03-01')).toEqual([
      'jira version version/2 "version/2"',
      'jira epic epic/100 "epic/100"',
    ]);
  });

  it('schedule_variance_days_p50: median of completion minus original plan, in days', async () => {
    // March: E1 -7, V2 +3: median (-7 + 3) / 2 = -2.
    await expectValue('schedule_variance_days_p50', 'org:org', 'month', '2026-03-01', { value: -2, sample_size: 2 });
    await expectValue('schedule_variance_days_p50', 'team:checkout', 'month', '2026-04-01', { value: 12, sample_size: 1 });
    await expectValue('schedule_variance_days_p50', 'program:payments', 'week', '2026-03-23', { value: -7, sample_size: 1 });
    expect(await items('schedule_variance_days_p50', 'org:org', 'month', '2026-03-01')).toEqual([
      'jira version version/2 "version/2"',
      'jira epic epic/100 "epic/100"',
    ]);
  });

  it('schedule_variance_percent_p50: variance over the planned duration, milestones with a start date only', async () => {
    // V1: 12 / 18 days = 66.67 %. March: only V2 (3 / 4 = 75 %); E1 has no start date and is left out.
    await expectValue('schedule_variance_percent_p50', 'program:payments', 'month', '2026-04-01', { value: 200 / 3, sample_size: 1 });
    await expectValue('schedule_variance_percent_p50', 'org:org', 'month', '2026-03-01', { value: 75, sample_size: 1 });
    await expectValue('schedule_variance_percent_p50', 'team:search', 'week', '2026-03-16', { value: 75, sample_size: 1 });
    expect(await read('schedule_variance_percent_p50', 'team:checkout', 'month', '2026-03-01')).toBeUndefined();
  });

  it('replan_frequency: committed-date changes per milestone-month of exposure', async () => {
    // March, checkout: V1 2 changes, exposed 03-01..03-31 = 31/31; E1 1 change, 03-02..03-24 = 23/31;
    // V3 0 changes (cleared and set back to the same date is none), 03-16..03-31 = 16/31.
    // 3 / (70/31) = 93/70. Version 4 (abandoned) and sprint 7 do not count.
    await expectValue('replan_frequency', 'team:checkout', 'month', '2026-03-01', {
      value: 93 / 70,
      numerator: 3,
      denominator: 70 / 31,
      sample_size: 3,
    });
    // April, checkout: V1 exposed 04-01 only (1/30), its 04-01 release date seen after completion is no change;
    // V3 1 change (04-06), exposed all April (30/30): 1 / (31/30).
    await expectValue('replan_frequency', 'team:checkout', 'month', '2026-04-01', {
      value: 30 / 31,
      numerator: 1,
      denominator: 31 / 30,
      sample_size: 2,
    });
    // March, org: plus V2 (no change, 03-09..03-16 = 8/31): 3 / (78/31).
    await expectValue('replan_frequency', 'org:org', 'month', '2026-03-01', { value: 93 / 78, numerator: 3, denominator: 78 / 31 });
    // Week 03-09, payments: V1 1 change (03-10), 7/31; E1 0, 7/31.
    await expectValue('replan_frequency', 'program:payments', 'week', '2026-03-09', {
      value: 31 / 14,
      numerator: 1,
      denominator: 14 / 31,
      sample_size: 2,
    });
    const why = await explain(store, def('replan_frequency'), 'team:checkout', 'month', '2026-03-01');
    expect(why.map((r) => [r.item, r.num])).toEqual([
      ['jira epic epic/100 "epic/100"', 1],
      ['jira version version/1 "version/1"', 2],
      ['jira version version/3 "version/3"', 0],
    ]);
    expect(why[0]!.detail).toContain('2026-03-31 -> 2026-03-25');
  });

  it('scope_change_rate_count: adds and removals after the commit point over committed items', async () => {
    await expectValue('scope_change_rate_count', 'team:checkout', 'month', '2026-03-01', {
      value: 4 / 6,
      numerator: 4,
      denominator: 6,
      sample_size: 2,
    });
    await expectValue('scope_change_rate_count', 'team:search', 'month', '2026-03-01', { value: 1.5, numerator: 3, denominator: 2 });
    await expectValue('scope_change_rate_count', 'org:org', 'month', '2026-03-01', {
      value: 7 / 8,
      numerator: 7,
      denominator: 8,
      sample_size: 4,
    });
    await expectValue('scope_change_rate_count', 'program:payments', 'week', '2026-03-02', { value: 2 / 6, numerator: 2, denominator: 6 });
    await expectValue('scope_change_rate_count', 'team:checkout', 'week', '2026-03-09', { value: 2 / 6, numerator: 2, denominator: 6 });
    // Week 03-16: sprint 7 closed 03-13 (A-7's move at the close is not counted); version 1 still open, no change.
    await expectValue('scope_change_rate_count', 'team:checkout', 'week', '2026-03-16', { value: 0, numerator: 0, denominator: 1 });
    // April: version 1 completed at its very start (04-01 00:00) and is not active in it; version 6 (committed
    // 04-10 with G-3 of checkout) is: 0 of 1.
    await expectValue('scope_change_rate_count', 'team:checkout', 'month', '2026-04-01', {
      value: 0,
      numerator: 0,
      denominator: 1,
      sample_size: 1,
    });
    const why = await explain(store, def('scope_change_rate_count'), 'team:checkout', 'week', '2026-03-09');
    expect(why.map((r) => r.item).sort()).toEqual([
      'jira sprint sprint/7 "sprint/7" (team checkout)',
      'jira version version/1 "version/1" (team checkout)',
    ]);
    const sprint = why.find((r) => r.item.includes('sprint/7'))!;
    expect(sprint.detail).toContain('committed 5 items, 14 points');
    expect(sprint.detail).toContain('removed A-5');
    expect(sprint.detail).toContain('added A-6');
    expect(sprint.detail).not.toContain('A-7');
  });

  it('scope_change_rate_points: the same by story points', async () => {
    await expectValue('scope_change_rate_points', 'team:checkout', 'month', '2026-03-01', {
      value: 13 / 18,
      numerator: 13,
      denominator: 18,
    });
    await expectValue('scope_change_rate_points', 'org:org', 'month', '2026-03-01', { value: 24 / 23, numerator: 24, denominator: 23 });
    await expectValue('scope_change_rate_points', 'team:checkout', 'week', '2026-03-02', {
      value: 10 / 18,
      numerator: 10,
      denominator: 18,
    });
    await expectValue('scope_change_rate_points', 'team:search', 'week', '2026-03-02', { value: 2, numerator: 10, denominator: 5 });
  });

  it('dependency_age_mean_days: open blocking dependencies at each period end', async () => {
    // Week 03-02 (end 03-09), checkout: X-2 6, Y-2 3.5, Z-2 3: mean 12.5 / 3.
    await expectValue('dependency_age_mean_days', 'team:checkout', 'week', '2026-03-02', { value: 12.5 / 3, sample_size: 3 });
    // Week 03-09 (end 03-16): X-1 is done, so X-2 waits no more: Y-2 10.5, Z-2 10.
    await expectValue('dependency_age_mean_days', 'team:checkout', 'week', '2026-03-09', { value: 10.25, sample_size: 2 });
    // Week 03-16 (end 03-23): X-1 reopened, X-2 20 again from the link; Z-1 done; Q-2 7: org mean 44.5 / 3.
    await expectValue('dependency_age_mean_days', 'org:org', 'week', '2026-03-16', { value: 44.5 / 3, sample_size: 3 });
    // March (end 04-01), payments: X-2 29, Y-2 26.5.
    await expectValue('dependency_age_mean_days', 'program:payments', 'month', '2026-03-01', { value: 27.75, sample_size: 2 });
    expect(await items('dependency_age_mean_days', 'team:checkout', 'week', '2026-03-09')).toEqual([
      'jira dependency Y-1 blocks Y-2',
      'jira dependency Z-1 blocks Z-2',
    ]);
    const why = await explain(store, def('dependency_age_mean_days'), 'org:org', 'week', '2026-03-16');
    expect(why.map((r) => r.item)).toEqual([
      'jira dependency Q-1 blocks Q-2',
      'jira dependency X-1 blocks X-2',
      'jira dependency Y-1 blocks Y-2',
    ]);
    expect(why.find((r) => r.item.includes('Y-2'))!.detail).toContain('blocked item became blocked');
    // Mid-month, on 03-20 00:00, March is taken as it stands then: Q-2 is 4 days old, not its 16 days at 04-01.
    const midMarch = await explain(
      store,
      def('dependency_age_mean_days'),
      'program:discovery',
      'month',
      '2026-03-01',
      testParams(),
      new Date('2026-03-20T00:00:00Z'),
    );
    expect(midMarch.map((r) => [r.item, r.value])).toEqual([['jira dependency Q-1 blocks Q-2', 4]]);
    expect(midMarch[0]!.detail).toMatch(/^open at 2026-03-20 00:00:00.000: .*; age 4 days from 2026-03-16 00:00:00.000/);
  });

  it('dependency_age_p90_days and critical_dependency_age_p90_days: exact p90 of the ages', async () => {
    // [3, 3.5, 6]: position 0.9 * 2 = 1.8: 3.5 + 0.8 * 2.5 = 5.5.
    await expectValue('dependency_age_p90_days', 'team:checkout', 'week', '2026-03-02', { value: 5.5, sample_size: 3 });
    // [7, 17.5, 20]: 17.5 + 0.8 * 2.5 = 19.5.
    await expectValue('dependency_age_p90_days', 'org:org', 'week', '2026-03-16', { value: 19.5, sample_size: 3 });
    // Critical only, week 03-02, checkout: [3.5, 6] (Z-2 is not critical): 3.5 + 0.9 * 2.5 = 5.75.
    await expectValue('critical_dependency_age_p90_days', 'team:checkout', 'week', '2026-03-02', { value: 5.75, sample_size: 2 });
    // March, discovery: Q-2 16 days at 04-01.
    await expectValue('critical_dependency_age_p90_days', 'program:discovery', 'month', '2026-03-01', { value: 16, sample_size: 1 });
  });

  it('critical_dependencies_open: in a milestone, high priority or a critical label', async () => {
    await expectValue('critical_dependencies_open', 'team:checkout', 'week', '2026-03-02', { value: 2, sample_size: 2 });
    // X-2 resolved at 03-16: only Y-2.
    await expectValue('critical_dependencies_open', 'team:checkout', 'week', '2026-03-09', { value: 1, sample_size: 1 });
    // Re-opened: X-2, Y-2 and Q-2 (child of a milestone epic).
    await expectValue('critical_dependencies_open', 'org:org', 'week', '2026-03-16', { value: 3, sample_size: 3 });
    await expectValue('critical_dependencies_open', 'program:discovery', 'month', '2026-03-01', { value: 1, sample_size: 1 });
    const why = await explain(store, def('critical_dependencies_open'), 'org:org', 'week', '2026-03-16');
    expect(why.map((r) => r.detail.replace(/^.*critical: /, ''))).toEqual(['in epic/100', 'priority High', 'critical label']);
    // Week 03-09 (end 03-16 00:00), org: Y-2 and Z-2 only. Q-2's link was made at that very instant, W-2 is
    // done and R-1 only relates to R-2.
    await expectValue('dependency_age_mean_days', 'org:org', 'week', '2026-03-09', { value: 10.25, sample_size: 2 });
  });

  it('periods in another time zone: a version completes on its release date, an epic at its resolution', async () => {
    const ny = await testStore();
    try {
      await insertTables(ny, {
        milestones,
        milestone_dates: milestoneDates,
        work_items: [epicItem, ...scopeItems, ...depItems],
        work_item_history: [...scopeHistory, ...depHistory],
        work_item_links: depLinks,
      });
      const params = testParams({ tz: 'America/New_York' });
      const inNy = await compute(ny, PLAN_METRICS, '2026-03-01', '2026-05-01', params);
      // V2 released 03-16 (stored as 03-16 00:00 UTC, 03-15 20:00 in New York): still the week of 03-16, 3 days late.
      const v2 = await inNy('schedule_variance_days_p50', 'team:search', 'week', '2026-03-16');
      expect(v2).toEqual({ value: 3, numerator: null, denominator: null, sample_size: 1 });
      expect(await inNy('schedule_variance_days_p50', 'team:search', 'week', '2026-03-09')).toBeUndefined();
      // V1 released 04-01: April, not March; E1 resolved 03-24 15:00 UTC = 11:00 in New York: March.
      expect(await inNy('milestone_on_time_rate_original', 'team:checkout', 'month', '2026-04-01')).toEqual({
        value: 0,
        numerator: 0,
        denominator: 1,
        sample_size: 1,
      });
      expect(await inNy('milestone_on_time_rate_original', 'team:checkout', 'month', '2026-03-01')).toEqual({
        value: 1,
        numerator: 1,
        denominator: 1,
        sample_size: 1,
      });
      // Snapshots are taken at the end of New York's periods: the week of 03-02 ends 03-09 00:00 EDT (daylight
      // saving time began 03-08) = 04:00 UTC, when X-2 (linked 03-03 00:00 UTC) is 6 days and 4 hours old.
      const x2 = (await explain(ny, def('dependency_age_mean_days'), 'team:checkout', 'week', '2026-03-02', params)).find((r) =>
        r.item.endsWith('X-2'),
      );
      expect(x2?.value).toBeCloseTo(6 + 4 / 24, 6);
    } finally {
      await ny.close();
    }
  });
});
