import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workItemRow } from '../../../test/support/rows.js';
import { defaultModel } from '../../../infra/config/schema.js';
import type { Store } from '../../../infra/store/client.js';
import type {
  IncidentRow,
  LifecycleEventRow,
  MilestoneRow,
  PipelineJobRow,
  PipelineRunRow,
  ReleaseRow,
  WorkItemRow,
} from '../../../schemas/domain.js';
import { testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain, testParams } from '../../../test/support/metrics.js';
import { link } from '../../link/linker.js';
import {
  ciFlakyRate,
  ciSuccessRate,
  defectEscapeRate,
  postLaunchIncidents,
  postLaunchIncidentsWeighted,
  QUALITY_METRICS,
} from './quality.js';

/**
 * Hand-computed scenarios at the level of the domain tables. The weeks are those of Monday 2 March 2026
 * and Monday 9 March 2026; the expected values are worked out in the comments beside the facts.
 */
const day = (d: string, time = '12:00'): string => `2026-${d}T${time}:00.000Z`;
const checkout = { team: 'checkout', program: 'payments' };
const search = { team: 'search', program: 'payments' };
const v = { raw_event_id: 'e', version: 1 };

type Read = Awaited<ReturnType<typeof compute>>;

describe('quality metric definitions', () => {
  it('have unique ids and cite their item', () => {
    const ids = QUALITY_METRICS.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([
      'defect_escape_rate',
      'post_launch_incidents',
      'post_launch_incidents_weighted',
      'ci_success_rate',
      'ci_duration_p50',
      'ci_duration_p90',
      'ci_flaky_rate',
    ]);
    expect(new Set(QUALITY_METRICS.map((m) => m.item))).toEqual(new Set([7, 8, 9]));
  });
});

function incident(
  id: string,
  number: string,
  service: string,
  owner: { team: string; program: string },
  at: string,
  severity: string,
): IncidentRow {
  return {
    ...v,
    ...owner,
    source: 'pagerduty',
    incident_id: id,
    number,
    title: `Incident ${number}`,
    service_id: `P${service.toUpperCase()}`,
    service,
    urgency: 'high',
    severity,
    raw_severity: severity,
    status: 'resolved',
    raw_status: 'resolved',
    created_at: at,
    acknowledged_at: null,
    resolved_at: null,
    description: '',
    url: '',
  };
}

// ---------------------------------------------------------------------------------------------
// 7. Defect escape rate

function workItem(id: string, key: string, created: string, extra: Partial<WorkItemRow> = {}): WorkItemRow {
  return workItemRow({
    ...v,
    ...checkout,
    item_id: id,
    key,
    project: key.split('-')[0]!,
    type: 'Bug',
    kind: 'bug',
    status: 'Open',
    status_category: 'todo',
    priority: 'High',
    priority_rank: 2,
    created_at: created,
    updated_at: created,
    summary: `Bug ${key}`,
    ...extra,
  });
}

describe('defect escape rate', () => {
  let store: Store;
  let read: Read;
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, {
      incidents: [incident('PINC1', '101', 'api', checkout, day('03-04'), 'sev2')],
      work_items: [
        // week of 2 March, team checkout
        workItem('1', 'CHK-1', day('03-02'), { found_in: 'Production', affects_versions: ['version/100'], fix_versions: ['version/101'] }), // escaped: found_in
        workItem('2', 'CHK-2', day('03-03'), { labels: ['customer-reported'] }), // escaped: label
        workItem('3', 'CHK-3', day('03-04'), { found_in: 'staging' }), // not escaped
        workItem('4', 'CHK-4', day('03-05'), { summary: 'Cart empty (incident #101)' }), // escaped: incident reference
        // a duplicate is not a bug found: left out of both sides
        workItem('5', 'CHK-5', day('03-05'), { found_in: 'Production', resolution: 'Duplicate', status_category: 'done' }),
        // a story with a production label is not a bug
        workItem('6', 'CHK-6', day('03-05'), { kind: 'story', type: 'Story', labels: ['production'] }),
        // deleted: its deletion row (higher version) drops it
        workItem('7', 'CHK-7', day('03-06'), { found_in: 'Production' }),
        { ...workItem('7', 'CHK-7', day('03-06'), { found_in: 'Production' }), is_deleted: 1, version: 2 },
        // week of 9 March, team checkout: not escaped
        workItem('9', 'CHK-9', day('03-10'), { found_in: 'qa' }),
        // week of 2 March, team search: escaped by label
        workItem('20', 'SRCH-1', day('03-03'), { ...search, labels: ['prod'] }),
      ],
    });
    await link({ store, model: defaultModel(), now: new Date('2026-03-20T00:00:00Z') });
    // Created after the linker's run: not classified yet, so not (yet) found in production.
    await insertTables(store, { work_items: [workItem('8', 'CHK-8', day('03-06'), { labels: ['production'] })] });
    read = await compute(store, [defectEscapeRate], '2026-03-01', '2026-04-01');
  });
  afterAll(() => store.close());

  it('divides bugs found in production by bugs found, per team, program and org', async () => {
    // checkout, week of 2 March: CHK-1 (found_in), CHK-2 (label), CHK-4 (incident #101) escaped; CHK-3 (staging)
    // and CHK-8 (unclassified) did not: 3 / 5. CHK-5 (duplicate), CHK-6 (story), CHK-7 (deleted) are not counted.
    expect(await read('defect_escape_rate', 'team:checkout', 'week', '2026-03-02')).toEqual({
      value: 0.6,
      numerator: 3,
      denominator: 5,
      sample_size: 5,
    });
    // checkout, week of 9 March: CHK-9 found in qa: 0 / 1
    expect(await read('defect_escape_rate', 'team:checkout', 'week', '2026-03-09')).toEqual({
      value: 0,
      numerator: 0,
      denominator: 1,
      sample_size: 1,
    });
    expect(await read('defect_escape_rate', 'team:search', 'week', '2026-03-02')).toEqual({
      value: 1,
      numerator: 1,
      denominator: 1,
      sample_size: 1,
    });
    // payments, March: the 6 checkout bugs (3 escaped) and SRCH-1 (escaped): 4 / 7
    expect(await read('defect_escape_rate', 'program:payments', 'month', '2026-03-01')).toEqual({
      value: 4 / 7,
      numerator: 4,
      denominator: 7,
      sample_size: 7,
    });
    // org, day 3 March: CHK-2 and SRCH-1, both escaped
    expect(await read('defect_escape_rate', 'org:org', 'day', '2026-03-03')).toEqual({
      value: 1,
      numerator: 2,
      denominator: 2,
      sample_size: 2,
    });
    // bugs have no service or repository: no value there
    expect(await read('defect_escape_rate', 'service:api', 'week', '2026-03-02')).toBeUndefined();
  });

  it('explains each bug with the rule that made it count and its versions', async () => {
    const rows = await explain(store, defectEscapeRate, 'team:checkout', 'week', '2026-03-02');
    expect(rows.map((r) => [r.item, r.num, r.den])).toEqual([
      ['CHK-1 "Bug CHK-1"', 1, 1],
      ['CHK-2 "Bug CHK-2"', 1, 1],
      ['CHK-3 "Bug CHK-3"', 0, 1],
      ['CHK-4 "Cart empty (incident #101)"', 1, 1],
      ['CHK-8 "Bug CHK-8"', 0, 1],
    ]);
    expect(rows[0]!.detail).toBe(
      'found in production by found_in (explicit): found in "Production"; affects versions: version/100; fix versions: version/101',
    );
    expect(rows[1]!.detail).toContain('found in production by label (explicit): label "customer-reported"');
    expect(rows[2]!.detail).toContain('not found in production (no_match)');
    expect(rows[3]!.detail).toContain('by incident_reference (explicit)');
    expect(rows[3]!.detail).toContain('incident pagerduty PINC1');
    expect(rows[4]!.detail).toContain('not classified yet');
  });
});

// ---------------------------------------------------------------------------------------------
// 8. Post-launch incidents

function release(
  id: string,
  repo: string,
  tag: string,
  service: string,
  owner: typeof checkout,
  published: string | null,
  extra: Partial<ReleaseRow> = {},
): ReleaseRow {
  return {
    ...v,
    ...owner,
    is_deleted: 0,
    source: 'github',
    release_id: id,
    repo,
    tag,
    name: tag,
    is_draft: 0,
    is_prerelease: 0,
    created_at: published ?? day('03-01'),
    published_at: published,
    service,
    url: '',
    ...extra,
  };
}

function version(id: string, name: string, owner: typeof checkout, state: MilestoneRow['state'], completed: string | null): MilestoneRow {
  return {
    ...v,
    ...owner,
    is_deleted: 0,
    source: 'jira',
    milestone_id: `version/${id}`,
    kind: 'version',
    name,
    project: owner.team.toUpperCase(),
    state,
    raw_state: state,
    start_date: null,
    committed_date: completed === null ? null : completed.slice(0, 10),
    completed_at: completed,
    url: '',
  };
}

describe('post-launch incidents', () => {
  let store: Store;
  let read: Read;
  const metrics = [postLaunchIncidents, postLaunchIncidentsWeighted];
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, {
      releases: [
        // R1 covers service api from 2 March 10:00 to 16 March 10:00 (14 days)
        release('1', 'acme/api', 'v1.0', 'api', checkout, day('03-02', '10:00')),
        // a pre-release, a draft and a deleted release are not releases
        release('2', 'acme/api', 'v1.1-rc1', 'api', checkout, day('03-03'), { is_prerelease: 1 }),
        release('3', 'acme/api', 'v1.1', 'api', checkout, null, { is_draft: 1 }),
        release('4', 'acme/api', 'v0.9', 'api', checkout, day('03-02', '11:00')),
        { ...release('4', 'acme/api', 'v0.9', 'api', checkout, day('03-02', '11:00')), is_deleted: 1, version: 2 },
        // R5 covers service search from 20 March
        release('5', 'acme/search', 'v3.0', 'search', search, day('03-20', '00:00')),
      ],
      milestones: [
        // V1 covers team checkout's services (api, web) from 10 March 00:00 to 24 March 00:00
        version('100', 'Checkout 2026.3', checkout, 'done', day('03-10', '00:00')),
        // V2 was released on 1 February and archived since: still a release, covering team search to 15 February
        version('200', 'Search 2026.1', search, 'archived', day('02-01', '00:00')),
        // not released
        version('300', 'Search 2026.4', search, 'open', null),
      ],
      incidents: [
        // week of 2 March: 1 day after R1 on api. sev1: weight 8
        incident('P1', '1', 'api', checkout, day('03-03'), 'sev1'),
        // on web: R1 covers only api and V1 is not released yet: not post-launch
        incident('P2', '2', 'web', checkout, day('03-04'), 'sev3'),
        // week of 9 March: after R1 (9 days) and V1 (1 day): counted once, for V1, the latest. sev2: weight 4
        incident('P3', '3', 'api', checkout, day('03-11'), 'sev2'),
        // on web, 2 days after V1 (team checkout). No severity: the weight of '', 1
        incident('P4', '4', 'web', checkout, day('03-12'), ''),
        // week of 16 March: after R1's window (ended 16 March 10:00) but within V1's. sev5: weight 1
        incident('P5', '5', 'api', checkout, day('03-17'), 'sev5'),
        // 12 h after R5 on search. sev2: weight 4
        incident('P6', '6', 'search', search, day('03-20'), 'sev2'),
        // February: 9 days after V2 (team search). SEV1 written in capitals: weight 8
        incident('P7', '7', 'search', search, day('02-10'), 'SEV1'),
        // 25 March: V1's window ended on 24 March 00:00: not post-launch
        incident('P8', '8', 'api', checkout, day('03-25'), 'sev1'),
      ],
    });
    await link({ store, model: defaultModel(), now: new Date('2026-04-01T00:00:00Z') });
    read = await compute(store, metrics, '2026-02-01', '2026-04-01');
  });
  afterAll(() => store.close());

  const count = (value: number, n: number) => ({ value, numerator: value, denominator: null, sample_size: n });

  it('counts incidents within the window after a release covering their service, once each', async () => {
    // team checkout: week of 2 March P1; week of 9 March P3 and P4; week of 16 March P5
    expect(await read('post_launch_incidents', 'team:checkout', 'week', '2026-03-02')).toEqual(count(1, 1));
    expect(await read('post_launch_incidents', 'team:checkout', 'week', '2026-03-09')).toEqual(count(2, 2));
    expect(await read('post_launch_incidents', 'team:checkout', 'week', '2026-03-16')).toEqual(count(1, 1));
    // service api in March: P1, P3, P5 (P8 is outside every window)
    expect(await read('post_launch_incidents', 'service:api', 'month', '2026-03-01')).toEqual(count(3, 3));
    expect(await read('post_launch_incidents', 'service:web', 'month', '2026-03-01')).toEqual(count(1, 1));
    // repository: from the attributed release; only P1 is attributed to a GitHub release of acme/api
    expect(await read('post_launch_incidents', 'repo:acme/api', 'month', '2026-03-01')).toEqual(count(1, 1));
    expect(await read('post_launch_incidents', 'repo:acme/search', 'month', '2026-03-01')).toEqual(count(1, 1));
    // program payments in March: P1, P3, P4, P5, P6; in February P7
    expect(await read('post_launch_incidents', 'program:payments', 'month', '2026-03-01')).toEqual(count(5, 5));
    expect(await read('post_launch_incidents', 'org:org', 'month', '2026-02-01')).toEqual(count(1, 1));
    expect(await read('post_launch_incidents', 'team:search', 'day', '2026-03-20')).toEqual(count(1, 1));
  });

  it('weights them by severity', async () => {
    // week of 9 March, team checkout: P3 sev2 (4) + P4 none (1) = 5
    expect(await read('post_launch_incidents_weighted', 'team:checkout', 'week', '2026-03-09')).toEqual(count(5, 2));
    // service api in March: P1 sev1 (8) + P3 sev2 (4) + P5 sev5 (1) = 13
    expect(await read('post_launch_incidents_weighted', 'service:api', 'month', '2026-03-01')).toEqual(count(13, 3));
    // program in March: 8 + 4 + 1 + 1 + 4 (P6 sev2) = 18
    expect(await read('post_launch_incidents_weighted', 'program:payments', 'month', '2026-03-01')).toEqual(count(18, 5));
    // February: P7 'SEV1' matches sev1 regardless of case: 8
    expect(await read('post_launch_incidents_weighted', 'team:search', 'month', '2026-02-01')).toEqual(count(8, 1));
  });

  it('explains each incident with the release it followed and how they were matched', async () => {
    const rows = await explain(store, postLaunchIncidents, 'team:checkout', 'week', '2026-03-09');
    expect(rows.map((r) => r.item)).toEqual(['incident #3 "Incident 3" on api', 'incident #4 "Incident 4" on web']);
    expect(rows[0]!.detail).toBe(
      'sev2, weight 4; started 1.5 days after jira version Checkout 2026.3 (version/100) (2026-03-10 00:00:00.000), matched on team checkout',
    );
    expect(rows[1]!.detail).toContain('no severity, weight 1; started 2.5 days after jira version Checkout 2026.3');
    const api = await explain(store, postLaunchIncidents, 'service:api', 'week', '2026-03-02');
    expect(api.map((r) => r.detail)).toEqual([
      'sev1, weight 8; started 1.08 days after github release acme/api v1.0 (1) (2026-03-02 10:00:00.000), matched on service api',
    ]);
  });

  it('reads the window and the weights from the parameters', async () => {
    // a 2-day window keeps P1 (1 day after R1), P3 (1 day after V1), P6 (0.5 days after R5); P4 (2.5 days) and
    // P5 (7 days) and P7 (9 days) drop out. sev2 weighs 10 instead of 4.
    const params = testParams({ post_launch_days: 2, severity_names: ['sev1', 'sev2'], severity_weights: [8, 10] });
    const r = await compute(store, metrics, '2026-02-01', '2026-04-01', params);
    expect(await r('post_launch_incidents', 'org:org', 'month', '2026-03-01')).toEqual(count(3, 3));
    // P1 8 + P3 10 + P6 10
    expect(await r('post_launch_incidents_weighted', 'org:org', 'month', '2026-03-01')).toEqual(count(28, 3));
    // February has no post-launch incident any more: the earlier value is retracted
    expect(await r('post_launch_incidents', 'org:org', 'month', '2026-02-01')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// 9. CI health

const API_CI = 'github:acme/api:ci.yml';
const WEB_CI = 'jenkins:web-build';
const SEARCH_CI = 'cdevents:ci search';

function run(
  source: string,
  id: string,
  pipeline: string,
  sha: string,
  result: PipelineRunRow['result'],
  started: string | null,
  finished: string | null,
  extra: Partial<PipelineRunRow> = {},
): PipelineRunRow {
  const owner = pipeline === SEARCH_CI ? search : checkout;
  return {
    ...v,
    ...owner,
    source,
    run_id: id,
    repo: pipeline === API_CI ? 'acme/api' : pipeline === WEB_CI ? 'acme/web' : '',
    pipeline,
    name: pipeline,
    sha,
    branch: 'main',
    trigger: 'push',
    status: finished === null ? 'running' : 'done',
    result,
    raw_result: result,
    attempt: 1,
    created_at: started ?? finished ?? day('03-01'),
    started_at: started,
    finished_at: finished,
    service: pipeline === API_CI ? 'api' : pipeline === WEB_CI ? 'web' : 'search',
    url: '',
    ...extra,
  };
}

function job(
  id: string,
  runId: string,
  name: string,
  sha: string,
  result: PipelineJobRow['result'],
  started: string,
  finished: string,
): PipelineJobRow {
  return {
    ...v,
    ...checkout,
    source: 'github',
    job_id: id,
    run_id: runId,
    repo: 'acme/api',
    pipeline: '',
    name,
    sha,
    status: 'done',
    result,
    raw_result: result,
    started_at: started,
    finished_at: finished,
    url: '',
  };
}

const step = (id: string, s: string, at: string): LifecycleEventRow => ({
  ...v,
  source: 'cdevents',
  entity: 'pipeline_run',
  entity_id: id,
  step: s,
  at,
});

describe('CI health', () => {
  let store: Store;
  let read: Read;
  const min = (m: number): number => m / 60;
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, {
      pipeline_runs: [
        // api (GitHub Actions), week of 2 March
        run('github', '1', API_CI, 's1', 'success', day('03-02', '10:00'), day('03-02', '10:10')), // 10 min
        // a re-run: the row is attempt 2, which passed; attempt 1's jobs are still there
        run('github', '2', API_CI, 's2', 'success', day('03-03', '10:00'), day('03-03', '10:30'), { attempt: 2 }), // 30 min
        run('github', '3', API_CI, 's3', 'failure', day('03-04', '10:00'), day('03-04', '10:20')), // 20 min
        // a second run of s3 with no start time: its first job's start (11:00), not its creation (10:55): 40 min
        run('github', '4', API_CI, 's3', 'success', null, day('03-04', '11:40'), { created_at: day('03-04', '10:55') }),
        // cancelled and running runs count nowhere
        run('github', '5', API_CI, 's4', 'cancelled', day('03-05', '10:00'), day('03-05', '10:01')),
        run('github', '6', API_CI, 's5', '', day('03-06', '10:00'), null),
        // web (Jenkins builds, no jobs): w1 failed, then passed on a rebuild
        run('jenkins', 'web#1', WEB_CI, 'w1', 'failure', day('03-05', '09:00'), day('03-05', '09:06')), // 6 min
        run('jenkins', 'web#2', WEB_CI, 'w1', 'success', day('03-05', '10:00'), day('03-05', '10:12')), // 12 min
        // week of 9 March
        run('jenkins', 'web#3', WEB_CI, 'w2', 'success', day('03-10', '09:00'), day('03-10', '09:30')), // 30 min
        // search (CDEvents): each row is the run's last step; its row's created_at is that step's time
        run('cdevents', 'cde-1', SEARCH_CI, '', 'success', null, day('03-06', '12:00')), // 45 min from the 'started' step
        run('cdevents', 'cde-2', SEARCH_CI, '', 'failure', null, day('03-06', '13:00')), // start unknown: no duration
        // week of 9 March: no 'started' step, so from its 'queued' step (08:00) to 08:20: 20 min
        run('cdevents', 'cde-3', SEARCH_CI, '', 'success', null, day('03-11', '08:20')),
      ],
      lifecycle_events: [
        step('cde-1', 'queued', day('03-06', '11:00')),
        step('cde-1', 'started', day('03-06', '11:15')),
        step('cde-1', 'finished', day('03-06', '12:00')),
        step('cde-2', 'finished', day('03-06', '13:00')),
        step('cde-3', 'queued', day('03-11', '08:00')),
        step('cde-3', 'finished', day('03-11', '08:20')),
      ],
      pipeline_jobs: [
        job('11', '1', 'build', 's1', 'success', day('03-02', '10:00'), day('03-02', '10:05')),
        job('12', '1', 'test', 's1', 'success', day('03-02', '10:05'), day('03-02', '10:10')),
        // run 2, attempt 1: test failed; attempt 2: both passed. (s2, test) is flaky
        job('21', '2', 'build', 's2', 'success', day('03-03', '09:00'), day('03-03', '09:05')),
        job('22', '2', 'test', 's2', 'failure', day('03-03', '09:05'), day('03-03', '09:10')),
        job('23', '2', 'build', 's2', 'success', day('03-03', '10:00'), day('03-03', '10:05')),
        job('24', '2', 'test', 's2', 'success', day('03-03', '10:05'), day('03-03', '10:30')),
        // runs 3 and 4 on s3: test failed, then passed in the next run. (s3, test) is flaky
        job('31', '3', 'build', 's3', 'success', day('03-04', '10:00'), day('03-04', '10:05')),
        job('32', '3', 'test', 's3', 'failure', day('03-04', '10:05'), day('03-04', '10:20')),
        job('41', '4', 'build', 's3', 'success', day('03-04', '11:00'), day('03-04', '11:05')),
        job('42', '4', 'test', 's3', 'success', day('03-04', '11:05'), day('03-04', '11:40')),
        // cancelled: neither passed nor failed
        job('51', '5', 'test', 's4', 'cancelled', day('03-05', '10:00'), day('03-05', '10:01')),
      ],
    });
    read = await compute(
      store,
      QUALITY_METRICS.filter((m) => m.item === 9),
      '2026-03-01',
      '2026-04-01',
    );
  });
  afterAll(() => store.close());

  it('gives the success rate of finished runs that passed or failed', async () => {
    // api: runs 1, 2, 4 passed, 3 failed (5 cancelled, 6 running): 3 / 4
    expect(await read('ci_success_rate', 'service:api', 'week', '2026-03-02')).toEqual({
      value: 0.75,
      numerator: 3,
      denominator: 4,
      sample_size: 4,
    });
    expect(await read('ci_success_rate', 'repo:acme/api', 'week', '2026-03-02')).toEqual({
      value: 0.75,
      numerator: 3,
      denominator: 4,
      sample_size: 4,
    });
    // checkout: api 3 / 4 and web 1 / 2: 4 / 6
    expect(await read('ci_success_rate', 'team:checkout', 'week', '2026-03-02')).toEqual({
      value: 4 / 6,
      numerator: 4,
      denominator: 6,
      sample_size: 6,
    });
    // checkout in March: also web#3 passed on 10 March: 5 / 7
    expect(await read('ci_success_rate', 'team:checkout', 'month', '2026-03-01')).toEqual({
      value: 5 / 7,
      numerator: 5,
      denominator: 7,
      sample_size: 7,
    });
    // search: cde-1 passed, cde-2 failed
    expect(await read('ci_success_rate', 'team:search', 'week', '2026-03-02')).toEqual({
      value: 0.5,
      numerator: 1,
      denominator: 2,
      sample_size: 2,
    });
    // search in March: also cde-3 passed: 2 / 3
    expect(await read('ci_success_rate', 'team:search', 'month', '2026-03-01')).toEqual({
      value: 2 / 3,
      numerator: 2,
      denominator: 3,
      sample_size: 3,
    });
    // org: 3 / 4 + 1 / 2 + 1 / 2 = 5 / 8
    expect(await read('ci_success_rate', 'org:org', 'week', '2026-03-02')).toEqual({
      value: 5 / 8,
      numerator: 5,
      denominator: 8,
      sample_size: 8,
    });
  });

  it('gives the median and p90 duration, with start times from lifecycle events and jobs', async () => {
    const close = async (
      metric: string,
      scope: `${'org' | 'team' | 'service' | 'repo'}:${string}`,
      period: 'week' | 'month',
      start: string,
      value: number,
      n: number,
    ) => {
      const got = await read(metric, scope, period, start);
      expect(got?.value).toBeCloseTo(value, 9);
      expect(got?.sample_size).toBe(n);
      expect(got?.numerator).toBeNull();
    };
    // api: 10, 20, 30, 40 min. Median (20 + 30) / 2 = 25 min; p90 at rank 0.9 * 3 = 2.7: 30 + 0.7 * 10 = 37 min
    await close('ci_duration_p50', 'service:api', 'week', '2026-03-02', min(25), 4);
    await close('ci_duration_p90', 'service:api', 'week', '2026-03-02', min(37), 4);
    // checkout: 6, 10, 12, 20, 30, 40 min. Median (12 + 20) / 2 = 16 min; p90 at rank 4.5: 30 + 0.5 * 10 = 35 min
    await close('ci_duration_p50', 'team:checkout', 'week', '2026-03-02', min(16), 6);
    await close('ci_duration_p90', 'team:checkout', 'week', '2026-03-02', min(35), 6);
    // search: cde-1 from its 'started' step 11:15 to 12:00 = 45 min; cde-2 has no start and is left out
    await close('ci_duration_p50', 'team:search', 'week', '2026-03-02', min(45), 1);
    // org: 6, 10, 12, 20, 30, 40, 45 min. Median 20 min; p90 at rank 5.4: 40 + 0.4 * 5 = 42 min
    await close('ci_duration_p50', 'org:org', 'week', '2026-03-02', min(20), 7);
    await close('ci_duration_p90', 'org:org', 'week', '2026-03-02', min(42), 7);
    // search in March: cde-1 45 min and cde-3 20 min (from its 'queued' step): median 32.5 min
    await close('ci_duration_p50', 'team:search', 'month', '2026-03-01', min(32.5), 2);
    // web in March: 6, 12, 30 min: median 12 min
    await close('ci_duration_p50', 'repo:acme/web', 'month', '2026-03-01', min(12), 3);
  });

  it('gives the flaky rate of (pipeline, commit, job) combinations', async () => {
    // api: (s1 build), (s1 test), (s2 build), (s2 test: failed then passed), (s3 build), (s3 test: failed then passed): 2 / 6.
    // s4's job was cancelled and counts nowhere.
    expect(await read('ci_flaky_rate', 'repo:acme/api', 'week', '2026-03-02')).toEqual({
      value: 2 / 6,
      numerator: 2,
      denominator: 6,
      sample_size: 6,
    });
    // web: builds without jobs are their own job; w1 failed and passed: 1 / 1
    expect(await read('ci_flaky_rate', 'service:web', 'week', '2026-03-02')).toEqual({
      value: 1,
      numerator: 1,
      denominator: 1,
      sample_size: 1,
    });
    // checkout in March: 2 / 6 + 1 / 1 + (w2 passed once) = 3 / 8
    expect(await read('ci_flaky_rate', 'team:checkout', 'month', '2026-03-01')).toEqual({
      value: 3 / 8,
      numerator: 3,
      denominator: 8,
      sample_size: 8,
    });
    // search: CDEvents runs name no commit: nothing to compare
    expect(await read('ci_flaky_rate', 'team:search', 'week', '2026-03-02')).toBeUndefined();
  });

  it('explains runs and combinations per pipeline', async () => {
    const runs = await explain(store, ciSuccessRate, 'team:checkout', 'week', '2026-03-02');
    expect(runs.map((r) => [r.item, r.num])).toEqual([
      [`github run 1 of ${API_CI} at s1`, 1],
      [`github run 2 of ${API_CI} (attempt 2) at s2`, 1],
      [`github run 3 of ${API_CI} at s3`, 0],
      [`github run 4 of ${API_CI} at s3`, 1],
      [`jenkins run web#1 of ${WEB_CI} at w1`, 0],
      [`jenkins run web#2 of ${WEB_CI} at w1`, 1],
    ]);
    const combos = await explain(store, ciFlakyRate, 'service:api', 'week', '2026-03-02');
    const flaky = combos.filter((r) => r.num === 1);
    expect(flaky.map((r) => r.item)).toEqual([`github ${API_CI} job "test" at s2`, `github ${API_CI} job "test" at s3`]);
    expect(flaky[1]!.detail).toBe('flaky: 1 passed, 1 failed (job 32 of run 3 failure; job 42 of run 4 success)');
    expect(combos.filter((r) => r.num === 0).map((r) => r.detail)).toContain(
      'stable: 2 passed, 0 failed (job 21 of run 2 success; job 23 of run 2 success)',
    );
  });
});
