import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema, type Config } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { Row } from '../../infra/store/batch-writer.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { queryRows, repoRoot, tempDir, testStore } from '../../test/support/harness.js';
import { mapContext, type MapContext } from '../../mapping/registry.js';
import { generateDemoOrg } from '../demo/generator.js';
import { JIRA_FIELDS } from '../demo/jira.js';
import { issueDeletedRecord, issueRecord, sprintRecord, versionRecord } from './records.js';
import type { Issue } from './schemas.js';
import { jiraWebhook } from './webhook.js';

const SITE = 'acme.atlassian.net';
type Json = Record<string, unknown>;

const config: Config = loadConfig({
  env: { PTEL_JIRA_API_TOKEN: 't', PTEL_JIRA_WEBHOOK_SECRET: 's' },
  overrides: { 'sources.jira': { baseUrl: `https://${SITE}`, email: 'bot@acme.example' } },
  cwd: tempDir(),
});

const org = orgSchema.parse({
  programs: [
    {
      id: 'money',
      name: 'Money',
      teams: [
        { id: 'payments', name: 'Payments', jira: { projects: ['PAY'] } },
        { id: 'ledger', name: 'Ledger', jira: { components: ['Ledger'] } },
      ],
    },
  ],
});
const ctx: MapContext = mapContext({ org, jiraFields: JIRA_FIELDS });
const jiraPerson = (account: string): string => ctx.people.id('jira', account);

/** A webhook delivery as Jira posts it, through the connector's own record builder. */
function delivered(body: Json, connector = 'webhook/jira'): RawEvent[] {
  const records = jiraWebhook.records(
    { headers: {}, rawBody: Buffer.from(JSON.stringify(body)), body, receivedAt: new Date('2026-06-01T00:00:00Z') },
    config,
  );
  return eventsOf(records, connector);
}
const pulled = (issue: Json): RawEvent[] => eventsOf([issueRecord(SITE, issue as Issue, issue)], 'jira/issues');
const fixture = (name: string): Json => JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/jira', name), 'utf8')) as Json;
const rowsOf = (tables: Record<string, Row[]>, table: string): Json[] => tables[table] ?? [];

// An epic as POST /rest/api/3/search/jql?expand=changelog returns it (Cloud: newest change first, ADF rich text).
const epicFields = {
  updated: '2026-05-03T10:00:00.250+0200',
  created: '2026-05-01T08:00:00.000+0000',
  summary: 'Ledger rollout',
  project: { id: '10001', key: 'PAY', name: 'Payments' },
  issuetype: { id: '10000', name: 'Epic', subtask: false, hierarchyLevel: 1 },
  status: { id: '3', name: 'In Progress', statusCategory: { id: 4, key: 'indeterminate', name: 'In Progress' } },
  priority: { id: '2', name: 'High' },
  assignee: { accountId: 'acc-ann', displayName: 'Ann Example' },
  reporter: { accountId: 'acc-bob', displayName: 'Bob Example' },
  components: [{ id: '1', name: 'Ledger' }],
  labels: ['backend'],
  duedate: '2026-06-10',
  fixVersions: [{ id: '10100', name: 'PAY 1.2' }],
  versions: [{ id: '10099', name: 'PAY 1.1' }],
  parent: null,
  [JIRA_FIELDS.storyPoints]: 8,
  [JIRA_FIELDS.sprint]: [{ id: 31, name: 'PAY Sprint 3', state: 'active', boardId: 3 }],
  [JIRA_FIELDS.startDate]: '2026-05-01',
  [JIRA_FIELDS.foundIn]: null,
  [JIRA_FIELDS.severity]: { id: '10020', value: 'Critical' },
  environment: { type: 'doc', version: 1, content: [{ type: 'paragraph', content: [{ type: 'text', text: 'prod eu-west' }] }] },
  resolution: null,
  resolutiondate: null,
  issuelinks: [
    {
      id: '500',
      type: { id: '10000', name: 'Blocks', inward: 'is blocked by', outward: 'blocks' },
      outwardIssue: { id: '10077', key: 'CART-9', fields: { summary: 'Cart' } },
    },
    {
      id: '501',
      type: { id: '10003', name: 'Relates', inward: 'relates to', outward: 'relates to' },
      inwardIssue: { id: '10078', key: 'OPS-4', fields: { summary: 'Ops' } },
    },
  ],
};
const latestChange = {
  id: '20002',
  items: [
    {
      field: 'duedate',
      fieldtype: 'jira',
      fieldId: 'duedate',
      from: '2026-05-20',
      fromString: '2026-05-20 00:00:00.0',
      to: '2026-06-10',
      toString: '2026-06-10 00:00:00.0',
    },
    { field: 'Link', fieldtype: 'jira', from: 'OPS-3', fromString: 'This issue is blocked by OPS-3', to: null, toString: null },
  ],
};
const restEpic: Json = {
  id: '10042',
  key: 'PAY-42',
  self: `https://${SITE}/rest/api/3/issue/10042`,
  changelog: {
    startAt: 0,
    maxResults: 2,
    total: 2,
    histories: [
      { ...latestChange, author: { accountId: 'acc-bob' }, created: '2026-05-03T10:00:00.250+0200' },
      {
        id: '20001',
        author: { accountId: 'acc-ann' },
        created: '2026-05-02T09:00:00.000+0000',
        items: [{ field: 'Link', fieldtype: 'jira', from: null, fromString: null, to: 'CART-9', toString: 'This issue blocks CART-9' }],
      },
    ],
  },
  fields: epicFields,
};
// The same version as a jira:issue_updated delivery (REST v2 inside: plain text rich fields, no changelog on the issue).
const epicDelivery: Json = {
  timestamp: Date.parse(epicFields.updated) + 6,
  webhookEvent: 'jira:issue_updated',
  issue_event_type_name: 'issue_generic',
  user: { accountId: 'acc-bob', displayName: 'Bob Example' },
  issue: {
    id: '10042',
    key: 'PAY-42',
    self: `https://${SITE}/rest/api/2/issue/10042`,
    fields: { ...epicFields, environment: 'prod eu-west' },
  },
  changelog: latestChange,
};

describe('jira.issue', () => {
  it('maps a pulled epic to its work item, history, links and milestone', () => {
    const [event] = pulled(restEpic);
    const t = mappedOk([event!], ctx);
    const updated = '2026-05-03T08:00:00.250Z';
    const version = Date.parse(updated) * 1000;
    expect(rowsOf(t, 'work_items')).toEqual([
      {
        source: 'jira',
        item_id: '10042',
        key: 'PAY-42',
        project: 'PAY',
        type: 'Epic',
        kind: 'epic',
        status: 'In Progress',
        status_category: 'in_progress',
        priority: 'High',
        priority_rank: 2,
        assignee: jiraPerson('acc-ann'),
        reporter: jiraPerson('acc-bob'),
        components: ['Ledger'],
        labels: ['backend'],
        due_date: '2026-06-10',
        start_date: '2026-05-01',
        fix_versions: ['version/10100'],
        affects_versions: ['version/10099'],
        sprints: ['sprint/31'],
        parent_id: '',
        story_points: 8,
        original_estimate_seconds: null,
        time_spent_seconds: null,
        severity: 'Critical',
        found_in: 'prod eu-west',
        created_at: '2026-05-01T08:00:00.000Z',
        updated_at: updated,
        resolved_at: null,
        resolution: '',
        summary: 'Ledger rollout',
        // The component's team comes before the project's.
        team: 'ledger',
        program: 'money',
        url: `https://${SITE}/browse/PAY-42`,
        raw_event_id: event!.id,
        version,
        is_deleted: 0,
      },
    ]);
    const history = rowsOf(t, 'work_item_history');
    expect(history).toHaveLength(3);
    expect(history[0]).toEqual({
      source: 'jira',
      item_id: '10042',
      history_id: '20002',
      field: 'duedate',
      field_id: 'duedate',
      from_value: '2026-05-20',
      from_string: '2026-05-20 00:00:00.0',
      to_value: '2026-06-10',
      to_string: '2026-06-10 00:00:00.0',
      changed_at: updated,
      author: jiraPerson('acc-bob'),
      raw_event_id: event!.id,
      version,
    });
    expect(history[2]).toMatchObject({
      history_id: '20001',
      field: 'Link',
      field_id: '',
      to_value: 'CART-9',
      changed_at: '2026-05-02T09:00:00.000Z',
    });

    const links = rowsOf(t, 'work_item_links');
    expect(links).toEqual([
      {
        source: 'jira',
        from_key: 'PAY-42',
        to_key: 'CART-9',
        link_type: 'blocks',
        raw_type: 'Blocks',
        link_id: '500',
        from_item_id: '10042',
        to_item_id: '10077',
        created_at: '2026-05-02T09:00:00.000Z',
        raw_event_id: event!.id,
        version: version + 3, // creation time known (1), written by the outward end (2)
        is_deleted: 0,
      },
      // An inward link: the other issue is the link's source.
      expect.objectContaining({
        from_key: 'OPS-4',
        to_key: 'PAY-42',
        link_type: 'relates',
        from_item_id: '10078',
        created_at: null,
        version,
      }),
      // "This issue is blocked by OPS-3" removed: OPS-3 was the blocker.
      {
        source: 'jira',
        from_key: 'OPS-3',
        to_key: 'PAY-42',
        link_type: 'blocks',
        raw_type: 'Blocks',
        link_id: '',
        from_item_id: '',
        to_item_id: '10042',
        created_at: null,
        raw_event_id: event!.id,
        version,
        is_deleted: 1,
      },
    ]);

    expect(rowsOf(t, 'milestones')).toEqual([
      {
        source: 'jira',
        milestone_id: 'epic/10042',
        kind: 'epic',
        name: 'Ledger rollout',
        project: 'PAY',
        state: 'active',
        raw_state: 'In Progress',
        start_date: '2026-05-01',
        committed_date: '2026-06-10',
        completed_at: null,
        team: 'ledger',
        program: 'money',
        url: `https://${SITE}/browse/PAY-42`,
        raw_event_id: event!.id,
        version,
        is_deleted: 0,
      },
    ]);
    expect(rowsOf(t, 'milestone_dates')).toEqual([
      {
        source: 'jira',
        milestone_id: 'epic/10042',
        committed_date: '2026-06-10',
        observed_at: updated,
        basis: 'snapshot',
        raw_event_id: event!.id,
        version,
      },
      {
        source: 'jira',
        milestone_id: 'epic/10042',
        committed_date: '2026-06-10',
        observed_at: updated,
        basis: 'changelog',
        raw_event_id: event!.id,
        version: version + 1,
      },
    ]);
  });

  it('gives the same rows for the webhook delivery of the same version', () => {
    const pull = pulled(restEpic);
    const hook = delivered(epicDelivery);
    expect(hook.map((e) => e.id)).toEqual(pull.map((e) => e.id));
    const a = mappedOk(pull, ctx);
    const b = mappedOk(hook, ctx);
    expect(b['work_items']).toEqual(a['work_items']);
    expect(b['milestones']).toEqual(a['milestones']);
    expect(b['milestone_dates']).toEqual(a['milestone_dates']);
    // The delivery carries only the latest change: the same history rows, and the links without the older creation time.
    expect(b['work_item_history']).toEqual(a['work_item_history']!.filter((r) => r['history_id'] === '20002'));
    expect(rowsOf(b, 'work_item_links').map((r) => [r['from_key'], r['to_key'], r['is_deleted'], r['created_at']])).toEqual([
      ['PAY-42', 'CART-9', 0, null],
      ['OPS-4', 'PAY-42', 0, null],
      ['OPS-3', 'PAY-42', 1, null],
    ]);
  });

  it('maps every demo issue version the same whether pulled or delivered by webhook', () => {
    const demo = generateDemoOrg({ teams: 2, months: 2 });
    const issues = demo.records.filter((r) => r.type === 'jira.issue');
    let compared = 0;
    for (const r of issues) {
      const issue = r.payload as Json & { changelog: { histories: Array<Json & { author: Json; items: unknown[] }> } };
      const latest = issue.changelog.histories[0];
      const { changelog: _omitted, ...bare } = issue;
      const body: Json = {
        timestamp: Date.parse(r.time) + 3,
        webhookEvent: latest === undefined ? 'jira:issue_created' : 'jira:issue_updated',
        user: latest?.author ?? (issue['fields'] as Json)['reporter'],
        issue: bare,
        ...(latest === undefined ? {} : { changelog: { id: latest['id'], items: latest.items } }),
      };
      const pull = eventsOf([r], 'demo/jira');
      const hook = delivered(body);
      expect(hook[0]!.id).toBe(pull[0]!.id);
      expect(mappedOk(hook, ctx)['work_items']).toEqual(mappedOk(pull, ctx)['work_items']);
      compared++;
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('maps real webhook deliveries', () => {
    const custom = mapContext({ org, jiraFields: { severity: 'customfield_10071', foundIn: 'customfield_10070' } });
    const created = mappedOk(delivered(fixture('issue_created_with_custom_fields.json')), custom);
    expect(rowsOf(created, 'work_items')[0]).toMatchObject({
      item_id: '10033',
      key: 'KAN-3',
      project: 'KAN',
      kind: 'task',
      status_category: 'todo',
      priority_rank: 3,
      fix_versions: ['version/10000'],
      severity: 'Medium',
      found_in: 'Testing',
      reporter: custom.people.id('jira', '712020:28d10afc-d4b0-47f2-b86f-74d9a5f29c81'),
      assignee: '',
      created_at: '2026-04-25T13:05:13.605Z',
      url: 'https://acme.atlassian.net/browse/KAN-3',
    });
    // The creation's changelog lists initial values, which the REST changelog never shows.
    expect(rowsOf(created, 'work_item_history')).toEqual([]);

    const status = mappedOk(delivered(fixture('issue_updated__status.json')), ctx);
    expect(rowsOf(status, 'work_items')[0]).toMatchObject({ key: 'TEST-1', status: 'In Progress', status_category: 'in_progress' });
    expect(rowsOf(status, 'work_item_history')).toEqual([
      expect.objectContaining({
        history_id: '10000',
        field: 'status',
        from_string: 'To Do',
        to_string: 'In Progress',
        changed_at: '2017-01-30T17:32:14.716Z',
      }),
    ]);

    // A reassignment in the changelog names the person as the work item does, and never by name.
    const reassigned = mappedOk(delivered(fixture('reassigned_v2.json')), ctx);
    expect(rowsOf(reassigned, 'work_item_history')).toEqual([
      expect.objectContaining({
        field: 'assignee',
        from_value: '',
        from_string: '',
        to_value: jiraPerson('lfranchi'),
        to_string: jiraPerson('lfranchi'),
      }),
    ]);
    expect(JSON.stringify(reassigned)).not.toContain('Leo Franchi');

    // Data Center: priorities Blocker..Trivial, people by user key.
    const priority = mappedOk(delivered(fixture('updated_priority_v2.json')), ctx);
    expect(rowsOf(priority, 'work_items')[0]).toMatchObject({
      priority: 'Major',
      priority_rank: 3,
      kind: 'task',
      assignee: jiraPerson('leo'),
    });
  });

  it('reads time tracking: the original estimate and the time logged, and their changes in the changelog', () => {
    // A worklog edit as Jira delivers it; the issue_updated delivery (and the next pull) carry the same issue and changelog.
    const body: Json = { ...fixture('worklog_updated__edited.json'), webhookEvent: 'jira:issue_updated' };
    const mapped = mappedOk(delivered(body), ctx);
    expect(rowsOf(mapped, 'work_items')[0]).toMatchObject({ original_estimate_seconds: 21600, time_spent_seconds: 21060 });
    expect(rowsOf(mapped, 'work_item_history')).toContainEqual(
      expect.objectContaining({ field: 'timespent', from_value: '19500', to_value: '21060' }),
    );
    // a value that is not a number of seconds degrades that column alone, with a note
    const issue = body['issue'] as { fields: Json };
    const odd = { ...body, issue: { ...issue, fields: { ...issue.fields, timespent: 'six hours' } } };
    const outcome = mapEvents(delivered(odd), ctx).outcomes[0]!.outcome;
    expect(outcome.kind).toBe('ok');
    if (outcome.kind !== 'ok') return;
    expect(outcome.rows[0]!.rows[0]).toMatchObject({ original_estimate_seconds: 21600, time_spent_seconds: null });
    expect(outcome.notes.map((n) => n.field)).toContain('fields.timespent');
  });

  it('keeps an issue whose optional fields cannot be read, leaving those columns empty with a note each', () => {
    const { fields, ...rest } = restEpic as { fields: Json };
    const { created: _c, ...noCreated } = fields;
    const pull = mapEvents(pulled({ ...rest, fields: noCreated }), ctx).outcomes[0]!.outcome;
    // Without its creation time the issue still exists: its last update is the latest it can have been created.
    expect(pull).toMatchObject({
      kind: 'ok',
      notes: [{ entity: 'issue', field: 'fields.created', problem: expect.stringContaining('missing') as unknown }],
    });
    expect(pull.kind === 'ok' && pull.rows[0]!.rows[0]).toMatchObject({ created_at: '2026-05-03T08:00:00.250Z' });

    // An unexpected value of a custom field (story points "-1"), a component without a name, a label
    // that is no text and a change item without a field: each leaves its own value out, never the issue
    // or its other history entries.
    const odd = {
      ...restEpic,
      fields: {
        ...epicFields,
        [JIRA_FIELDS.storyPoints]: '-1',
        [JIRA_FIELDS.sprint]: 'none',
        components: [{ id: '1', name: 'Ledger' }, { id: '2' }],
        labels: ['backend', 7],
      },
      changelog: {
        histories: [
          ...(restEpic['changelog'] as { histories: Json[] }).histories,
          { id: '20003', created: '2026-05-02T10:00:00.000+0000', items: [{ fieldtype: 'jira', to: 'x' }] },
        ],
      },
    };
    const out = mapEvents(pulled(odd), ctx).outcomes[0]!.outcome;
    expect(out.kind).toBe('ok');
    if (out.kind !== 'ok') return;
    const item = out.rows.find((t) => t.table === 'work_items')!.rows[0]!;
    expect(item).toMatchObject({ key: 'PAY-42', story_points: null, sprints: [], components: ['Ledger'], labels: ['backend'] });
    expect(out.rows.find((t) => t.table === 'work_item_history')!.rows).toHaveLength(3);
    expect(out.notes.map((n) => n.field).sort()).toEqual(
      [
        `fields.${JIRA_FIELDS.storyPoints}`,
        `fields.${JIRA_FIELDS.sprint}`,
        'fields.components[].name',
        'fields.labels[]',
        'changelog.histories[].items[].field',
      ].sort(),
    );
    expect(out.notes.every((n) => n.entity === 'issue' && n.problem !== '')).toBe(true);

    // Numbers in text, as text fields of older sites hold them, are read as numbers.
    const text = mapEvents(pulled({ ...restEpic, fields: { ...epicFields, [JIRA_FIELDS.storyPoints]: ' 5 ' } }), ctx).outcomes[0]!.outcome;
    expect(text.kind === 'ok' && text.rows[0]!.rows[0]!['story_points']).toBe(5);
  });

  it('reads a status without a category (Jira Server) from the resolution, noting the status to configure', () => {
    // Jira before 6.1 and Server webhooks send no status category.
    const old = mapEvents(delivered(fixture('created_v2.json')), ctx).outcomes[0]!.outcome;
    expect(old).toMatchObject({
      kind: 'ok',
      notes: [{ entity: 'issue', field: 'fields.status.statusCategory.key', problem: expect.stringContaining("'open'") as unknown }],
    });
    expect(old.kind === 'ok' && old.rows[0]!.rows[0]).toMatchObject({ status: 'Open', status_category: 'todo' });
    const resolved = delivered({
      ...epicDelivery,
      issue: {
        ...(epicDelivery['issue'] as Json),
        fields: { ...epicFields, status: { name: 'Closed' }, resolution: { name: 'Fixed' }, resolutiondate: epicFields.updated },
      },
    });
    const closed = mapEvents(resolved, ctx).outcomes[0]!.outcome;
    expect(closed.kind === 'ok' && closed.rows[0]!.rows[0]).toMatchObject({ status_category: 'done' });
    // A configured category is no degradation.
    const configured = mapContext({ model: { ...ctx.model, workItems: { ...ctx.model.workItems, statusCategories: { open: 'todo' } } } });
    expect(mapEvents(delivered(fixture('created_v2.json')), configured).outcomes[0]!.outcome).toMatchObject({ kind: 'ok', notes: [] });
  });

  it('reads a rich text field configured as found-in (Cloud v3 sends an Atlassian Document, Server a string)', () => {
    const foundIn = mapContext({ org, jiraFields: { ...JIRA_FIELDS, foundIn: 'environment' } });
    const adf = {
      type: 'doc',
      version: 1,
      content: [
        {
          type: 'paragraph',
          content: [
            { type: 'text', text: 'production ' },
            { type: 'text', text: 'eu-west', marks: [{ type: 'strong' }] },
          ],
        },
        { type: 'paragraph', content: [{ type: 'text', text: 'build 412' }] },
      ],
    };
    const cloud = mapEvents(pulled({ ...restEpic, fields: { ...epicFields, environment: adf } }), foundIn).outcomes[0]!.outcome;
    expect(cloud).toMatchObject({ kind: 'ok', notes: [] });
    expect(cloud.kind === 'ok' && cloud.rows[0]!.rows[0]!['found_in']).toBe('production eu-west\nbuild 412');
    const server = mapEvents(delivered(epicDelivery), foundIn).outcomes[0]!.outcome;
    expect(server.kind === 'ok' && server.rows[0]!.rows[0]!['found_in']).toBe('prod eu-west');
    // A value of no text shape is left empty and noted, the issue kept.
    const odd = mapEvents(pulled({ ...restEpic, fields: { ...epicFields, environment: { foo: 1 } } }), foundIn).outcomes[0]!.outcome;
    expect(odd).toMatchObject({ kind: 'ok', notes: [{ field: 'fields.environment' }] });
  });

  it('dead-letters an issue without what it cannot exist without (id, key, fields.updated), naming the field', () => {
    const { key: _k, ...noKey } = restEpic;
    const pull = mapEvents(pulled(noKey), ctx).outcomes[0]!.outcome;
    expect(pull).toMatchObject({ kind: 'dead_letter', code: 'invalid_payload' });
    expect(pull.kind === 'dead_letter' && pull.reason).toContain("field 'key'");
    const { key: _hk, ...hookIssue } = epicDelivery['issue'] as Json;
    const hook = mapEvents(delivered({ ...epicDelivery, issue: hookIssue }), ctx).outcomes[0]!.outcome;
    expect(hook.kind === 'dead_letter' && hook.reason).toContain("field 'issue.key'");
  });

  it('reads Data Center sprint strings, type names from the config and status overrides', () => {
    const fields = {
      ...epicFields,
      issuetype: { name: 'Sub-task', subtask: true },
      status: { name: 'Blocked', statusCategory: { key: 'indeterminate' } },
      priority: { name: 'Urgent' },
      assignee: { key: 'JIRAUSER10100', name: 'ann' },
      [JIRA_FIELDS.sprint]: ['com.atlassian.greenhopper.service.sprint.Sprint@5a1f[id=12,rapidViewId=3,state=CLOSED,name=S 1]'],
      [JIRA_FIELDS.foundIn]: { value: 'production' },
      parent: { id: '10001', key: 'PAY-1' },
    };
    const model = { ...ctx.model, workItems: { ...ctx.model.workItems, statusCategories: { blocked: 'todo' as const } } };
    const c = mapContext({ org, model, jiraFields: JIRA_FIELDS });
    const [row] = rowsOf(mappedOk(pulled({ ...restEpic, fields }), c), 'work_items');
    expect(row).toMatchObject({
      kind: 'subtask',
      status_category: 'todo',
      priority: 'Urgent',
      priority_rank: 0,
      assignee: c.people.id('jira', 'JIRAUSER10100'),
      sprints: ['sprint/12'],
      found_in: 'production',
      parent_id: '10001',
    });
    const risk = rowsOf(
      mappedOk(pulled({ ...restEpic, fields: { ...fields, issuetype: { name: 'risk', hierarchyLevel: 0 } } }), c),
      'work_items',
    );
    expect(risk[0]!['kind']).toBe('risk');
  });
  it('removes both orientations of a symmetric link, and reads the direction of an unknown type from its words', () => {
    const change = (from: string, fromString: string) => ({ field: 'Link', fieldtype: 'jira', from, fromString, to: null, toString: null });
    const issue = {
      ...restEpic,
      changelog: {
        histories: [
          {
            id: '20003',
            created: epicFields.updated,
            items: [
              change('OPS-9', 'This issue relates to OPS-9'),
              change('INC-2', 'This issue is caused by INC-2'),
              change('X', 'garbled'),
            ],
          },
        ],
      },
      fields: { ...epicFields, issuelinks: [] },
    };
    const links = rowsOf(mappedOk(pulled(issue), ctx), 'work_item_links');
    expect(links.map((l) => [l['from_key'], l['to_key'], l['link_type'], l['raw_type'], l['is_deleted']])).toEqual([
      ['PAY-42', 'OPS-9', 'relates', 'Relates', 1],
      ['OPS-9', 'PAY-42', 'relates', 'Relates', 1],
      ['INC-2', 'PAY-42', 'other', '', 1],
    ]);
  });
});

describe('jira split links', () => {
  it('reads a split, by its type name or its words, as the piece split from the original', () => {
    const issue = {
      ...restEpic,
      fields: {
        ...epicFields,
        issuelinks: [
          {
            id: '600',
            type: { id: '10100', name: 'Work item split', inward: 'split from', outward: 'split to' },
            outwardIssue: { id: '10090', key: 'PAY-50', fields: { summary: 'Second half' } },
          },
          {
            id: '601',
            type: { id: '10101', name: 'Story split', inward: 'split from', outward: 'split to' },
            inwardIssue: { id: '10091', key: 'PAY-30', fields: { summary: 'The original' } },
          },
        ],
      },
    };
    const links = rowsOf(mappedOk(pulled(issue), ctx), 'work_item_links').filter((l) => String(l['raw_type']).endsWith('split'));
    expect(links.map((l) => [l['from_key'], l['to_key'], l['link_type'], l['raw_type']])).toEqual([
      ['PAY-42', 'PAY-50', 'splits', 'Work item split'],
      ['PAY-30', 'PAY-42', 'splits', 'Story split'],
    ]);
  });
});

describe('jira.issue_deleted', () => {
  it('maps the webhook deletion and the deletion scan to a tombstone above the live versions', () => {
    const hook = delivered(fixture('deleted_v2.json'));
    const [row] = rowsOf(mappedOk(hook, ctx), 'work_items');
    expect(row).toMatchObject({ item_id: '10400', key: 'BUG-15', project: 'BUG', type: 'Bug', kind: 'bug', is_deleted: 1 });
    expect(row!['version']).toBe(1364403969102 * 1000 + 999);
    expect(row!['version']).toBeGreaterThan(Date.parse('2013-03-27T17:05:34.250Z') * 1000);
    // A bug is no epic: no milestone to remove.
    expect(rowsOf(mappedOk(hook, ctx), 'milestones')).toEqual([]);

    const at = new Date('2026-05-04T00:00:00Z');
    const scan = eventsOf(
      [issueDeletedRecord(SITE, '10042', at, { id: '10042', project: { key: 'PAY' }, detectedBy: 'id-listing' })],
      'jira/issue_deletions',
    );
    const t = mappedOk(scan, ctx);
    expect(rowsOf(t, 'work_items')).toEqual([
      {
        source: 'jira',
        item_id: '10042',
        key: '',
        project: 'PAY',
        type: '',
        kind: 'other',
        status: '',
        status_category: 'todo',
        priority: '',
        priority_rank: 0,
        assignee: '',
        reporter: '',
        components: [],
        labels: [],
        due_date: null,
        start_date: null,
        fix_versions: [],
        affects_versions: [],
        sprints: [],
        parent_id: '',
        story_points: null,
        original_estimate_seconds: null,
        time_spent_seconds: null,
        severity: '',
        found_in: '',
        created_at: at.toISOString(),
        updated_at: at.toISOString(),
        resolved_at: null,
        resolution: '',
        summary: '',
        team: 'payments',
        program: 'money',
        url: '',
        raw_event_id: scan[0]!.id,
        version: at.getTime() * 1000 + 999,
        is_deleted: 1,
      },
    ]);
    // The scan cannot tell an epic apart: the would-be milestone is removed too.
    expect(rowsOf(t, 'milestones')).toEqual([
      expect.objectContaining({ milestone_id: 'epic/10042', is_deleted: 1, version: at.getTime() * 1000 + 999 }),
    ]);
  });

  it('dead-letters a deletion without an issue id', () => {
    const [event] = eventsOf(
      [issueDeletedRecord(SITE, '1', new Date('2026-05-04T00:00:00Z'), { project: { key: 'PAY' } })],
      'jira/issue_deletions',
    );
    const out = mapEvents([event!], ctx).outcomes[0]!.outcome;
    expect(out.kind === 'dead_letter' && out.reason).toContain("field 'id'");
  });
});

describe('jira.version and jira.sprint', () => {
  const v = {
    self: `https://${SITE}/rest/api/3/version/10100`,
    id: '10100',
    name: 'PAY 1.2',
    archived: false,
    released: true,
    releaseDate: '2026-05-15',
    startDate: '2026-05-01',
    projectId: 10001,
  };
  const s = {
    id: 31,
    self: `https://${SITE}/rest/agile/1.0/sprint/31`,
    state: 'closed',
    name: 'PAY Sprint 3',
    startDate: '2026-05-04T09:30:00.000Z',
    endDate: '2026-05-18T09:30:00.000Z',
    completeDate: '2026-05-18T15:00:00.000Z',
    createdDate: '2026-04-28T10:00:00.000Z',
    originBoardId: 3,
    goal: 'Ship it',
  };
  const observed = new Date('2026-05-15T12:00:00Z');

  it('maps a version to a milestone and a snapshot of its date, the same from the REST object and the delivery', () => {
    const pull = eventsOf([versionRecord(SITE, v, v, observed)], 'jira/versions');
    const hook = delivered({ timestamp: observed.getTime(), webhookEvent: 'jira:version_released', version: v });
    expect(hook[0]!.id).toBe(pull[0]!.id);
    const t = mappedOk(pull, ctx);
    const version = observed.getTime() * 1000 + 2;
    expect(rowsOf(t, 'milestones')).toEqual([
      {
        source: 'jira',
        milestone_id: 'version/10100',
        kind: 'version',
        name: 'PAY 1.2',
        project: '',
        state: 'done',
        raw_state: 'released',
        start_date: '2026-05-01',
        committed_date: '2026-05-15',
        completed_at: '2026-05-15T00:00:00.000Z',
        team: '',
        program: '',
        // Named by project id only: the link lists the version's issues.
        url: `https://${SITE}/issues/?jql=fixVersion%20%3D%2010100`,
        raw_event_id: pull[0]!.id,
        version,
        is_deleted: 0,
      },
    ]);
    expect(rowsOf(t, 'milestone_dates')).toEqual([
      {
        source: 'jira',
        milestone_id: 'version/10100',
        committed_date: '2026-05-15',
        observed_at: observed.toISOString(),
        basis: 'snapshot',
        raw_event_id: pull[0]!.id,
        version,
      },
    ]);
    expect(mappedOk(hook, ctx)).toEqual(t);

    // Data Center names the project's key: the owner and the page follow.
    const dc = rowsOf(
      mappedOk(eventsOf([versionRecord(SITE, v, { ...v, project: 'PAY', archived: true }, observed)], 'jira/versions'), ctx),
      'milestones',
    );
    expect(dc[0]).toMatchObject({
      project: 'PAY',
      team: 'payments',
      program: 'money',
      state: 'archived',
      url: `https://${SITE}/projects/PAY/versions/10100`,
    });
    // A pulled version carries the key of the project it was listed under: the same owner.
    const pulled = rowsOf(
      mappedOk(eventsOf([versionRecord(SITE, v, { ...v, projectKey: 'PAY' }, observed)], 'jira/versions'), ctx),
      'milestones',
    );
    expect(pulled[0]).toMatchObject({ project: 'PAY', team: 'payments', program: 'money' });
  });

  it('maps a sprint to a milestone and a snapshot of its end date, the same from the REST object and the delivery', () => {
    const pull = eventsOf([sprintRecord(SITE, s, s, observed)], 'jira/sprints');
    const hook = delivered({ timestamp: observed.getTime(), webhookEvent: 'sprint_closed', sprint: s });
    expect(hook[0]!.id).toBe(pull[0]!.id);
    const t = mappedOk(pull, ctx);
    const version = Date.parse(s.completeDate) * 1000 + 2;
    expect(rowsOf(t, 'milestones')).toEqual([
      {
        source: 'jira',
        milestone_id: 'sprint/31',
        kind: 'sprint',
        name: 'PAY Sprint 3',
        project: '',
        state: 'done',
        raw_state: 'closed',
        start_date: '2026-05-04',
        committed_date: '2026-05-18',
        completed_at: '2026-05-18T15:00:00.000Z',
        team: '',
        program: '',
        url: `https://${SITE}/secure/RapidBoard.jspa?rapidView=3&view=reporting&chart=sprintRetrospective&sprint=31`,
        raw_event_id: pull[0]!.id,
        version,
        is_deleted: 0,
      },
    ]);
    expect(rowsOf(t, 'milestone_dates')).toEqual([
      {
        source: 'jira',
        milestone_id: 'sprint/31',
        committed_date: '2026-05-18',
        observed_at: s.completeDate,
        basis: 'snapshot',
        raw_event_id: pull[0]!.id,
        version,
      },
    ]);
    expect(mappedOk(hook, ctx)).toEqual(t);
  });

  it('dead-letters a sprint in a state Jira does not have; a version without a name keeps its row with an empty name', () => {
    const sprint = mapEvents(
      eventsOf([sprintRecord(SITE, { ...s, state: 'paused' }, { ...s, state: 'paused' }, observed)], 'jira/sprints'),
      ctx,
    );
    expect(sprint.outcomes[0]!.outcome).toMatchObject({ kind: 'dead_letter', reason: expect.stringContaining("field 'state'") as unknown });
    const { name: _n, ...noName } = v;
    const version = mapEvents(delivered({ timestamp: observed.getTime(), webhookEvent: 'jira:version_created', version: noName }), ctx);
    expect(version.outcomes[0]!.outcome).toMatchObject({ kind: 'ok', notes: [{ entity: 'version', field: 'name', problem: 'missing' }] });
  });
});

describe('store', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
  });
  afterAll(() => store.close());

  it('maps every demo Jira event, fits the schema, and converges on the latest versions under FINAL', async () => {
    const demo = generateDemoOrg({ teams: 2, months: 2 });
    const demoCtx = mapContext({ org: orgSchema.parse({ programs: demo.org.programs }), jiraFields: JIRA_FIELDS });
    const records = demo.records.filter((r) => r.source === 'jira');
    const types = new Set(records.map((r) => r.type));
    expect([...types].sort()).toEqual(['jira.issue', 'jira.sprint', 'jira.version']);
    const events = eventsOf(records, 'demo/jira');
    const { outcomes } = mapEvents(events, demoCtx);
    expect(outcomes.filter((o) => o.outcome.kind !== 'ok').map((o) => o.outcome)).toEqual([]);

    // Newest first and every event twice: FINAL must still keep the latest version of each entity.
    const shuffled = [...events].reverse().flatMap((e, i) => (i % 3 === 0 ? [e, e] : [e]));
    const mapped = mappedOk(shuffled, demoCtx);
    const epics = rowsOf(mapped, 'milestones').filter((r) => r['kind'] === 'epic');
    expect(epics.length).toBeGreaterThan(0);
    expect(rowsOf(mapped, 'work_item_links').length).toBeGreaterThan(0);
    // Re-committed epics: their due date changes are read from the changelog.
    expect(rowsOf(mapped, 'milestone_dates').some((r) => r['basis'] === 'changelog' && String(r['milestone_id']).startsWith('epic/'))).toBe(
      true,
    );
    await insertTables(store, mapped);

    const latest = new Map<string, SourceRecord>();
    for (const r of records) if (r.type === 'jira.issue') latest.set(r.subject, r);
    const items = await queryRows<{ item_id: string; updated_at: string; team: string }>(
      store,
      "SELECT item_id, toString(updated_at) AS updated_at, team FROM work_items FINAL WHERE source = 'jira'",
    );
    expect(items).toHaveLength(latest.size);
    for (const item of items) {
      const r = latest.get(`${SITE}/issue/${item.item_id}`)!;
      expect(new Date(`${item.updated_at.replace(' ', 'T')}Z`).toISOString()).toBe(new Date(r.time).toISOString());
      expect(item.team).not.toBe('');
    }
    const sprints = await queryRows<{ n: string }>(
      store,
      "SELECT count() AS n FROM milestones FINAL WHERE kind = 'sprint' AND state = 'open' AND committed_date < '2026-10-01'",
    );
    expect(Number(sprints[0]!.n)).toBe(0);
    const history = await queryRows<{ n: string; d: string }>(
      store,
      'SELECT count() AS n, uniqExact(item_id, history_id, field, from_value, to_value) AS d FROM work_item_history FINAL',
    );
    expect(history[0]!.n).toBe(history[0]!.d);
  });

  it('removes a link and deletes an issue under FINAL', async () => {
    const store = await testStore();
    const older = { ...restEpic, fields: { ...epicFields, updated: '2026-05-02T09:00:00.000+0000' }, changelog: { histories: [] } };
    const olderWithOps3 = {
      ...older,
      fields: {
        ...older.fields,
        issuelinks: [
          ...epicFields.issuelinks,
          { id: '499', type: { name: 'Blocks', inward: 'is blocked by', outward: 'blocks' }, inwardIssue: { id: '10076', key: 'OPS-3' } },
        ],
      },
    };
    const events = [...pulled(restEpic), ...pulled(olderWithOps3)];
    await insertTables(store, mappedOk(events, ctx));
    const links = await queryRows<{ from_key: string; to_key: string; created_at: string | null }>(
      store,
      "SELECT from_key, to_key, created_at FROM work_item_links FINAL WHERE to_key = 'PAY-42' OR from_key = 'PAY-42' ORDER BY from_key",
    );
    expect(links.map((l) => `${l.from_key}->${l.to_key}`)).toEqual(['OPS-4->PAY-42', 'PAY-42->CART-9']);

    const scan = eventsOf(
      [
        issueDeletedRecord(SITE, '10042', new Date('2026-05-04T00:00:00Z'), {
          id: '10042',
          project: { key: 'PAY' },
          detectedBy: 'id-listing',
        }),
      ],
      'jira/issue_deletions',
    );
    await insertTables(store, mappedOk([...scan, ...pulled(restEpic)], ctx));
    const left = await queryRows<{ n: string }>(store, "SELECT count() AS n FROM work_items FINAL WHERE item_id = '10042'");
    expect(Number(left[0]!.n)).toBe(0);
    const milestone = await queryRows<{ n: string }>(store, "SELECT count() AS n FROM milestones FINAL WHERE milestone_id = 'epic/10042'");
    expect(Number(milestone[0]!.n)).toBe(0);
    await store.close();
  });
});
