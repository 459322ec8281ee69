import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { mapContext } from '../../mapping/registry.js';
import { rowVersion } from '../../mapping/rows.js';
import { queryRows, repoRoot, tempDir, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { issueRecord, milestoneRecord } from './records.js';
import { gitlabWebhook } from './webhook.js';

type Json = Record<string, unknown>;
const FIXTURES = path.join(repoRoot, 'test/fixtures/gitlab');
const fixture = (file: string): Json => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Json;
const config = loadConfig({ env: {}, cwd: tempDir() });

function hook(body: Json): RawEvent[] {
  const records = gitlabWebhook.records(
    { headers: {}, rawBody: Buffer.from(''), body, receivedAt: new Date('2026-06-01T00:00:00Z') },
    config,
  );
  return eventsOf(records, 'webhook/gitlab');
}
const pulled = (records: SourceRecord[]): RawEvent[] => eventsOf(records, 'gitlab/issues');

const org = orgSchema.parse({
  programs: [
    {
      id: 'ops',
      name: 'Operations',
      teams: [{ id: 'sre', name: 'SRE', repositories: ['sathwikshetty33-group/mVc', 'acme/shop'] }],
    },
  ],
});
const ctx = mapContext({ org });
const HOST = 'gitlab.example';

/** A project issue as GET /projects/:id/issues lists it (the documented shape, trimmed of fields no row reads). */
function restIssue(over: Json = {}): Json {
  return {
    id: 76,
    iid: 6,
    project_id: 1,
    title: 'Checkout times out',
    description: 'Seen in production.',
    state: 'opened',
    created_at: '2026-02-02T09:00:00.123Z',
    updated_at: '2026-03-10T10:00:00.456Z',
    closed_at: null,
    closed_by: null,
    labels: ['backend', 'type::bug'],
    milestone: {
      id: 61,
      iid: 9,
      project_id: 1,
      title: 'v1.2',
      state: 'active',
      due_date: '2026-04-30',
      web_url: 'https://gitlab.example/acme/shop/-/milestones/9',
    },
    assignees: [{ id: 5, username: 'kim' }],
    assignee: { id: 5, username: 'kim' },
    author: { id: 7, username: 'lee' },
    type: 'ISSUE',
    issue_type: 'issue',
    user_notes_count: 1,
    due_date: '2026-04-15',
    web_url: 'https://gitlab.example/acme/shop/-/issues/6',
    weight: 3,
    time_stats: { time_estimate: 14400, total_time_spent: 5400, human_time_estimate: '4h', human_total_time_spent: '1h 30m' },
    references: { short: '#6', relative: '#6', full: 'acme/shop#6' },
    ...over,
  };
}

const user = { id: 5, username: 'kim' };
const stateEvent = (id: number, at: string, state: string): Json => ({
  id,
  user,
  created_at: at,
  resource_type: 'Issue',
  resource_id: 76,
  state,
});
const milestoneEvent = (id: number, at: string, action: 'add' | 'remove', milestone: number, title: string): Json => ({
  id,
  user,
  created_at: at,
  resource_type: 'Issue',
  resource_id: 76,
  milestone: { id: milestone, iid: milestone - 50, project_id: 1, title, state: 'active' },
  action,
});

/** The issue's records as the issues stream emits them: the issue, then its events at the same version. */
function pulledIssue(issue: Json, state: Json[], milestones: Json[]): RawEvent[] {
  const args = [HOST, 'acme/shop', issue['iid'] as number, issue['state'] as string, issue['updated_at'] as string] as const;
  return pulled([
    issueRecord(...args, issue),
    issueRecord(
      ...args,
      { issue_id: issue['id'], resource_state_events: state, resource_milestone_events: milestones },
      'gitlab.issue_events',
    ),
  ]);
}

describe('gitlab.issue from webhooks', () => {
  it('maps a current delivery of a closed incident to a done bug with its close in the history', () => {
    const events = hook(fixture('issue_hook__incident_closed.json'));
    expect(events.map((e) => [e.type, e.subject])).toEqual([['gitlab.issue', 'gitlab.com/sathwikshetty33-group/mvc/issues/6']]);
    const tables = mappedOk(events, ctx);
    expect(tables['work_items']).toEqual([
      {
        source: 'gitlab',
        item_id: '191205280',
        key: 'sathwikshetty33-group/mvc#6',
        project: 'sathwikshetty33-group/mvc',
        type: 'incident',
        kind: 'bug',
        status: 'Closed',
        status_category: 'done',
        priority: '',
        priority_rank: 0,
        assignee: ctx.people.id('gitlab', 34850171),
        reporter: ctx.people.id('gitlab', 34850171),
        components: [],
        labels: [],
        due_date: null,
        start_date: null,
        fix_versions: [],
        affects_versions: [],
        sprints: [],
        parent_id: '',
        story_points: null,
        // the delivery says time_estimate 0 (none set) and total_time_spent 0 (nothing logged)
        original_estimate_seconds: null,
        time_spent_seconds: 0,
        // 'unknown' is GitLab's "no severity set".
        severity: '',
        found_in: '',
        created_at: '2026-05-28T06:09:06.000Z',
        updated_at: '2026-05-28T06:11:46.000Z',
        resolved_at: '2026-05-28T06:11:46.000Z',
        resolution: '',
        summary: 'Testing',
        team: 'sre',
        program: 'ops',
        url: 'https://gitlab.com/sathwikshetty33-group/mVc/-/issues/6',
        raw_event_id: events[0]!.id,
        version: rowVersion('2026-05-28T06:11:46.000Z', 2),
        is_deleted: 0,
      },
    ]);
    expect(tables['work_item_history']).toEqual([
      {
        source: 'gitlab',
        item_id: '191205280',
        history_id: 'status@2026-05-28T06:11:46.000Z',
        field: 'status',
        field_id: 'status',
        from_value: 'opened',
        from_string: 'Open',
        to_value: 'closed',
        to_string: 'Closed',
        changed_at: '2026-05-28T06:11:46.000Z',
        author: ctx.people.id('gitlab', 34850171),
        raw_event_id: events[0]!.id,
        version: rowVersion(events[0]!.time),
      },
    ]);
  });

  it("reads an older delivery: its action gives the close, the weight is the item's points", () => {
    const [item] = mappedOk(hook(fixture('issue_hook__issue_closed.json')))['work_items']!;
    expect(item).toMatchObject({
      item_id: '2788274',
      key: 'tomaszkolek0/my-awesome-project#1',
      kind: 'other',
      status_category: 'done',
      story_points: 3,
      original_estimate_seconds: null,
      time_spent_seconds: null,
      due_date: '2016-08-01',
      // No closed_at in this shape: the delivery reporting the close was sent at its updated_at.
      resolved_at: '2016-08-18T18:14:13.000Z',
    });
    const [change] = mappedOk(hook(fixture('issue_hook__issue_closed.json')))['work_item_history']!;
    expect(change).toMatchObject({ field: 'status', from_value: 'opened', to_value: 'closed', changed_at: '2016-08-18T18:14:13.000Z' });
  });

  it("a delivery's milestone change is a membership move, and the issue is in its new milestone", () => {
    const body = fixture('issue_hook__incident_closed.json');
    (body['object_attributes'] as Json)['milestone_id'] = 62;
    (body['changes'] as Json)['milestone_id'] = { previous: 61, current: 62 };
    const tables = mappedOk(hook(body), ctx);
    expect(tables['work_items']![0]).toMatchObject({ fix_versions: ['milestone/62'] });
    expect(tables['work_item_history']!.find((r) => r['field'] === 'milestone')).toMatchObject({
      history_id: 'milestone@2026-05-28T06:11:46.000Z',
      field_id: 'milestone',
      from_value: '61',
      to_value: '62',
    });
  });

  it('refuses a delivery without the issue iid, naming the field', () => {
    const body = fixture('issue_hook__incident_closed.json');
    delete (body['object_attributes'] as Json)['iid'];
    expect(() => hook(body)).toThrow(/GitLab issue delivery: field 'object_attributes.iid'/);
  });
});

describe('gitlab.issue and gitlab.issue_events from pulls', () => {
  it('maps a REST issue: its milestone, weight, time tracking, labels and kind by label', () => {
    const events = pulledIssue(restIssue(), [], []);
    const [item] = mappedOk(events, ctx)['work_items']!;
    expect(item).toMatchObject({
      item_id: '76',
      key: 'acme/shop#6',
      project: 'acme/shop',
      type: 'issue',
      kind: 'bug',
      status: 'Open',
      status_category: 'todo',
      labels: ['backend', 'type::bug'],
      fix_versions: ['milestone/61'],
      story_points: 3,
      original_estimate_seconds: 14400,
      time_spent_seconds: 5400,
      due_date: '2026-04-15',
      assignee: ctx.people.id('gitlab', 5),
      reporter: ctx.people.id('gitlab', 7),
      created_at: '2026-02-02T09:00:00.000Z',
      updated_at: '2026-03-10T10:00:00.000Z',
      resolved_at: null,
      team: 'sre',
      url: 'https://gitlab.example/acme/shop/-/issues/6',
      version: rowVersion('2026-03-10T10:00:00.000Z', 1),
    });
  });

  it('turns state events into status changes and replays milestone events into moves', () => {
    const issue = restIssue({
      state: 'closed',
      closed_at: '2026-03-10T10:00:00.400Z',
      milestone: { id: 62, iid: 12, title: 'v1.3' },
    });
    const events = pulledIssue(
      issue,
      [
        stateEvent(2, '2026-03-10T10:00:00.400Z', 'closed'),
        stateEvent(1, '2026-03-05T08:00:00.000Z', 'closed'),
        stateEvent(3, '2026-03-06T08:00:00.000Z', 'reopened'),
      ],
      [
        milestoneEvent(10, '2026-02-02T09:00:00.123Z', 'add', 61, 'v1.2'),
        // A change of milestone is one add: the issue leaves the milestone it was in.
        milestoneEvent(11, '2026-02-20T12:00:00.000Z', 'add', 62, 'v1.3'),
        milestoneEvent(12, '2026-02-21T12:00:00.000Z', 'remove', 62, 'v1.3'),
        milestoneEvent(13, '2026-02-22T12:00:00.000Z', 'add', 62, 'v1.3'),
      ],
    );
    const tables = mappedOk(events, ctx);
    expect(tables['work_items']![0]).toMatchObject({
      status_category: 'done',
      resolved_at: '2026-03-10T10:00:00.000Z',
      fix_versions: ['milestone/62'],
    });
    const rows = tables['work_item_history']!.map((r) => [r['field'], r['changed_at'], r['from_value'], r['to_value'], r['to_string']]);
    expect(rows).toEqual([
      ['status', '2026-03-05T08:00:00.000Z', 'opened', 'closed', 'Closed'],
      ['status', '2026-03-06T08:00:00.000Z', 'closed', 'opened', 'Open'],
      ['status', '2026-03-10T10:00:00.000Z', 'opened', 'closed', 'Closed'],
      ['milestone', '2026-02-02T09:00:00.000Z', '', '61', 'v1.2'],
      ['milestone', '2026-02-20T12:00:00.000Z', '61', '62', 'v1.3'],
      ['milestone', '2026-02-21T12:00:00.000Z', '62', '', ''],
      ['milestone', '2026-02-22T12:00:00.000Z', '', '62', 'v1.3'],
    ]);
    expect(new Set(tables['work_item_history']!.map((r) => r['item_id']))).toEqual(new Set(['76']));
  });

  it('a field that cannot be read empties that field only, with a note; an unreadable event is left out with a note', () => {
    const issue = restIssue({
      weight: 'heavy',
      labels: 'backend',
      due_date: 'soon',
      milestone: { title: 'no id' },
      created_at: 'yesterday',
      time_stats: { time_estimate: -1, total_time_spent: 5400 },
    });
    const events = pulledIssue(issue, [{ id: 1, state: 'closed' }], [milestoneEvent(10, '2026-02-02T09:00:00.123Z', 'add', 61, 'v1.2')]);
    const { tables, outcomes } = mapEvents(events, ctx);
    expect(outcomes.map((o) => o.outcome.kind)).toEqual(['ok', 'ok']);
    expect(tables['work_items']![0]).toMatchObject({
      story_points: null,
      original_estimate_seconds: null,
      time_spent_seconds: 5400,
      labels: [],
      due_date: null,
      fix_versions: [],
      summary: 'Checkout times out',
      // The last update stands in for a creation time that cannot be read.
      created_at: '2026-03-10T10:00:00.000Z',
    });
    const notes = outcomes.flatMap((o) => (o.outcome.kind === 'ok' ? o.outcome.notes : []));
    expect(notes.map((n) => `${n.entity} ${n.field}`).sort()).toEqual([
      'issue created_at',
      'issue due_date',
      'issue labels',
      'issue milestone.id',
      'issue time_stats.time_estimate',
      'issue weight',
      'issue_events resource_state_events[].created_at',
    ]);
    expect(tables['work_item_history']!.map((r) => r['field'])).toEqual(['milestone']);
  });

  it('dead-letters an issue without its iid, and events without the issue id, naming the field', () => {
    const noIid = restIssue();
    delete noIid['iid'];
    const { outcomes } = mapEvents(
      pulled([
        issueRecord(HOST, 'acme/shop', 6, 'opened', '2026-03-10T10:00:00Z', noIid),
        issueRecord(HOST, 'acme/shop', 6, 'opened', '2026-03-10T10:00:00Z', { resource_state_events: [] }, 'gitlab.issue_events'),
      ]),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual([
      { kind: 'dead_letter', code: 'invalid_payload', reason: expect.stringMatching(/gitlab\.issue .*: field 'iid'/) as unknown },
      {
        kind: 'dead_letter',
        code: 'invalid_payload',
        reason: expect.stringMatching(/gitlab\.issue_events .*: field 'issue_id'/) as unknown,
      },
    ]);
  });
});

/** A project milestone as GET /projects/:id/milestones lists it (the documented shape). */
const restMilestone = (over: Json = {}): Json => ({
  id: 61,
  iid: 9,
  project_id: 1,
  title: 'v1.2',
  description: 'Checkout rework',
  state: 'active',
  created_at: '2026-01-20T09:00:00.000Z',
  updated_at: '2026-02-01T09:30:00.250Z',
  due_date: '2026-04-30',
  start_date: '2026-02-02',
  expired: false,
  web_url: 'https://gitlab.example/acme/shop/-/milestones/9',
  ...over,
});

describe('gitlab.milestone', () => {
  it('maps an active milestone to an open planned milestone with its due date seen at its last update', () => {
    const m = restMilestone();
    const events = pulled([milestoneRecord(HOST, 'acme/shop', { id: 61, state: 'active', updated_at: m['updated_at'] as string }, m)]);
    expect(events[0]!.subject).toBe('gitlab.example/acme/shop/milestones/61');
    const tables = mappedOk(events, ctx);
    expect(tables['milestones']).toEqual([
      {
        source: 'gitlab',
        milestone_id: 'milestone/61',
        kind: 'milestone',
        name: 'v1.2',
        project: 'acme/shop',
        state: 'open',
        raw_state: 'active',
        start_date: '2026-02-02',
        committed_date: '2026-04-30',
        completed_at: null,
        team: 'sre',
        program: 'ops',
        url: 'https://gitlab.example/acme/shop/-/milestones/9',
        raw_event_id: events[0]!.id,
        version: rowVersion('2026-02-01T09:30:00.000Z', 0),
        is_deleted: 0,
      },
    ]);
    expect(tables['milestone_dates']).toEqual([
      {
        source: 'gitlab',
        milestone_id: 'milestone/61',
        committed_date: '2026-04-30',
        observed_at: '2026-02-01T09:30:00.250Z',
        basis: 'snapshot',
        raw_event_id: events[0]!.id,
        version: rowVersion('2026-02-01T09:30:00.000Z', 0),
      },
    ]);
  });

  it('a closed milestone is done at its last update; a due date that is not a date is no date, with a note', () => {
    const m = restMilestone({ state: 'closed', updated_at: '2026-05-02T16:00:00.000Z', due_date: 'end of April' });
    const { tables, outcomes } = mapEvents(
      pulled([milestoneRecord(HOST, 'acme/shop', { id: 61, state: 'closed', updated_at: '2026-05-02T16:00:00.000Z' }, m)]),
      ctx,
    );
    expect(tables['milestones']![0]).toMatchObject({
      state: 'done',
      raw_state: 'closed',
      completed_at: '2026-05-02T16:00:00.000Z',
      committed_date: null,
    });
    expect(outcomes[0]!.outcome).toMatchObject({
      kind: 'ok',
      notes: [{ entity: 'milestone', field: 'due_date', problem: 'expected a date YYYY-MM-DD' }],
    });
  });
});

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('gitlab issue rows in the store', () => {
  it('a close seen by a delivery and by the pull is one history row, and the milestone rows fit the schema', async () => {
    const body = fixture('issue_hook__incident_closed.json');
    const fromHook = hook(body);
    const path = 'sathwikshetty33-group/mVc';
    const fromPull = pulled([
      issueRecord(
        'gitlab.com',
        path,
        6,
        'closed',
        '2026-05-28T06:11:46.241Z',
        {
          issue_id: 191205280,
          // GitLab stamps the event during the same request as the issue's update.
          resource_state_events: [{ ...stateEvent(900, '2026-05-28T06:11:46.300Z', 'closed'), resource_id: 191205280 }],
          resource_milestone_events: [],
        },
        'gitlab.issue_events',
      ),
      milestoneRecord('gitlab.com', path, { id: 61, state: 'active', updated_at: '2026-02-01T09:30:00.250Z' }, restMilestone()),
    ]);
    await insertTables(store, mappedOk([...fromHook, ...fromPull], ctx));
    const history = await queryRows<Json>(
      store,
      `SELECT field, from_value, to_value, changed_at, raw_event_id FROM work_item_history FINAL WHERE source = 'gitlab' AND item_id = '191205280'`,
    );
    expect(history).toEqual([
      { field: 'status', from_value: 'opened', to_value: 'closed', changed_at: '2026-05-28 06:11:46.000', raw_event_id: fromPull[0]!.id },
    ]);
    const milestones = await queryRows<Json>(
      store,
      `SELECT milestone_id, kind, state, committed_date FROM milestones FINAL WHERE source = 'gitlab'`,
    );
    expect(milestones).toEqual([{ milestone_id: 'milestone/61', kind: 'milestone', state: 'open', committed_date: '2026-04-30' }]);
  });
});
