import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { gitlabDataset } from '../../test/fakes/gitlab.js';
import { queryRows, repoRoot, tempDir, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mapEvents, mappedOk } from '../../test/support/mapping.js';
import { mapContext } from '../../mapping/registry.js';
import { rowVersion } from '../../mapping/rows.js';
import { deploymentRecord, jobRecord, mergeRequestRecord, pipelineRecord } from './records.js';
import { gitlabWebhook } from './webhook.js';

type Json = Record<string, unknown>;
const FIXTURES = path.join(repoRoot, 'test/fixtures/gitlab');
const fixture = (file: string): Json => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as Json;
const config = loadConfig({ env: {}, cwd: tempDir() });

/** The events the webhook publishes for a delivery body. */
function hook(body: Json): RawEvent[] {
  const records = gitlabWebhook.records(
    { headers: {}, rawBody: Buffer.from(''), body, receivedAt: new Date('2026-06-01T00:00:00Z') },
    config,
  );
  return eventsOf(records, 'webhook/gitlab');
}
const pulled = (records: SourceRecord[], stream: string): RawEvent[] => eventsOf(records, `gitlab/${stream}`);

const org = orgSchema.parse({
  programs: [
    {
      id: 'commerce',
      name: 'Commerce',
      teams: [
        {
          id: 'checkout',
          name: 'Checkout',
          repositories: ['TomaszKolek/my-awesome-project', 'vedant8600317/test'],
          ci: { pipelines: ['gitlab:gitlab.com/tomaszkolek/my-awesome-project'] },
          services: [{ name: 'awesome', repositories: ['TomaszKolek/my-awesome-project'] }],
        },
      ],
    },
  ],
});
const ctx = mapContext({ org });

const REPO = 'gitlab.com/tomaszkolek/my-awesome-project';
const WEB = 'https://gitlab.com/TomaszKolek/my-awesome-project';

/** The REST pipeline (GET /projects/:id/pipelines item) of the pipeline the hook fixtures report. */
const restPipeline = (status: string, updatedAt: string): Json => ({
  id: 4414206,
  iid: 12,
  project_id: 1740047,
  sha: '6f88e719ccde3804b1b669cef9dfb236a92fbbff',
  ref: 'master',
  status,
  source: 'push',
  created_at: '2016-09-28T20:04:55.482Z',
  updated_at: updatedAt,
  web_url: `${WEB}/-/pipelines/4414206`,
});

/** A pipeline hook as current GitLab sends it: the fixture plus the pipeline's source. */
const pipelineHook = (file: string): Json => {
  const body = fixture(file);
  (body['object_attributes'] as Json)['source'] = 'push';
  return body;
};

describe('gitlab.pipeline and gitlab.job', () => {
  it('maps a pipeline hook to its run and the jobs it lists', () => {
    const tables = mappedOk(hook(pipelineHook('pipeline_hook__pipeline_succeeded.json')), ctx);
    const events = hook(pipelineHook('pipeline_hook__pipeline_succeeded.json'));
    expect(tables['pipeline_runs']).toEqual([
      {
        source: 'gitlab',
        run_id: `${REPO}/pipelines/4414206`,
        repo: REPO,
        pipeline: `gitlab:${REPO}`,
        name: '',
        sha: '6f88e719ccde3804b1b669cef9dfb236a92fbbff',
        branch: 'master',
        trigger: 'push',
        status: 'done',
        result: 'success',
        raw_result: 'success',
        attempt: 1,
        created_at: '2016-09-28T20:04:55.000Z',
        started_at: null,
        finished_at: '2016-09-28T20:22:34.000Z',
        service: 'awesome',
        team: 'checkout',
        program: 'commerce',
        url: `${WEB}/-/pipelines/4414206`,
        raw_event_id: events[0]!.id,
        version: rowVersion('2016-09-28T20:22:34.000Z', 7),
      },
    ]);
    const jobs = tables['pipeline_jobs']!;
    expect(jobs).toHaveLength(2);
    expect(jobs.find((j) => j['job_id'] === `${REPO}/jobs/4541113`)).toEqual({
      source: 'gitlab',
      job_id: `${REPO}/jobs/4541113`,
      run_id: `${REPO}/pipelines/4414206`,
      repo: REPO,
      pipeline: `gitlab:${REPO}`,
      name: 'job_name2',
      sha: '6f88e719ccde3804b1b669cef9dfb236a92fbbff',
      status: 'done',
      result: 'success',
      raw_result: 'success',
      started_at: '2016-09-28T20:21:52.000Z',
      finished_at: '2016-09-28T20:22:34.000Z',
      team: 'checkout',
      program: 'commerce',
      url: `${WEB}/-/jobs/4541113`,
      raw_event_id: events.find((e) => e.subject.endsWith('/jobs/4541113'))!.id,
      version: rowVersion('2016-09-28T20:22:34.000Z', 7),
    });
  });

  it('maps job hooks, old ones without project or pipeline id included', () => {
    const [started] = mappedOk(hook(fixture('build_started.json')))['pipeline_jobs']!;
    expect(started).toMatchObject({ job_id: `${REPO}/jobs/4541112`, status: 'running', result: '', raw_result: 'running', run_id: '' });
    expect(started).toMatchObject({ started_at: '2016-09-28T20:21:04.000Z', finished_at: null, url: `${WEB}/-/jobs/4541112` });
    const [created] = mappedOk(hook(fixture('job_hook__build_created.json')))['pipeline_jobs']!;
    expect(created).toMatchObject({
      repo: '192.168.64.1:3005/gitlab-org/gitlab-test',
      status: 'queued',
      run_id: '192.168.64.1:3005/gitlab-org/gitlab-test/pipelines/2366',
    });
  });

  it('maps the pull shape and the hook shape of one pipeline and job version to the same rows', () => {
    const body = pipelineHook('pipeline_hook__pipeline_succeeded.json');
    const fromHook = mappedOk(hook(body), ctx);
    const rest = restPipeline('success', '2016-09-28T20:22:34.310Z');
    const restJob = {
      id: 4541113,
      name: 'job_name2',
      stage: 'test',
      status: 'success',
      ref: 'master',
      tag: false,
      allow_failure: false,
      created_at: '2016-09-28T20:04:56.102Z',
      started_at: '2016-09-28T20:21:52.820Z',
      finished_at: '2016-09-28T20:22:34.011Z',
      duration: 41.2,
      user: { id: 745906, username: 'TomaszKolek' },
      commit: { id: '6f88e719ccde3804b1b669cef9dfb236a92fbbff', title: 'x' },
      pipeline: { id: 4414206, project_id: 1740047, ref: 'master', sha: '6f88e719ccde3804b1b669cef9dfb236a92fbbff', status: 'success' },
      web_url: `${WEB}/-/jobs/4541113`,
    };
    const host = 'gitlab.com';
    const path = 'TomaszKolek/my-awesome-project';
    const fromPull = mappedOk(
      pulled(
        [
          pipelineRecord(host, path, rest as never, rest, rest['updated_at'] as string),
          jobRecord(host, path, 4541113, 'success', restJob, restJob.finished_at),
        ],
        'pipelines',
      ),
      ctx,
    );
    // The REST created_at has milliseconds, so the connector gives the pipeline versions different
    // event ids: both may be stored, and their rows differ only in the event they came from.
    const withoutEvent = (rows: Json[] | undefined) => rows?.map(({ raw_event_id: _, ...r }) => r);
    expect(withoutEvent(fromPull['pipeline_runs'])).toEqual(withoutEvent(fromHook['pipeline_runs']));
    expect(fromPull['pipeline_jobs']).toEqual(fromHook['pipeline_jobs']!.filter((j) => j['job_id'] === `${REPO}/jobs/4541113`));
    // The job as a job hook of current GitLab (with its pipeline id) gives the same row too.
    const jobHook = { ...fixture('build_succeeded.json'), build_id: 4541113, build_name: 'job_name2', pipeline_id: 4414206 };
    Object.assign(jobHook, {
      sha: '6f88e719ccde3804b1b669cef9dfb236a92fbbff',
      build_created_at: '2016-09-28 20:04:56 UTC',
      build_started_at: '2016-09-28 20:21:52 UTC',
      build_finished_at: '2016-09-28 20:22:34 UTC',
    });
    expect(mappedOk(hook(jobHook), ctx)['pipeline_jobs']).toEqual(fromPull['pipeline_jobs']);
  });

  it('maps every pipeline and job of the fake GitLab', () => {
    const records: SourceRecord[] = [];
    for (const p of gitlabDataset({ start: Date.UTC(2026, 4, 1) })) {
      for (const pl of p.pipelines) {
        records.push(pipelineRecord('gitlab.example', p.path_with_namespace, pl, pl, pl.updated_at));
        for (const j of p.jobs.get(pl.id) ?? [])
          records.push(jobRecord('gitlab.example', p.path_with_namespace, j.id, j.status, j, j.finished_at!));
      }
    }
    const tables = mappedOk(pulled(records, 'pipelines'));
    expect(tables['pipeline_runs']).toHaveLength(10);
    expect(tables['pipeline_jobs']).toHaveLength(20);
    expect(tables['pipeline_runs']!.filter((r) => r['result'] === 'failure')).toHaveLength(2);
    expect(tables['pipeline_jobs']![0]).toMatchObject({
      repo: 'gitlab.example/acme/service-0',
      run_id: 'gitlab.example/acme/service-0/pipelines/1000',
    });
  });

  it('dead-letters a payload without what the rows need, naming the field', () => {
    const rest = restPipeline('success', '2016-09-28T20:22:34.310Z');
    const event = pulled(
      [pipelineRecord('gitlab.com', 'TomaszKolek/my-awesome-project', rest as never, rest, '2016-09-28T20:22:34Z')],
      'pipelines',
    )[0]!;
    const { created_at: _, ...noCreated } = rest;
    expect(mapEvents([{ ...event, data: noCreated }]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'created_at'") as unknown,
    });
    const body = pipelineHook('pipeline_hook__pipeline_succeeded.json');
    const jobEvent = hook(body).find((e) => e.type === 'gitlab.job')!;
    (jobEvent.data as { builds: Json[] }).builds = [];
    expect(mapEvents([jobEvent]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'builds'") as unknown,
    });
  });
});

/** The REST deployment (GET /projects/:id/deployments item) of the deployment in deployment_hook__succeeded.json. */
const restDeployment = {
  id: 988572802,
  iid: 7,
  ref: 'master',
  sha: '58793660b22d6ceacbdc23b28a0562bca339702c',
  status: 'success',
  created_at: '2025-05-02T11:54:40.123Z',
  updated_at: '2025-05-02T11:55:16.480Z',
  user: { id: 27470334, username: 'theofficialvedantjoshi' },
  environment: { id: 1, name: 'production', slug: 'production', external_url: null, tier: 'production' },
  deployable: {
    id: 9905389091,
    status: 'success',
    name: 'deploy',
    web_url: 'https://gitlab.com/vedant8600317/test/-/jobs/9905389091',
    commit: { id: '58793660b22d6ceacbdc23b28a0562bca339702c', title: 'Update .gitlab-ci.yml file' },
  },
};

describe('gitlab.deployment', () => {
  const DEP = 'gitlab.com/vedant8600317/test/deployments/988572802';

  it('maps a deployment hook to the deployment and its status', () => {
    const events = hook(fixture('deployment_hook__succeeded.json'));
    const tables = mappedOk(events, ctx);
    expect(tables['deployments']).toEqual([
      {
        source: 'gitlab',
        deployment_id: DEP,
        repo: 'gitlab.com/vedant8600317/test',
        service: 'test',
        environment: 'production',
        is_production: 1,
        sha: '58793660b22d6ceacbdc23b28a0562bca339702c',
        ref: 'master',
        description: 'Update .gitlab-ci.yml file',
        is_rollback: 0,
        created_at: '2025-05-02T11:55:16.000Z',
        team: 'checkout',
        program: 'commerce',
        url: 'https://gitlab.com/vedant8600317/test/-/jobs/9905389091',
        raw_event_id: events[0]!.id,
        version: (Date.UTC(2100, 0, 1) - Date.parse('2025-05-02T11:55:16Z')) * 1000,
      },
    ]);
    expect(tables['deployment_statuses']).toEqual([
      {
        source: 'gitlab',
        deployment_id: DEP,
        status_id: 'success',
        state: 'success',
        raw_state: 'success',
        at: '2025-05-02T11:55:16.000Z',
        raw_event_id: events[0]!.id,
        version: rowVersion('2025-05-02T11:55:16Z'),
      },
    ]);
  });

  it('maps every delivered status, approvals included, and the tier marks production', () => {
    const states = [
      ['deployment_hook.json', 'in_progress'],
      ['deployment_hook__blocked.json', 'queued'],
      ['deployment_hook__approval.json', 'queued'],
      ['deployment_hook__rejected.json', 'cancelled'],
      ['deployment_hook__canceled.json', 'cancelled'],
      ['deployment_hook__failed.json', 'failure'],
    ];
    for (const [file, state] of states) expect(mappedOk(hook(fixture(file!)))['deployment_statuses']![0]).toMatchObject({ state });
    const staging = { ...fixture('deployment_hook__succeeded.json'), environment: 'eu-main' };
    expect(mappedOk(hook(staging))['deployments']![0]).toMatchObject({ environment: 'eu-main', is_production: 1 });
    expect(mappedOk(hook({ ...staging, environment_tier: 'staging' }))['deployments']![0]).toMatchObject({ is_production: 0 });
  });

  it('maps the pull shape like the hook; the exact creation time of the pull wins under FINAL', async () => {
    const fromHook = mappedOk(hook(fixture('deployment_hook__succeeded.json')), ctx);
    const pull = pulled(
      [deploymentRecord('gitlab.com', 'vedant8600317/test', 988572802, 'success', restDeployment, restDeployment.updated_at)],
      'deployments',
    );
    expect(pull[0]!.id).toBe(hook(fixture('deployment_hook__succeeded.json'))[0]!.id);
    const fromPull = mappedOk(pull, ctx);
    // Everything but the creation time, which the hook does not carry.
    const { created_at: _c, version: _v, ...same } = fromHook['deployments']![0]!;
    expect(fromPull['deployments']![0]).toMatchObject({ ...same, created_at: '2025-05-02T11:54:40.000Z' });
    expect(fromPull['deployment_statuses']![0]).toEqual(fromHook['deployment_statuses']![0]);
    expect(fromPull['deployment_statuses']![1]).toMatchObject({ status_id: 'created', state: 'queued', at: '2025-05-02T11:54:40.000Z' });
    await insertTables(store, fromPull);
    await insertTables(store, fromHook);
    const rows = await queryRows<Json>(store, `SELECT created_at FROM deployments FINAL WHERE deployment_id = {id:String}`, { id: DEP });
    expect(rows).toEqual([{ created_at: '2025-05-02 11:54:40.000' }]);
  });

  it('dead-letters a hook without its commit URL', () => {
    const { commit_url: _, ...body } = fixture('deployment_hook__succeeded.json');
    const event = { ...hook(fixture('deployment_hook__succeeded.json'))[0]!, data: body };
    expect(mapEvents([event]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field 'commit_url'") as unknown,
    });
  });
});

/** The REST merge request (GET /projects/:id/merge_requests item) the merged hook reports. */
const restMergeRequest = {
  id: 756509,
  iid: 3,
  project_id: 1534233,
  title: 'New Merge Request',
  description: 'updated desc',
  state: 'merged',
  created_at: '2016-08-22T20:27:22.704Z',
  updated_at: '2016-08-22T20:41:06.352Z',
  merged_at: '2016-08-22T20:41:06.101Z',
  closed_at: null,
  target_branch: 'master',
  source_branch: 'tomek',
  author: { id: 670043, username: 'tomaszkolek0' },
  labels: [],
  draft: false,
  work_in_progress: false,
  sha: 'f423fe3fedbc09f64ef438bedbde12caa161ee14',
  merge_commit_sha: '5bcfb805534d13224e8fa7698a2819bf0d055f29',
  squash_commit_sha: null,
  squash: false,
  web_url: 'https://gitlab.com/tomaszkolek0/my-awesome-project/merge_requests/3',
};

describe('gitlab.merge_request and gitlab.merge_request_commits', () => {
  const MR_REPO = 'gitlab.com/tomaszkolek0/my-awesome-project';

  it('maps a merged merge request hook', () => {
    const events = hook(fixture('merge_request_merged.json'));
    expect(mappedOk(events)['pull_requests']).toEqual([
      {
        source: 'gitlab',
        repo: MR_REPO,
        number: 3,
        pr_id: '756509',
        title: 'New Merge Request',
        author: mapContext().people.id('gitlab', 670043),
        state: 'merged',
        raw_state: 'merged',
        draft: 0,
        base_branch: 'master',
        head_branch: 'tomek',
        head_sha: 'f423fe3fedbc09f64ef438bedbde12caa161ee14',
        merge_commit_sha: '5bcfb805534d13224e8fa7698a2819bf0d055f29',
        labels: [],
        created_at: '2016-08-22T20:27:22.000Z',
        updated_at: '2016-08-22T20:41:06.000Z',
        merged_at: '2016-08-22T20:41:06.000Z',
        closed_at: '2016-08-22T20:41:06.000Z',
        team: '',
        program: '',
        url: 'https://gitlab.com/tomaszkolek0/my-awesome-project/merge_requests/3',
        raw_event_id: events[0]!.id,
        version: rowVersion('2016-08-22T20:41:06Z', 3),
        is_deleted: 0,
      },
    ]);
  });

  it('maps the other hook states and the labels', () => {
    const closed = mappedOk(hook(fixture('merge_request_closed.json')))['pull_requests']![0];
    expect(closed).toMatchObject({ state: 'closed', raw_state: 'closed', merged_at: null });
    expect(closed!['closed_at']).not.toBeNull();
    const opened = mappedOk(hook(fixture('merge_request_hook__merge_request_created_with_multiple_assignees.json')))['pull_requests']![0];
    expect(opened).toMatchObject({ state: 'open', closed_at: null, merged_at: null });
    const locked = fixture('merge_request_merged.json');
    (locked['object_attributes'] as Json)['state'] = 'locked';
    locked['labels'] = [{ id: 1, title: 'hotfix' }];
    expect(mappedOk(hook(locked))['pull_requests']![0]).toMatchObject({
      state: 'open',
      raw_state: 'locked',
      labels: ['hotfix'],
      merged_at: null,
    });
  });

  it('maps the pull shape of the same version to the same row; a squashed fast-forward stores the squash commit', () => {
    const fromHook = mappedOk(hook(fixture('merge_request_merged.json')));
    const pull = pulled(
      [mergeRequestRecord('gitlab.com', 'tomaszkolek0/my-awesome-project', 3, 'merged', restMergeRequest.updated_at, restMergeRequest)],
      'merge_requests',
    );
    expect(pull[0]!.id).toBe(hook(fixture('merge_request_merged.json'))[0]!.id);
    expect(mappedOk(pull)['pull_requests']).toEqual(fromHook['pull_requests']);
    const squashed = {
      ...restMergeRequest,
      squash: true,
      merge_commit_sha: null,
      squash_commit_sha: 'abc123abc123abc123abc123abc123abc123abc1',
    };
    expect(mappedOk([{ ...pull[0]!, data: squashed }])['pull_requests']![0]).toMatchObject({
      merge_commit_sha: squashed.squash_commit_sha,
    });
  });

  it('maps the commit list of a merge request to its commit row and the commits', () => {
    const list = [
      {
        id: 'f423fe3fedbc09f64ef438bedbde12caa161ee14',
        short_id: 'f423fe3f',
        title: 'new',
        message: 'new\n',
        author_name: 'Tomasz Kolek',
        author_email: 'tomasz-kolek@o2.pl',
        authored_date: '2016-08-22T22:34:57.000+02:00',
        committed_date: '2016-08-22T22:35:10.000+02:00',
        created_at: '2016-08-22T22:35:10.000+02:00',
        parent_ids: ['600060393d326486c12f222ba78d569dab6b4114'],
      },
      {
        id: '600060393d326486c12f222ba78d569dab6b4114',
        short_id: '60006039',
        title: 'new commit',
        message: 'new commit\n',
        author_name: 'Tomasz Kolek',
        author_email: 'tomasz-kolek@o2.pl',
        authored_date: '2016-08-22T21:31:34.000+02:00',
        committed_date: '2016-08-22T21:31:34.000+02:00',
        created_at: '2016-08-22T21:31:34.000+02:00',
        parent_ids: ['5bcfb805534d13224e8fa7698a2819bf0d055f29'],
      },
    ];
    const events = pulled(
      [
        mergeRequestRecord(
          'gitlab.com',
          'tomaszkolek0/my-awesome-project',
          3,
          'merged',
          restMergeRequest.updated_at,
          list,
          'gitlab.merge_request_commits',
        ),
      ],
      'merge_requests',
    );
    const tables = mappedOk(events);
    const prc = tables['pull_request_commits']![0]!;
    expect(prc).toMatchObject({
      source: 'gitlab',
      repo: MR_REPO,
      number: 3,
      head_sha: 'f423fe3fedbc09f64ef438bedbde12caa161ee14',
      shas: ['600060393d326486c12f222ba78d569dab6b4114', 'f423fe3fedbc09f64ef438bedbde12caa161ee14'],
      authored_at: ['2016-08-22T19:31:34.000Z', '2016-08-22T20:34:57.000Z'],
    });
    expect(tables['commits']![1]).toEqual({
      source: 'gitlab',
      repo: MR_REPO,
      sha: 'f423fe3fedbc09f64ef438bedbde12caa161ee14',
      parents: ['600060393d326486c12f222ba78d569dab6b4114'],
      parents_known: 1,
      author: '',
      authored_at: '2016-08-22T20:34:57.000Z',
      committed_at: '2016-08-22T20:35:10.000Z',
      fingerprint: (prc['fingerprints'] as string[])[1],
      team: '',
      program: '',
      raw_event_id: events[0]!.id,
      version: rowVersion('2016-08-22T20:41:06.352Z'),
    });
    const { authored_date: _, ...broken } = list[1]!;
    expect(mapEvents([{ ...events[0]!, data: [list[0], broken] }]).outcomes[0]!.outcome).toMatchObject({
      kind: 'dead_letter',
      reason: expect.stringContaining("field '1.authored_date'") as unknown,
    });
  });

  it('maps the merge requests and commit lists of the fake GitLab', () => {
    const records: SourceRecord[] = [];
    for (const p of gitlabDataset({ start: Date.UTC(2026, 4, 1) })) {
      for (const mr of p.mergeRequests) {
        records.push(mergeRequestRecord('gitlab.example', p.path_with_namespace, mr.iid, mr.state, mr.updated_at, mr));
        records.push(
          mergeRequestRecord(
            'gitlab.example',
            p.path_with_namespace,
            mr.iid,
            mr.state,
            mr.updated_at,
            p.commits.get(mr.iid) ?? [],
            'gitlab.merge_request_commits',
          ),
        );
      }
      for (const d of p.deployments)
        records.push(deploymentRecord('gitlab.example', p.path_with_namespace, d.id, d.status, d, d.updated_at));
    }
    const tables = mappedOk(pulled(records, 'merge_requests'));
    expect(tables['pull_requests']).toHaveLength(6);
    expect(tables['pull_request_commits']).toHaveLength(6);
    expect(tables['commits']).toHaveLength(12);
    expect(tables['deployments']).toHaveLength(6);
    expect(tables['commits']![0]).toMatchObject({ parents: [], parents_known: 0 });
  });
});

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

describe('gitlab rows in the store', () => {
  it('fit the schema, and duplicates and out-of-order versions converge on the latest under FINAL', async () => {
    const events = [
      ...hook(pipelineHook('pipeline_hook__pipeline_succeeded.json')),
      ...hook(pipelineHook('pipeline_started.json')),
      ...hook(pipelineHook('pipeline_hook__pipeline_pending.json')),
      ...hook(pipelineHook('pipeline_started.json')),
      ...hook(fixture('merge_request_merged.json')),
      ...hook(fixture('merge_request_hook__merge_request_updated.json')),
      ...hook(fixture('merge_request_hook__merge_request_updated.json')),
      ...hook(fixture('deployment_hook__succeeded.json')),
      ...hook(fixture('deployment_hook.json')),
    ];
    await insertTables(store, mappedOk(events, ctx));
    const runs = await queryRows<Json>(store, 'SELECT status, result, finished_at FROM pipeline_runs FINAL WHERE run_id = {id:String}', {
      id: `${REPO}/pipelines/4414206`,
    });
    expect(runs).toEqual([{ status: 'done', result: 'success', finished_at: '2016-09-28 20:22:34.000' }]);
    const jobs = await queryRows<Json>(store, `SELECT job_id, status FROM pipeline_jobs FINAL WHERE repo = {repo:String} ORDER BY job_id`, {
      repo: REPO,
    });
    expect(jobs).toEqual([
      { job_id: `${REPO}/jobs/4541112`, status: 'done' },
      { job_id: `${REPO}/jobs/4541113`, status: 'done' },
    ]);
    const prs = await queryRows<Json>(
      store,
      `SELECT state, merge_commit_sha FROM pull_requests FINAL WHERE source = 'gitlab' AND number = 3`,
    );
    expect(prs).toEqual([{ state: 'merged', merge_commit_sha: '5bcfb805534d13224e8fa7698a2819bf0d055f29' }]);
    const statuses = await queryRows<Json>(
      store,
      `SELECT status_id, state FROM deployment_statuses FINAL WHERE deployment_id = 'gitlab.com/vedant8600317/test/deployments/988572802' ORDER BY at`,
    );
    expect(statuses).toEqual([
      { status_id: 'created', state: 'queued' },
      { status_id: 'running', state: 'in_progress' },
      { status_id: 'success', state: 'success' },
    ]);
  });
});
