import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { queryRows, repoRoot, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { mapContext } from '../../mapping/registry.js';
import { rowVersion } from '../../mapping/rows.js';
import { shaOfPurl } from './mapper.js';
import { kindOf } from './schemas.js';
import { cdeventRecord } from './webhook.js';

type Json = Record<string, unknown>;
const EXAMPLES = path.join(repoRoot, 'test/fixtures/cdevents/examples');
const example = (name: string): Json => JSON.parse(readFileSync(path.join(EXAMPLES, `${name}.json`), 'utf8')) as Json;

/** The example with another event id, time or subject fields, as a tool would send the next event. */
function variant(name: string, change: { id?: string; timestamp?: string; subject?: Json; content?: Json } = {}): Json {
  const e = example(name);
  const context = e['context'] as Json;
  const subject = e['subject'] as Json;
  if (change.id !== undefined) context['id'] = change.id;
  if (change.timestamp !== undefined) context['timestamp'] = change.timestamp;
  Object.assign(subject, change.subject ?? {});
  Object.assign(subject['content'] as Json, change.content ?? {});
  return e;
}

/** The events the receiver publishes for these CDEvents. */
const received = (...events: Json[]): RawEvent[] =>
  eventsOf(
    events.map((e) => cdeventRecord(e)),
    'webhook/cdevents',
  );

const org = orgSchema.parse({
  programs: [
    {
      id: 'shop',
      name: 'Shop',
      teams: [
        {
          id: 'apps',
          name: 'Apps',
          repositories: ['TestRepo/TestOrg'],
          ci: { pipelines: ['cdevents:/event/source/123 myPipeline'] },
          services: [{ name: 'my-app', aliases: ['myApp', 'mySubject123'] }],
        },
      ],
    },
  ],
});
const ctx = mapContext({ org });
const AT = '2023-03-20T14:27:05.315Z';

describe('cdevents mappers', () => {
  it('every accepted example maps ok or is dropped with a reason; no dead letters', () => {
    const files = readdirSync(EXAMPLES).map((f) => f.replace(/\.json$/, ''));
    const accepted = files.filter((f) => kindOf((example(f)['context'] as { type: string }).type) !== undefined);
    expect(accepted.length).toBeGreaterThan(20);
    const { outcomes } = mapEvents(received(...accepted.map(example)), ctx);
    const byKind = Object.fromEntries(outcomes.map((o, i) => [accepted[i]!, o.outcome.kind]));
    expect(Object.values(byKind).filter((k) => k === 'dead_letter')).toEqual([]);
    expect(byKind).toMatchObject({
      environment_created: 'drop',
      artifact_published: 'drop',
      testcaserun_finished: 'drop',
      pipelinerun_finished: 'ok',
      testsuiterun_finished: 'ok',
      ticket_updated: 'ok',
    });
  });

  it('maps pipeline runs with their lifecycle, outcome and owner', () => {
    const events = received(example('pipelinerun_finished'));
    expect(mappedOk(events, ctx)['pipeline_runs']).toEqual([
      {
        source: 'cdevents',
        run_id: '/event/source/123 mySubject123',
        repo: '',
        pipeline: 'cdevents:/event/source/123 myPipeline',
        name: 'myPipeline',
        sha: '',
        branch: '',
        trigger: '',
        status: 'done',
        result: 'failure',
        raw_result: 'failure',
        attempt: 1,
        created_at: AT,
        started_at: null,
        finished_at: AT,
        service: '',
        team: 'apps',
        program: 'shop',
        url: 'https://www.example.com/mySubject123',
        raw_event_id: events[0]!.id,
        version: rowVersion(AT, 2),
      },
    ]);
    const [queued, started] = [mappedOk(received(example('pipelinerun_queued'))), mappedOk(received(example('pipelinerun_started')))];
    expect(queued['pipeline_runs']![0]).toMatchObject({ status: 'queued', result: '', version: rowVersion(AT, 0) });
    expect(started['pipeline_runs']![0]).toMatchObject({
      status: 'running',
      started_at: AT,
      finished_at: null,
      version: rowVersion(AT, 1),
    });
    const cancelled = variant('pipelinerun_finished', { id: 'x2', content: { outcome: 'cancel' } });
    expect(mappedOk(received(cancelled))['pipeline_runs']![0]).toMatchObject({ result: 'cancelled', raw_result: 'cancel' });
    const errored = variant('pipelinerun_finished', { id: 'x3', content: { outcome: 'error' } });
    expect(mappedOk(received(errored))['pipeline_runs']![0]).toMatchObject({ result: 'failure', raw_result: 'error' });
  });

  it('keeps each step of a run, a change, an incident and a ticket in lifecycle_events', () => {
    const steps = received(
      variant('pipelinerun_queued', { id: 'q', timestamp: '2023-03-20T14:00:00Z' }),
      variant('pipelinerun_started', { id: 's', timestamp: '2023-03-20T14:01:00Z' }),
      variant('pipelinerun_finished', { id: 'f', timestamp: '2023-03-20T14:09:00Z' }),
      example('incident_detected'),
      example('change_created'),
      example('ticket_created'),
    );
    const rows = mappedOk(steps, ctx)['lifecycle_events']!;
    expect(rows.map((r) => [r['entity'], r['step'], r['at']])).toEqual([
      ['pipeline_run', 'queued', '2023-03-20T14:00:00.000Z'],
      ['pipeline_run', 'started', '2023-03-20T14:01:00.000Z'],
      ['pipeline_run', 'finished', '2023-03-20T14:09:00.000Z'],
      ['incident', 'detected', expect.any(String)],
      ['pull_request', 'created', expect.any(String)],
      ['work_item', 'created', expect.any(String)],
    ]);
    // The entity id is the key of the entity's own row.
    expect(rows[0]!['entity_id']).toBe(mappedOk(steps.slice(0, 1), ctx)['pipeline_runs']![0]!['run_id']);
  });

  it('maps task runs and test suite runs to jobs, builds to runs of the build pipeline', () => {
    const task = mappedOk(received(example('taskrun_finished')))['pipeline_jobs']![0];
    expect(task).toMatchObject({
      job_id: '/event/source/123 mySubject123',
      run_id: '/event/source/123 mySubject123',
      name: 'myTask',
      status: 'done',
      finished_at: AT,
    });
    const suite = mappedOk(received(example('testsuiterun_finished')))['pipeline_jobs']![0];
    expect(suite).toMatchObject({
      job_id: '/event/source/123 myTestSuiteRun123',
      name: 'Auth TestSuite',
      status: 'done',
      result: 'failure',
    });
    const build = mappedOk(received(example('build_finished')))['pipeline_runs']![0];
    expect(build).toMatchObject({ pipeline: 'cdevents:/event/source/123 build', name: 'build', status: 'done', result: '', sha: '' });
    const fromCommit = variant('build_finished', { content: { artifactId: 'pkg:golang/mygit.com/myorg/myapp@234fd47e07d1004f0aed9c' } });
    expect(mappedOk(received(fromCommit))['pipeline_runs']![0]).toMatchObject({ sha: '234fd47e07d1004f0aed9c' });
  });

  it('maps changes to pull requests', () => {
    const events = received(example('change_created'));
    expect(mappedOk(events, ctx)['pull_requests']).toEqual([
      {
        source: 'cdevents',
        repo: 'testrepo/testorg',
        number: expect.any(Number) as unknown,
        pr_id: '/event/source/123 mySubject123',
        title: 'This PR address a bug from a recent PR',
        author: '',
        state: 'open',
        raw_state: 'created',
        draft: 0,
        base_branch: '',
        head_branch: '',
        head_sha: '',
        merge_commit_sha: '',
        labels: [],
        created_at: AT,
        updated_at: AT,
        merged_at: null,
        closed_at: null,
        team: 'apps',
        program: 'shop',
        url: '',
        raw_event_id: events[0]!.id,
        version: rowVersion(AT, 0),
        is_deleted: 0,
      },
    ]);
    const merged = mappedOk(received(variant('change_merged', { subject: { id: '42' } })))['pull_requests']![0];
    expect(merged).toMatchObject({ number: 42, state: 'merged', merged_at: AT, closed_at: AT });
    expect(mappedOk(received(example('change_abandoned')))['pull_requests']![0]).toMatchObject({ state: 'closed', merged_at: null });
    expect(mappedOk(received(example('change_reviewed')))['pull_requests']![0]).toMatchObject({ state: 'open', raw_state: 'reviewed' });
  });

  it('maps service events to deployments and their status', () => {
    const events = received(example('service_deployed'));
    const tables = mappedOk(events, ctx);
    const id = '/event/source/123 mySubject123 271069a8-fc18-44f1-b38f-9d70a1695819';
    expect(tables['deployments']).toEqual([
      {
        source: 'cdevents',
        deployment_id: id,
        repo: '',
        service: 'my-app',
        environment: 'test123',
        is_production: 0,
        sha: '',
        ref: '',
        description: 'pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427',
        is_rollback: 0,
        created_at: AT,
        team: 'apps',
        program: 'shop',
        url: '',
        raw_event_id: events[0]!.id,
        version: rowVersion(AT, 2),
      },
    ]);
    expect(tables['deployment_statuses']).toEqual([
      {
        source: 'cdevents',
        deployment_id: id,
        status_id: 'deployed',
        state: 'success',
        raw_state: 'deployed',
        at: AT,
        raw_event_id: events[0]!.id,
        version: rowVersion(AT, 2),
      },
    ]);
    const rollback = variant('service_rolledback', {
      subject: { id: 'checkout' },
      content: { environment: { id: 'prod' }, artifactId: 'pkg:github/acme/checkout@9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d' },
    });
    expect(mappedOk(received(rollback), ctx)['deployments']![0]).toMatchObject({
      service: 'checkout',
      is_rollback: 1,
      is_production: 1,
      sha: '9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d',
      team: '',
    });
    expect(mappedOk(received(example('service_removed')))['deployment_statuses']![0]).toMatchObject({
      state: 'inactive',
      raw_state: 'removed',
    });
    expect(mappedOk(received(example('service_upgraded')))['deployment_statuses']![0]).toMatchObject({ state: 'success' });
    expect(mappedOk(received(example('service_published')))['deployments']![0]).toMatchObject({ environment: 'test123', is_rollback: 0 });
  });

  it('maps incidents and tickets', () => {
    const events = received(example('incident_reported'));
    expect(mappedOk(events, ctx)['incidents']).toEqual([
      {
        source: 'cdevents',
        incident_id: '/monitoring/prod1 incident-123',
        number: 'incident-123',
        title: 'Response time above threshold of 100ms',
        service_id: 'myApp',
        service: 'my-app',
        urgency: '',
        severity: '',
        raw_severity: '',
        status: 'triggered',
        raw_status: 'reported',
        created_at: '2022-11-11T13:52:20.079Z',
        acknowledged_at: null,
        resolved_at: null,
        description: 'Response time above threshold of 100ms',
        team: 'apps',
        program: 'shop',
        url: 'https://my-issues.example/incidents/ticket-345',
        raw_event_id: events[0]!.id,
        version: rowVersion('2022-11-11T13:52:20.079Z', 1),
      },
    ]);
    expect(mappedOk(received(example('incident_resolved')))['incidents']![0]).toMatchObject({
      status: 'resolved',
      resolved_at: expect.any(String) as unknown,
    });
    const tickets = received(example('ticket_closed'));
    expect(mappedOk(tickets)['work_items']).toEqual([
      {
        source: 'cdevents',
        item_id: '/ticketing/system ticket-123',
        key: 'ticket-123',
        project: 'security',
        type: 'task',
        kind: 'task',
        status: 'closed',
        status_category: 'done',
        priority: 'high',
        priority_rank: 2,
        assignee: '',
        reporter: '',
        components: [],
        labels: ['bug'],
        due_date: null,
        start_date: null,
        fix_versions: ['123'],
        affects_versions: [],
        sprints: [],
        parent_id: '',
        story_points: null,
        original_estimate_seconds: null,
        time_spent_seconds: null,
        severity: '',
        found_in: '',
        created_at: '2022-11-11T13:52:20.079Z',
        updated_at: '2022-11-11T13:52:20.079Z',
        resolved_at: '2022-11-11T13:52:20.079Z',
        resolution: 'completed',
        summary: 'New CVE-123 detected',
        team: '',
        program: '',
        url: 'https://example.issues.com/ticket123',
        raw_event_id: tickets[0]!.id,
        version: rowVersion('2022-11-11T13:52:20.079Z', 2),
        is_deleted: 0,
      },
    ]);
    expect(mappedOk(received(example('ticket_created')))['work_items']![0]).toMatchObject({ status_category: 'todo', resolved_at: null });
  });

  it('dead-letters an event without what the rows need, naming the field', () => {
    const [event] = received(example('ticket_created'));
    const data = structuredClone(event!.data) as { subject: { content: Json } };
    delete data.subject.content['uri'];
    expect(mapEvents([{ ...event!, data }]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'subject.content.uri'") as unknown,
    });
    const wrong = { ...received(example('service_deployed'))[0]!, type: 'cdevents.incident' };
    expect(mapEvents([wrong]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'context.type'") as unknown,
    });
    const noTime = structuredClone(received(example('pipelinerun_started'))[0]!);
    delete ((noTime.data as Json)['context'] as Json)['timestamp'];
    expect(mapEvents([noTime]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'context.timestamp'") as unknown,
    });
  });

  it('reads commits from package URLs, not image digests', () => {
    expect(shaOfPurl('pkg:oci/myapp@sha256%3A0b31b1c02ff458ad9b7b81cbdf8f028bd54699fa151f221d1e8de6817db93427')).toBe('');
    expect(shaOfPurl('pkg:golang/mygit.com/myorg/myapp@234fd47e07d1004f0aed9c')).toBe('234fd47e07d1004f0aed9c');
    expect(shaOfPurl('pkg:oci/app@sha256%3Aab?vcs_url=git%2Bhttps%3A%2F%2Fgit.example%2Fapp.git%40ABCDEF1234567')).toBe('abcdef1234567');
    expect(shaOfPurl('pkg:npm/left-pad@1.3.0')).toBe('');
    expect(shaOfPurl(undefined)).toBe('');
  });
});

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('cdevents rows in the store', () => {
  it('fit the schema, and duplicates and out-of-order events converge on the latest under FINAL', async () => {
    const files = readdirSync(EXAMPLES).map((f) => f.replace(/\.json$/, ''));
    const accepted = files.filter((f) => kindOf((example(f)['context'] as { type: string }).type) !== undefined);
    await insertTables(store, mapEvents(received(...accepted.map(example)), ctx).tables);
    // One run, its three events in one millisecond, delivered out of order and twice.
    const run = ['pipelinerun_finished', 'pipelinerun_started', 'pipelinerun_queued', 'pipelinerun_started'].map((f) =>
      variant(f, { subject: { id: 'run-7' }, id: `${f}-id` }),
    );
    const later = variant('ticket_created', { id: 't0', timestamp: '2022-11-11T13:50:00Z' });
    await insertTables(store, mappedOk(received(...run, later, example('ticket_updated')), ctx));
    const runs = await queryRows<Json>(store, `SELECT status, result FROM pipeline_runs FINAL WHERE run_id = '/event/source/123 run-7'`);
    expect(runs).toEqual([{ status: 'done', result: 'failure' }]);
    const tickets = await queryRows<Json>(
      store,
      `SELECT status, status_category FROM work_items FINAL WHERE item_id = '/ticketing/system ticket-123'`,
    );
    expect(tickets).toEqual([{ status: 'closed', status_category: 'done' }]);
    // The five service examples share their subject and their event id, so they are one deployment
    // whose statuses are the five predicates.
    const deployments = await queryRows<Json>(store, `SELECT count() AS n FROM deployments FINAL WHERE source = 'cdevents'`);
    expect(deployments).toEqual([{ n: '1' }]);
    const statuses = await queryRows<Json>(
      store,
      `SELECT status_id FROM deployment_statuses FINAL WHERE source = 'cdevents' ORDER BY status_id`,
    );
    expect(statuses.map((s) => s['status_id'])).toEqual(['deployed', 'published', 'removed', 'rolledback', 'upgraded']);
  });
});
