import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgSchema, type Config } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { MilestoneDateRow, MilestoneRow, WorkItemHistoryRow, WorkItemRow } from '../../schemas/domain.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { issueEventJson, issueJson, milestoneJson } from '../../test/fakes/github.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents } from '../../test/support/mapping.js';
import { mapContext, type Outcome } from '../../mapping/registry.js';
import { ITEMS } from '../../workers/metrics/definitions/work-items.js';
import { WebhookPayloadError } from '../core/webhooks.js';
import { issueEventSchema, issueSchema, milestoneSchema, toRecord } from './records.js';
import { githubWebhook } from './webhook.js';

type Json = Record<string, unknown>;

const require = createRequire(import.meta.url);
const examples = JSON.parse(readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8')) as Array<{
  name: string;
  examples: Json[];
}>;
/** A real delivery of `event` with `action`: the n-th such example. */
function example(event: string, action: string, n = 0): Json {
  const found = examples.find((e) => e.name === event)?.examples.filter((e) => e['action'] === action)[n];
  if (found === undefined) throw new Error(`no ${event} ${action} example`);
  return structuredClone(found);
}
/** The first page of GitHub's recorded GET /repos/{owner}/{repo}/issues (Octokit's fixtures). */
const recordedIssues = (): Json[] => {
  const file = require.resolve('@octokit/fixtures/scenarios/api.github.com/paginate-issues/normalized-fixture.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as Array<{ response: Json[] }>)[0]!.response;
};

const delivery = (event: string, body: unknown): SourceRecord[] =>
  githubWebhook.records({ headers: { 'x-github-event': event }, body, rawBody: Buffer.from(''), receivedAt: new Date(0) }, {} as Config);

const org = orgSchema.parse({
  programs: [
    {
      id: 'payments',
      name: 'Payments',
      teams: [
        { id: 'checkout', name: 'Checkout', repositories: ['Codertocat/Hello-World'] },
        { id: 'platform', name: 'Platform', repositories: ['octokit-fixture-org/paginate-issues', 'acme/api'] },
      ],
    },
  ],
});
const ctx = mapContext({ org, people: [{ id: 'alice', github: ['codertocat'], gitlab: [], jira: [], pagerduty: [] }] });

const mapped = (events: RawEvent[]) => mapEvents(events, ctx);
function only<T>(events: RawEvent[], table: string): T {
  const { tables, outcomes } = mapped(events);
  for (const o of outcomes) expect(o.outcome.kind, JSON.stringify(o.outcome)).toBe('ok');
  expect(tables[table] ?? []).toHaveLength(1);
  return tables[table]![0] as T;
}
const hook = (event: string, body: Json) => eventsOf(delivery(event, body), 'webhook/github');
const notesOf = (o: Outcome) => (o.kind === 'ok' ? o.notes : []);

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('github.milestone', () => {
  it('maps a milestone delivery to a planned milestone with its due date as a snapshot', () => {
    const events = hook('milestone', example('milestone', 'closed'));
    expect(events.map((e) => [e.type, e.subject])).toEqual([['github.milestone', 'codertocat/hello-world/milestones/4317517']]);
    expect(only<MilestoneRow>(events, 'milestones')).toEqual({
      source: 'github',
      milestone_id: 'milestone/4317517',
      kind: 'milestone',
      name: 'v1.0',
      project: 'codertocat/hello-world',
      state: 'done',
      raw_state: 'closed',
      start_date: null,
      // due_on 2019-05-23T07:00:00Z: GitHub's midnight in the Pacific zone of that day.
      committed_date: '2019-05-23',
      completed_at: '2019-05-15T15:20:18.000Z',
      team: 'checkout',
      program: 'payments',
      url: 'https://github.com/Codertocat/Hello-World/milestone/1',
      raw_event_id: events[0]!.id,
      version: Date.parse('2019-05-15T15:20:18Z') * 1000,
      is_deleted: 0,
    });
    expect(only<MilestoneDateRow>(events, 'milestone_dates')).toEqual({
      source: 'github',
      milestone_id: 'milestone/4317517',
      committed_date: '2019-05-23',
      observed_at: '2019-05-15T15:20:18.000Z',
      basis: 'snapshot',
      raw_event_id: events[0]!.id,
      version: Date.parse('2019-05-15T15:20:18Z') * 1000,
    });
  });

  it('a REST milestone and the same milestone delivered give the same row; a deletion replaces it', async () => {
    const created = example('milestone', 'created');
    const rest = created['milestone'] as Json;
    const pulled = eventsOf([toRecord.milestone('Codertocat/Hello-World', milestoneSchema.parse(rest), rest)], 'github/milestones');
    const hooked = hook('milestone', created);
    // One entity version, one event id, whichever way it came.
    expect(pulled[0]!.id).toBe(hooked[0]!.id);
    const row = only<MilestoneRow>(pulled, 'milestones');
    expect(row).toMatchObject({ state: 'open', raw_state: 'open', completed_at: null, committed_date: '2019-05-23' });
    expect({ ...only<MilestoneRow>(hooked, 'milestones'), raw_event_id: '' }).toEqual({ ...row, raw_event_id: '' });

    const deleted = hook('milestone', example('milestone', 'deleted'));
    const { tables } = mapped([...pulled, ...hook('milestone', example('milestone', 'closed')), ...deleted]);
    // A deletion writes no committed date.
    expect(tables['milestone_dates']).toHaveLength(2);
    await insertTables(store, tables);
    const left = await queryRows<{ n: string }>(
      store,
      `SELECT count() AS n FROM milestones FINAL WHERE milestone_id = 'milestone/4317517'`,
    );
    expect(left[0]!.n).toBe('0');
  });

  it('a milestone without a due date has no committed date; a field of the wrong shape is noted and left empty', () => {
    const m = milestoneJson('acme/api', { id: 77, number: 3, title: 'Q3', due_on: null, created_at: '2026-01-05T10:00:00Z' });
    m['html_url'] = 42;
    const events = eventsOf([toRecord.milestone('acme/api', milestoneSchema.parse(m), m)], 'github/milestones');
    const { tables, outcomes } = mapped(events);
    expect(tables['milestones']?.[0]).toMatchObject({ milestone_id: 'milestone/77', committed_date: null, url: '', team: 'platform' });
    expect(tables['milestone_dates']?.[0]).toMatchObject({ committed_date: null, observed_at: '2026-01-05T10:00:00.000Z' });
    expect(notesOf(outcomes[0]!.outcome).map((n) => [n.entity, n.field])).toEqual([['milestone', 'milestone.html_url']]);
  });
});

describe('github.issue', () => {
  it('maps a recorded REST issue to a work item', () => {
    const raw = recordedIssues()[0]!;
    const events = eventsOf([toRecord.issue('octokit-fixture-org/paginate-issues', issueSchema.parse(raw), raw)], 'github/issues');
    expect(only<WorkItemRow>(events, 'work_items')).toEqual({
      source: 'github',
      item_id: '1000',
      key: 'octokit-fixture-org/paginate-issues#13',
      project: 'octokit-fixture-org/paginate-issues',
      type: 'Issue',
      kind: 'story',
      status: 'open',
      status_category: 'todo',
      priority: '',
      priority_rank: 0,
      assignee: '',
      reporter: ctx.people.id('github', 'octokit-fixture-user-a'),
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
      created_at: new Date(String(raw['created_at'])).toISOString(),
      updated_at: new Date(String(raw['updated_at'])).toISOString(),
      resolved_at: null,
      resolution: '',
      summary: 'Test issue 13',
      team: 'platform',
      program: 'payments',
      url: 'https://github.com/octokit-fixture-org/paginate-issues/issues/13',
      raw_event_id: events[0]!.id,
      version: Date.parse(String(raw['updated_at'])) * 1000,
      is_deleted: 0,
    });
  });

  it('maps an issues delivery: a bug label makes a bug, its milestone is its fix version', () => {
    const events = hook('issues', example('issues', 'opened'));
    expect(events.map((e) => [e.type, e.subject])).toEqual([['github.issue', 'codertocat/hello-world/issues/1']]);
    expect(only<WorkItemRow>(events, 'work_items')).toMatchObject({
      item_id: '444500041',
      key: 'codertocat/hello-world#1',
      kind: 'bug',
      labels: ['bug'],
      fix_versions: ['milestone/4317517'],
      assignee: 'alice',
      team: 'checkout',
      status: 'open',
      status_category: 'todo',
    });
  });

  it('an issue type names the kind; a prefixed bug label counts; other labels leave a story', () => {
    const kindOf = (patch: Json): string => {
      const body = example('issues', 'opened');
      Object.assign(body['issue'] as Json, patch);
      return only<WorkItemRow>(hook('issues', body), 'work_items').kind;
    };
    expect(kindOf({ type: { id: 1, name: 'Task' }, labels: [{ name: 'bug' }] })).toBe('task');
    expect(kindOf({ labels: [{ name: 'type: Bug' }] })).toBe('bug');
    expect(kindOf({ labels: [{ name: 'kind/defect' }] })).toBe('bug');
    expect(kindOf({ labels: [{ name: 'enhancement' }] })).toBe('story');
  });

  it('a closed issue is done with its closing time; closed as not planned keeps the reason as the resolution', () => {
    const body = example('issues', 'opened');
    Object.assign(body['issue'] as Json, {
      state: 'closed',
      state_reason: 'not_planned',
      closed_at: '2019-05-16T08:00:00Z',
      updated_at: '2019-05-16T08:00:00Z',
    });
    expect(only<WorkItemRow>(hook('issues', body), 'work_items')).toMatchObject({
      status: 'closed',
      status_category: 'done',
      resolution: 'not_planned',
      resolved_at: '2019-05-16T08:00:00.000Z',
    });
  });

  it('a field that cannot be read degrades that field only, with a note naming it', () => {
    const body = example('issues', 'opened');
    Object.assign(body['issue'] as Json, { labels: 'bug', assignee: 'Codertocat', created_at: undefined, milestone: { title: 'v1.0' } });
    const events = hook('issues', body);
    const { tables, outcomes } = mapped(events);
    expect(tables['work_items']?.[0]).toMatchObject({
      labels: [],
      assignee: '',
      fix_versions: [],
      created_at: '2019-05-15T15:20:18.000Z',
      summary: 'Spelling error in the README file',
    });
    expect(
      notesOf(outcomes[0]!.outcome)
        .map((n) => n.field)
        .sort(),
    ).toEqual(['issue.assignee', 'issue.created_at', 'issue.labels', 'issue.milestone.id']);
  });

  it('a pull request milestoned is not a work item; a delivery without the issue id is refused naming it', () => {
    expect(delivery('issues', example('issues', 'milestoned'))).toEqual([]);
    expect(delivery('issues', example('issues', 'demilestoned'))).toEqual([]);
    const body = example('issues', 'opened');
    delete (body['issue'] as Json)['id'];
    expect(() => delivery('issues', body)).toThrow(WebhookPayloadError);
    expect(() => delivery('issues', body)).toThrow(/issue\.id/);
  });

  it('a pulled pull request listed as an issue is dropped; a REST issue without updated_at is a dead letter naming it', () => {
    const pr = issueJson('acme/api', { id: 9, number: 2, title: 'A change', created_at: '2026-01-01T00:00:00Z', pull_request: true });
    const broken = issueJson('acme/api', { id: 10, number: 3, title: 'Broken', created_at: '2026-01-01T00:00:00Z' });
    const events = eventsOf(
      [
        toRecord.issue('acme/api', issueSchema.parse(pr), pr),
        { ...toRecord.issue('acme/api', issueSchema.parse(broken), broken), payload: { ...broken, updated_at: null } },
      ],
      'github/issues',
    );
    const [a, b] = mapped(events).outcomes.map((o) => o.outcome);
    expect(a?.kind).toBe('drop');
    expect(b).toMatchObject({ kind: 'dead_letter' });
    expect(b?.kind === 'dead_letter' ? b.reason : '').toContain("field 'updated_at'");
  });

  it('a deletion delivery removes the work item', async () => {
    const opened = hook('issues', example('issues', 'reopened'));
    const deleted = hook('issues', example('issues', 'deleted'));
    const { tables } = mapped([...opened, ...deleted]);
    await insertTables(store, tables);
    const rows = await queryRows<{ n: string }>(store, `SELECT count() AS n FROM work_items FINAL WHERE item_id = '444500041'`);
    expect(rows[0]!.n).toBe('0');
  });
});

describe('github.issue_event', () => {
  const issue = issueJson('acme/api', {
    id: 5001,
    number: 7,
    title: 'Checkout fails',
    created_at: '2026-02-01T09:00:00Z',
    updated_at: '2026-02-10T09:00:00Z',
    closed_at: '2026-02-10T09:00:00Z',
  });
  const event = (id: number, name: string, at: string, extra: Json = {}): RawEvent => {
    const raw = { ...issueEventJson('acme/api', { id, event: name, created_at: at, issue, actor: 'codertocat' }), ...extra };
    return eventsOf([toRecord.issueEvent('acme/api', issueEventSchema.parse(raw), raw)], 'github/issue_events')[0]!;
  };

  it('closed and reopened are status changes between open and closed', () => {
    const closedEvent = event(11, 'closed', '2026-02-05T10:00:00Z');
    const closed = only<WorkItemHistoryRow>([closedEvent], 'work_item_history');
    expect(closed).toEqual({
      source: 'github',
      item_id: '5001',
      history_id: '11',
      field: 'status',
      field_id: 'status',
      from_value: 'open',
      from_string: 'open',
      to_value: 'closed',
      to_string: 'closed',
      changed_at: '2026-02-05T10:00:00.000Z',
      author: 'alice',
      raw_event_id: closedEvent.id,
      version: Date.parse('2026-02-05T10:00:00Z') * 1000,
    });
    expect(only<WorkItemHistoryRow>([event(12, 'reopened', '2026-02-06T10:00:00Z')], 'work_item_history')).toMatchObject({
      from_string: 'closed',
      to_string: 'open',
    });
  });

  it('milestoned and demilestoned move the issue by milestone id; a title alone is left out with a note', () => {
    const into = only<WorkItemHistoryRow>(
      [event(13, 'milestoned', '2026-02-02T10:00:00Z', { milestone: { title: 'Q1', id: 77, number: 3 } })],
      'work_item_history',
    );
    expect(into).toMatchObject({ field: 'milestone', field_id: 'milestone', from_value: '', to_value: '77', to_string: 'Q1' });
    const out = only<WorkItemHistoryRow>(
      [event(14, 'demilestoned', '2026-02-03T10:00:00Z', { milestone: { title: 'Q1', id: 77, number: 3 } })],
      'work_item_history',
    );
    expect(out).toMatchObject({ from_value: '77', from_string: 'Q1', to_value: '' });

    const { tables, outcomes } = mapped([event(15, 'milestoned', '2026-02-02T10:00:00Z', { milestone: { title: 'Gone' } })]);
    expect(tables['work_item_history'] ?? []).toEqual([]);
    const notes = notesOf(outcomes[0]!.outcome);
    expect(notes.map((n) => [n.entity, n.field])).toEqual([['issue_event', 'milestone.id']]);
    expect(notes[0]!.problem).toContain("'Gone'");
  });

  it('other events, events of pull requests and of issues that are gone are dropped with the reason', () => {
    const pr = issueJson('acme/api', { id: 9, number: 2, title: 'A change', created_at: '2026-01-01T00:00:00Z', pull_request: true });
    const outcomes = mapped([
      event(16, 'labeled', '2026-02-02T10:00:00Z'),
      event(17, 'closed', '2026-02-02T10:00:00Z', { issue: pr }),
      event(18, 'closed', '2026-02-02T10:00:00Z', { issue: null }),
    ]).outcomes.map((o) => o.outcome);
    expect(outcomes.map((o) => o.kind)).toEqual(['drop', 'drop', 'drop']);
    expect(outcomes.map((o) => (o.kind === 'drop' ? o.reason : ''))).toEqual([
      expect.stringContaining("'labeled'"),
      expect.stringContaining('pull request'),
      expect.stringContaining('gone'),
    ]);
  });

  it('in the store, the history gives the issue to-do and done categories and its done time', async () => {
    const item = eventsOf([toRecord.issue('acme/api', issueSchema.parse(issue), issue)], 'github/issues');
    const history = [
      event(21, 'closed', '2026-02-05T10:00:00Z'),
      event(22, 'reopened', '2026-02-06T10:00:00Z'),
      event(23, 'closed', '2026-02-10T09:00:00Z'),
    ];
    await insertTables(store, mapped([...item, ...history]).tables);
    const rows = await queryRows<{ st: Array<[string, string, string, string, string]>; done_at: string; category: string }>(
      store,
      `SELECT i.st AS st, toString(i.done_at) AS done_at, i.status_category AS category FROM ${ITEMS} AS i WHERE i.source = 'github' AND i.item_id = '5001'`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.st.map((s) => [s[3], s[4]])).toEqual([
      ['todo', 'done'],
      ['done', 'todo'],
      ['todo', 'done'],
    ]);
    expect(rows[0]!.category).toBe('done');
    expect(rows[0]!.done_at).toBe('2026-02-10 09:00:00.000');
  });
});
