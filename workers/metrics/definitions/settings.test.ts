import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, defaultMetricsConfig, defaultModel } from '../../../infra/config/schema.js';
import type { Store } from '../../../infra/store/client.js';
import type { WorkItemLinkRow, WorkItemRow } from '../../../schemas/domain.js';
import { mapContext } from '../../../mapping/registry.js';
import { testStore } from '../../../test/support/harness.js';
import { eventsOf, insertTables, mappedOk } from '../../../test/support/mapping.js';
import { explain, testParams } from '../../../test/support/metrics.js';
import { workItemRow } from '../../../test/support/rows.js';
import { issueRecord } from '../../../connectors/jira/records.js';
import { metricParams } from '../engine.js';
import type { MetricDefinition } from '../types.js';
import { PLAN_METRICS } from './program-plan.js';

/**
 * Settings that decide what counts as a dependency, a critical one, and an epic's committed date.
 * Work items at the level of the domain tables, March 2026 (the week of 2026-03-02 ends 03-09):
 *   A-1 blocks A-2 by Jira's Blocks: a dependency by default. A-2 has priority 'Medium' (rank 3): not critical.
 *   D-1 blocks D-2 by a custom link type 'Depends' (the product's kind: other): no dependency by default.
 *       D-2 has the custom priority 'P0' (no rank in the default schemes): critical only when named.
 */

const def = (id: string): MetricDefinition => PLAN_METRICS.find((m) => m.id === id)!;
const OWNER = { team: 'checkout', program: 'payments' };

const item = (id: string, key: string, extra: Partial<WorkItemRow> = {}): WorkItemRow =>
  workItemRow({
    item_id: id,
    key,
    project: key.split('-')[0]!,
    type: 'Story',
    kind: 'story',
    status: 'In Progress',
    status_category: 'in_progress',
    priority: 'Medium',
    priority_rank: 3,
    created_at: '2026-02-01T00:00:00.000Z',
    updated_at: '2026-02-01T00:00:00.000Z',
    summary: key,
    ...OWNER,
    raw_event_id: 'e',
    version: 1,
    ...extra,
  });

const link = (from: WorkItemRow, to: WorkItemRow, type: WorkItemLinkRow['link_type'], raw: string): WorkItemLinkRow => ({
  source: 'jira',
  from_key: from.key,
  to_key: to.key,
  link_type: type,
  raw_type: raw,
  link_id: `${from.key}-${to.key}`,
  from_item_id: from.item_id,
  to_item_id: to.item_id,
  created_at: '2026-03-02T00:00:00.000Z',
  raw_event_id: 'e',
  version: 1,
  is_deleted: 0,
});

const items = [item('1', 'A-1'), item('2', 'A-2'), item('3', 'D-1'), item('4', 'D-2', { priority: 'P0', priority_rank: 0 })];
const links = [link(items[0]!, items[1]!, 'blocks', 'Blocks'), link(items[2]!, items[3]!, 'other', 'Depends')];

describe('metric settings: blocking link types and critical priorities', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, { work_items: items, work_item_links: links });
  });
  afterAll(() => store.close());

  const open = async (metric: string, params = testParams()) =>
    (await explain(store, def(metric), 'team:checkout', 'week', '2026-03-02', params)).map((r) => r.item);

  it('by default only Blocks links are dependencies, and a priority without a high rank is not critical', async () => {
    expect(await open('dependency_age_mean_days')).toEqual(['jira dependency A-1 blocks A-2']);
    expect(await open('critical_dependencies_open')).toEqual([]);
  });

  it('a configured link type makes its links dependencies; a configured priority name makes them critical', async () => {
    const config = configSchema.parse({
      model: { workItems: { blockingLinkTypes: ['Blocks', 'Depends'] } },
      metrics: { criticalPriorities: ['P0'] },
    });
    const params = metricParams(config);
    expect(params.blocking_link_types).toEqual(['blocks', 'depends']);
    expect(params.critical_priorities).toEqual(['p0']);
    expect(await open('dependency_age_mean_days', params)).toEqual(['jira dependency A-1 blocks A-2', 'jira dependency D-1 blocks D-2']);
    const critical = await explain(store, def('critical_dependencies_open'), 'team:checkout', 'week', '2026-03-02', params);
    expect(critical.map((r) => r.item)).toEqual(['jira dependency D-1 blocks D-2']);
    expect(critical[0]!.detail).toContain('critical: priority P0');
    // only the custom type: Jira's Blocks no longer counts
    expect(await open('dependency_age_mean_days', testParams({ blocking_link_types: ['depends'] }))).toEqual([
      'jira dependency D-1 blocks D-2',
    ]);
  });

  it('criticalPriorityRank 0 makes no rank critical; the default rank 2 makes High critical', async () => {
    const high = [{ ...items[1]!, priority: 'High', priority_rank: 2, version: 2 }];
    await insertTables(store, { work_items: high });
    expect(await open('critical_dependencies_open')).toEqual(['jira dependency A-1 blocks A-2']);
    expect(await open('critical_dependencies_open', testParams({ critical_priority_rank: 0 }))).toEqual([]);
    expect(metricParams({ model: defaultModel(), metrics: defaultMetricsConfig() }).critical_priority_rank).toBe(2);
  });

  it("effort variance reads Jira's configured story points field by its id", () => {
    const base = { model: defaultModel(), metrics: defaultMetricsConfig() };
    expect(metricParams(base).story_point_field_ids).toEqual([]);
    const jira = { fields: { storyPoints: 'customfield_10016' } };
    expect(metricParams({ ...base, sources: { jira } }).story_point_field_ids).toEqual(['customfield_10016']);
  });
});

describe('model setting: the milestone due-date field of Jira epics', () => {
  const SITE = 'acme.atlassian.net';
  const epic = {
    id: '10042',
    key: 'PAY-42',
    changelog: {
      histories: [
        {
          id: '1',
          created: '2026-05-03T08:00:00.000+0000',
          author: { accountId: 'acc-bob' },
          items: [
            {
              field: 'Target end',
              fieldtype: 'custom',
              fieldId: 'customfield_10015',
              from: '2026-06-01',
              fromString: '1/Jun/26',
              to: '2026-06-30',
              toString: '30/Jun/26',
            },
          ],
        },
      ],
    },
    fields: {
      updated: '2026-05-03T08:00:00.000+0000',
      created: '2026-05-01T08:00:00.000+0000',
      summary: 'Ledger rollout',
      project: { key: 'PAY' },
      issuetype: { name: 'Epic', hierarchyLevel: 1 },
      status: { name: 'In Progress', statusCategory: { key: 'indeterminate' } },
      duedate: '2026-06-10',
      customfield_10015: '2026-06-30',
    },
  };
  const milestoneDates = (workItems: Record<string, unknown>) => {
    const tables = mappedOk(
      eventsOf([issueRecord(SITE, epic, epic)], 'jira/issues'),
      mapContext({ model: configSchema.parse({ model: { workItems } }).model }),
    );
    return {
      committed: (tables['milestones'] ?? []).map((m) => m['committed_date']),
      dates: (tables['milestone_dates'] ?? []).map((d) => `${String(d['basis'])} ${String(d['committed_date'])}`),
    };
  };

  it("by default an epic is committed to Jira's due date", () => {
    expect(milestoneDates({})).toEqual({ committed: ['2026-06-10'], dates: ['snapshot 2026-06-10'] });
  });

  it('a custom date field, with its changelog as re-plans', () => {
    expect(milestoneDates({ milestoneDueDateField: 'customfield_10015' })).toEqual({
      committed: ['2026-06-30'],
      dates: ['snapshot 2026-06-30', 'changelog 2026-06-30'],
    });
  });
});
