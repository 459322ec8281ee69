import type { StatusCategory, WorkItemKind } from '../../../schemas/domain.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workItemRow } from '../../../test/support/rows.js';
import type { Store } from '../../../infra/store/client.js';
import { testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain } from '../../../test/support/metrics.js';
import { reopenedItems } from './program-flow.js';

const item = (id: string, kind: WorkItemKind, status: string, category: StatusCategory) =>
  workItemRow({
    item_id: id,
    key: `CHK-${id}`,
    project: 'CHK',
    type: kind,
    kind,
    status,
    status_category: category,
    priority: 'Medium',
    priority_rank: 3,
    created_at: '2026-03-01T00:00:00Z',
    updated_at: '2026-03-20T00:00:00Z',
    summary: id,
    team: 'checkout',
    program: 'payments',
    raw_event_id: '',
    version: 1,
  });
const change = (id: string, n: number, from: string, to: string, at: string) => ({
  source: 'jira',
  item_id: id,
  history_id: `${id}-${n}`,
  field: 'status',
  field_id: 'status',
  from_value: '',
  from_string: from,
  to_value: '',
  to_string: to,
  changed_at: at,
  author: '',
  raw_event_id: '',
  version: 1,
});

describe('reopened items', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, {
      // "Done" is done and "In Progress" in progress by the items that hold them now; "Reopened" is todo by Jira's defaults.
      work_items: [
        item('1', 'story', 'In Progress', 'in_progress'),
        item('2', 'bug', 'Done', 'done'),
        item('3', 'epic', 'Reopened', 'todo'),
      ],
      work_item_history: [
        change('1', 1, 'To Do', 'In Progress', '2026-03-02T09:00:00Z'),
        change('1', 2, 'In Progress', 'Done', '2026-03-03T09:00:00Z'),
        change('1', 3, 'Done', 'In Progress', '2026-03-04T09:00:00Z'), // reopened once
        change('2', 1, 'Done', 'Reopened', '2026-03-10T09:00:00Z'), // reopened, then done again
        change('2', 2, 'Reopened', 'Done', '2026-03-11T09:00:00Z'),
        change('3', 1, 'Done', 'Reopened', '2026-03-04T10:00:00Z'), // an epic: not a flow item
      ],
    });
  });
  afterAll(() => store.close());

  it('counts each move from a done status back to an open one, in the week it happened', async () => {
    const read = await compute(store, [reopenedItems], '2026-03-01', '2026-04-01');
    expect((await read('reopened_items', 'team:checkout', 'week', '2026-03-02'))?.value).toBe(1);
    expect((await read('reopened_items', 'team:checkout', 'week', '2026-03-09'))?.value).toBe(1);
    expect((await read('reopened_items', 'program:payments', 'month', '2026-03-01'))?.value).toBe(2);
    const rows = await explain(store, reopenedItems, 'org:org', 'month', '2026-03-01');
    expect(rows.map((r) => `${r.item} ${r.detail}`)).toEqual([
      'CHK-1 "1" reopened: Done -> In Progress',
      'CHK-2 "2" reopened: Done -> Reopened',
    ]);
  });
});
