import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { DeploymentRow, DeploymentStatusRow, PipelineRunRow } from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { jenkinsBuild, type JenkinsBuild } from '../../test/fakes/jenkins.js';
import { queryRows, tempDir, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { mapContext } from '../../mapping/registry.js';
import { rowVersion } from '../../mapping/rows.js';
import { buildRecord } from './builds.js';
import { jenkinsWebhookRecords } from './webhook.js';

type Json = Record<string, unknown>;

const BASE = 'https://ci.example.com';
const HOST = 'ci.example.com';
const DEPLOY = `jenkins:${HOST}/payments/deploy`;
const CI = `jenkins:${HOST}/payments/ci`;

const config = loadConfig({
  env: { PTEL_JENKINS_API_TOKEN: 'jenkins-token', PTEL_JENKINS_WEBHOOK_TOKEN: 'hook-token' },
  overrides: { 'sources.jenkins': { baseUrl: BASE, user: 'ci', jobs: ['payments/deploy', 'payments/ci'] } },
  cwd: tempDir(),
});

const org = orgSchema.parse({
  programs: [
    {
      id: 'commerce',
      name: 'Commerce',
      teams: [
        {
          id: 'payments',
          name: 'Payments',
          ci: { pipelines: [DEPLOY, CI] },
          services: [{ name: 'payments-api', pipelines: [DEPLOY] }],
        },
        // Owns a deploying pipeline through its service only.
        { id: 'web', name: 'Web', services: [{ name: 'storefront', pipelines: [`jenkins:${HOST}/web/release`] }] },
      ],
    },
  ],
});
const ctx = mapContext({ org });

const pull = (job: string, raw: Json): RawEvent[] => eventsOf([buildRecord(HOST, job, raw)], 'jenkins/builds');
const hook = (body: Json, receivedAt = new Date('2026-01-01T00:10:00Z')): RawEvent[] =>
  eventsOf(jenkinsWebhookRecords(body, config, receivedAt), 'webhook/jenkins');

/** A build of the fake Jenkins, as GET /job/<path>/api/json lists it under BASE. */
function fakeBuild(job: string, number: number, result: string | null, overrides: Json = {}): JenkinsBuild {
  const b = jenkinsBuild(job, number, Date.parse('2026-01-01T00:00:00Z'), result, 95_000);
  return { ...b, url: String(b.url).replace('http://jenkins.invalid', BASE), ...overrides };
}

const revisionOf = (b: JenkinsBuild): { SHA1: string; branch: Array<{ name: string }> } =>
  (b['actions'] as Json[]).find((a) => a['lastBuiltRevision'] !== undefined)!['lastBuiltRevision'] as {
    SHA1: string;
    branch: Array<{ name: string }>;
  };

/** The Notification plugin's delivery for a build (its documented JSON: name, url, build{...}). */
function notification(job: string, b: JenkinsBuild, phase: string, extra: Json = {}): Json {
  const path = job
    .split('/')
    .map((n) => `job/${n}/`)
    .join('');
  const revision = revisionOf(b);
  return {
    name: job.split('/').at(-1),
    display_name: job.split('/').at(-1),
    url: path,
    build: {
      full_url: `${BASE}/${path}${b.number}/`,
      number: b.number,
      queue_id: 7,
      timestamp: b.timestamp,
      phase,
      ...(phase === 'STARTED' ? {} : { status: b.result, duration: b.duration }),
      url: `${path}${b.number}/`,
      scm: {
        url: 'https://github.com/acme/payments.git',
        branch: revision.branch[0]!.name,
        commit: revision.SHA1,
        changes: [],
        culprits: [],
      },
      parameters: { ENV: 'production' },
      log: '',
      notes: '',
      artifacts: {},
      ...extra,
    },
  };
}

/** Jenkins' documented /api/json of a finished freestyle build, with the Git plugin's BuildData. */
const documented: Json = {
  _class: 'hudson.model.FreeStyleBuild',
  actions: [
    {
      _class: 'hudson.model.ParametersAction',
      parameters: [
        { _class: 'hudson.model.StringParameterValue', name: 'Environment', value: 'prod' },
        { _class: 'hudson.model.BooleanParameterValue', name: 'DRY_RUN', value: false },
      ],
    },
    {
      _class: 'hudson.model.CauseAction',
      causes: [{ _class: 'hudson.model.Cause$UserIdCause', shortDescription: 'Started by user admin' }],
    },
    {
      _class: 'hudson.plugins.git.util.BuildData',
      lastBuiltRevision: {
        SHA1: '3f0b5d7e2c1a9b8f6e4d2c0a1b3c5d7e9f1a2b3c',
        branch: [{ SHA1: '3f0b5d7e2c1a9b8f6e4d2c0a1b3c5d7e9f1a2b3c', name: 'refs/remotes/origin/main' }],
      },
      remoteUrls: ['https://github.com/acme/payments.git'],
      scmName: '',
    },
    {},
    { _class: 'hudson.plugins.git.GitTagAction' },
  ],
  artifacts: [],
  building: false,
  description: null,
  displayName: '#42',
  duration: 95_000,
  estimatedDuration: 90_000,
  executor: null,
  fullDisplayName: 'payments » deploy #42',
  id: '42',
  keepLog: false,
  number: 42,
  queueId: 7,
  result: 'SUCCESS',
  timestamp: 1_767_225_600_000,
  url: `${BASE}/job/payments/job/deploy/42/`,
  builtOn: '',
  changeSet: { _class: 'hudson.plugins.git.GitChangeSetList', items: [], kind: 'git' },
};

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('jenkins.build', () => {
  it("maps a documented finished build of a deploying pipeline to a run, a deployment and the deployment's outcome", () => {
    const events = pull('payments/deploy', documented);
    const tables = mappedOk(events, ctx);
    const id = events[0]!.id;
    const version = rowVersion('2026-01-01T00:01:35.000Z', 2);
    expect(tables['pipeline_runs']).toEqual([
      {
        source: 'jenkins',
        run_id: `${HOST}/payments/deploy#42`,
        repo: '',
        pipeline: DEPLOY,
        name: 'payments/deploy',
        sha: '3f0b5d7e2c1a9b8f6e4d2c0a1b3c5d7e9f1a2b3c',
        branch: 'main',
        trigger: '',
        status: 'done',
        result: 'success',
        raw_result: 'SUCCESS',
        attempt: 1,
        created_at: '2026-01-01T00:00:00.000Z',
        started_at: '2026-01-01T00:00:00.000Z',
        finished_at: '2026-01-01T00:01:35.000Z',
        service: 'payments-api',
        team: 'payments',
        program: 'commerce',
        url: `${BASE}/job/payments/job/deploy/42/`,
        raw_event_id: id,
        version,
      } satisfies PipelineRunRow,
    ]);
    expect(tables['deployments']).toEqual([
      {
        source: 'jenkins',
        deployment_id: `${HOST}/payments/deploy#42`,
        repo: '',
        service: 'payments-api',
        environment: 'prod',
        is_production: 1,
        sha: '3f0b5d7e2c1a9b8f6e4d2c0a1b3c5d7e9f1a2b3c',
        ref: 'main',
        description: '',
        is_rollback: 0,
        created_at: '2026-01-01T00:00:00.000Z',
        team: 'payments',
        program: 'commerce',
        url: `${BASE}/job/payments/job/deploy/42/`,
        raw_event_id: id,
        version,
      } satisfies DeploymentRow,
    ]);
    expect(tables['deployment_statuses']).toEqual([
      {
        source: 'jenkins',
        deployment_id: `${HOST}/payments/deploy#42`,
        status_id: 'success',
        state: 'success',
        raw_state: 'SUCCESS',
        at: '2026-01-01T00:01:35.000Z',
        raw_event_id: id,
        version,
      } satisfies DeploymentStatusRow,
    ]);
  });

  it('a started and a finished build give one event and identical rows as a pull and as a notification', () => {
    const running = fakeBuild('payments/deploy', 7, null);
    const finished = fakeBuild('payments/deploy', 7, 'FAILURE', { building: false, duration: 42_000 });
    const pairs: Array<[RawEvent[], RawEvent[]]> = [
      [pull('payments/deploy', running), hook(notification('payments/deploy', running, 'STARTED'))],
      [pull('payments/deploy', finished), hook(notification('payments/deploy', finished, 'COMPLETED'))],
      [pull('payments/deploy', finished), hook(notification('payments/deploy', finished, 'FINALIZED'))],
    ];
    for (const [pulled, pushed] of pairs) {
      expect(pulled[0]!.id).toBe(pushed[0]!.id);
      expect(mappedOk(pushed, ctx)).toEqual(mappedOk(pulled, ctx));
    }
    const started = mappedOk(pairs[0]![0], ctx);
    expect(started['pipeline_runs']![0]).toMatchObject({
      status: 'running',
      result: '',
      raw_result: '',
      finished_at: null,
      branch: 'main',
    });
    expect(started['deployment_statuses']).toEqual([
      expect.objectContaining({ status_id: 'in_progress', state: 'in_progress', raw_state: '', at: '2026-01-01T00:00:00.000Z' }),
    ]);
    expect(mappedOk(pairs[1]![0], ctx)['pipeline_runs']![0]).toMatchObject({
      status: 'done',
      result: 'failure',
      raw_result: 'FAILURE',
      finished_at: '2026-01-01T00:00:42.000Z',
      sha: revisionOf(finished).SHA1,
    });
  });

  it('a notification without a duration ends when it was received; a build still finishing is running', () => {
    const finished = fakeBuild('payments/ci', 3, 'SUCCESS');
    const body = notification('payments/ci', finished, 'COMPLETED');
    delete (body['build'] as Json)['duration'];
    const rows = mappedOk(hook(body, new Date('2026-01-01T00:02:00.500Z')), ctx)['pipeline_runs']!;
    expect(rows[0]).toMatchObject({
      status: 'done',
      finished_at: '2026-01-01T00:02:00.500Z',
      version: rowVersion('2026-01-01T00:02:00.500Z', 2),
    });
    const finishing = fakeBuild('payments/ci', 4, 'SUCCESS', { building: true, duration: 0 });
    expect(mappedOk(pull('payments/ci', finishing), ctx)['pipeline_runs']![0]).toMatchObject({
      status: 'running',
      result: '',
      raw_result: '',
    });
  });

  it('maps each Jenkins result; a pipeline no service deploys gives no deployment', () => {
    const results = ['SUCCESS', 'FAILURE', 'UNSTABLE', 'ABORTED', 'NOT_BUILT', null];
    const events = results.flatMap((r, n) => pull('payments/ci', fakeBuild('payments/ci', n + 1, r)));
    const tables = mappedOk(events, ctx);
    expect(tables['pipeline_runs']!.map((r) => [r['raw_result'], r['result'], r['status'], r['team'], r['service']])).toEqual([
      ['SUCCESS', 'success', 'done', 'payments', ''],
      ['FAILURE', 'failure', 'done', 'payments', ''],
      ['UNSTABLE', 'failure', 'done', 'payments', ''],
      ['ABORTED', 'cancelled', 'done', 'payments', ''],
      ['NOT_BUILT', 'skipped', 'done', 'payments', ''],
      ['', '', 'running', 'payments', ''],
    ]);
    expect(tables['deployments']).toBeUndefined();
    const deploys = results.flatMap((r, n) => pull('payments/deploy', fakeBuild('payments/deploy', n + 1, r)));
    expect(mappedOk(deploys, ctx)['deployment_statuses']!.map((r) => [r['raw_state'], r['state']])).toEqual([
      ['SUCCESS', 'success'],
      ['FAILURE', 'failure'],
      ['UNSTABLE', 'failure'],
      ['ABORTED', 'cancelled'],
      ['NOT_BUILT', 'cancelled'],
      ['', 'in_progress'],
    ]);
  });

  it('the environment comes from an environment / env / deploy_env / target parameter, else production', () => {
    const params = (parameters: Json[]): Json[] => [{ _class: 'hudson.model.ParametersAction', parameters }];
    const cases: Array<[Json[], string, number]> = [
      [params([{ name: 'DEPLOY_ENV', value: 'staging' }]), 'staging', 0],
      [params([{ name: 'Target', value: 'live' }]), 'live', 1],
      [
        params([
          { name: 'target', value: 'qa' },
          { name: 'env', value: 'prd' },
        ]),
        'prd',
        1,
      ],
      [params([{ name: 'REGION', value: 'eu-west-1' }]), 'production', 1],
      [[], 'production', 1],
    ];
    const events = cases.flatMap(([actions], n) => pull('web/release', fakeBuild('web/release', n + 1, 'SUCCESS', { actions })));
    const tables = mappedOk(events, ctx);
    expect(tables['deployments']!.map((r) => [r['environment'], r['is_production'], r['sha'], r['service'], r['team']])).toEqual(
      cases.map(([, env, prod]) => [env, prod, '', 'storefront', 'web']),
    );
    // The team comes from the service when no team lists the pipeline itself.
    expect(tables['pipeline_runs']!.every((r) => r['team'] === 'web' && r['program'] === 'commerce')).toBe(true);
  });

  it('dead letters name the field: an unknown result, a stored build without its start time', () => {
    const weird = pull('payments/ci', fakeBuild('payments/ci', 1, 'WEIRD'));
    const pushed = hook(notification('payments/ci', fakeBuild('payments/ci', 2, 'WEIRD'), 'COMPLETED'));
    const stored = pull('payments/ci', fakeBuild('payments/ci', 3, 'SUCCESS'));
    delete (stored[0]!.data as Json)['timestamp'];
    const { outcomes } = mapEvents([...weird, ...pushed, ...stored], ctx);
    expect(outcomes.map((o) => o.outcome)).toEqual([
      {
        kind: 'dead_letter',
        code: 'invalid_payload',
        reason: expect.stringContaining("field 'result': unknown Jenkins result 'WEIRD'") as unknown,
      },
      { kind: 'dead_letter', code: 'invalid_payload', reason: expect.stringContaining("field 'build.status'") as unknown },
      { kind: 'dead_letter', code: 'invalid_payload', reason: expect.stringContaining("field 'timestamp'") as unknown },
    ]);
  });
});

describe('jenkins in the store', () => {
  it('rows fit the schema; out-of-order and duplicate versions converge on the finished build', async () => {
    const running = fakeBuild('payments/deploy', 99, null);
    const finished = fakeBuild('payments/deploy', 99, 'ABORTED', { building: false, duration: 0 });
    const started = hook(notification('payments/deploy', running, 'STARTED'));
    const done = pull('payments/deploy', finished);
    const final = hook(notification('payments/deploy', finished, 'FINALIZED'));
    for (const events of [done, started, final, started, pull('payments/deploy', documented)])
      await insertTables(store, mappedOk(events, ctx));
    const run = `${HOST}/payments/deploy#99`;
    expect(
      await queryRows(store, 'SELECT status, result, raw_result FROM pipeline_runs FINAL WHERE run_id = {run:String}', { run }),
    ).toEqual([{ status: 'done', result: 'cancelled', raw_result: 'ABORTED' }]);
    expect(await queryRows(store, 'SELECT count() AS n FROM deployments FINAL WHERE deployment_id = {run:String}', { run })).toEqual([
      { n: '1' },
    ]);
    expect(
      await queryRows(
        store,
        'SELECT status_id, state, at FROM deployment_statuses FINAL WHERE deployment_id = {run:String} ORDER BY at, status_id',
        {
          run,
        },
      ),
    ).toEqual([
      { status_id: 'cancelled', state: 'cancelled', at: '2026-01-01 00:00:00.000' },
      { status_id: 'in_progress', state: 'in_progress', at: '2026-01-01 00:00:00.000' },
    ]);
    expect(
      await queryRows(store, "SELECT count() AS n FROM pipeline_runs FINAL WHERE run_id LIKE 'ci.example.com/payments/deploy#%'"),
    ).toEqual([{ n: '2' }]);
  });
});
