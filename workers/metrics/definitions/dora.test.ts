import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModel } from '../../../infra/config/schema.js';
import type { Store } from '../../../infra/store/client.js';
import type {
  CommitRow,
  DeploymentRow,
  DeploymentStatusRow,
  IncidentEventRow,
  IncidentRow,
  PullRequestCommitsRow,
  PullRequestRow,
  ReviewRow,
} from '../../../schemas/domain.js';
import { queryRows, testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain, testParams, type Value } from '../../../test/support/metrics.js';
import { deploymentRow } from '../../../test/support/rows.js';
import { link } from '../../link/linker.js';
import { explainMetric } from '../engine.js';
import { commitFingerprint } from '../../../mapping/rows.js';
import type { PeriodKind, ScopeKind } from '../types.js';
import { DORA_METRICS } from './dora.js';

/**
 * A hand-computed scenario at the level of the domain tables. Times are hours after Monday
 * 2026-03-02 00:00 UTC: week 1 is hours 0-167 (2026-03-02), week 2 hours 168-335 (2026-03-09).
 *
 * Org mapping: program payments = teams checkout (service api, repo acme/api) and web (service web,
 * repo acme/web); program discovery = team search (service search, repo acme/search), which never
 * deploys.
 *
 * acme/api, first parent chain (squash merges; PR branch commits hang off the main line):
 *   a0 - m10 (squash of #10, before any deployment) - s11 (#11) - d1 (push) - d2 (push) - s12 (#12)
 *        - s13 (#13, the hotfix) - d3 (push) - s14 (#14, merged, never deployed)
 * api production deployments (finish hour):
 *   101 m10   h1   first of the history: charged no commits, so #10 is not a change of it
 *   102 d1    h12  ships s11, d1. Incidents I1 (names "deployment 102": explicit) and I2 (2 h later,
 *                  no reference: inferred by the 24 h window), resolved at h15 and h21
 *   103 d2    h18  result failure: in no count, and it shipped nothing: 104 ships d2
 *   104 s12   h20  ships d2, s12 (from 102, the previous successful). Incident I4 at h21 (inferred),
 *                  resolved at h30; rolled back by 105; hotfixed by 106
 *   105 d1    h22  deploys an ancestor of s12: the rollback of 104
 *   106 d3    h40  ships s13 (PR #13 "... (incident #4)": the hotfix of I4, so of 104) and d3
 *                  (d2 and s12 are in its range again but were first shipped by 104)
 *   staging deployment of d3 at h41: not production, in no count
 * acme/web: w1 - w2 - w3 - w4 - w5 - mg21, pushes but for mg21, the merge commit of PR #21 (branch commit
 * c21a off w4): a true merge, so c21a is on the main line too
 *   201 w1    h2   first of the history
 *   202 w2    h30  ships w2; a hotfix (203) was made for it: failed
 *   203 w3    h52  ref hotfix/typo: a hotfix by the ref rule, no incident open: repairs the previous
 *                  deployment, 202
 *   204 w4    h170 (week 2) incidents I7 (h171, still open) and I8 (h172, resolved h173 by its timeline)
 *   205 mg21  h180 ships w5, c21a, mg21: changes w5 (a push) and #21. Rolled back by 206: failed
 *   206 w5    h190 deploys an ancestor of mg21: the rollback of 205; not failed: the recovery of 204
 *   incident I5 at h230: 40 h after 206, no reference: linked to no deployment
 */
const T = Date.parse('2026-03-02T00:00:00Z');
const at = (hours: number): string => new Date(T + hours * 3_600_000).toISOString();
const sha = (name: string): string => createHash('sha1').update(name).digest('hex');

const WEEK1 = '2026-03-02';
const WEEK2 = '2026-03-09';
const MONTH = '2026-03-01';

interface Owner {
  team: string;
  program: string;
}
const CHECKOUT: Owner = { team: 'checkout', program: 'payments' };
const WEB: Owner = { team: 'web', program: 'payments' };
const meta = { raw_event_id: 'e', version: 1 };

function commit(owner: Owner, repo: string, name: string, parents: string[], hours: number): CommitRow {
  return {
    ...owner,
    ...meta,
    source: 'github',
    repo,
    sha: sha(name),
    parents: parents.map(sha),
    parents_known: 1,
    author: 'github:dev',
    authored_at: at(hours),
    committed_at: at(hours),
    fingerprint: commitFingerprint(at(hours), name),
  };
}
const api = (name: string, parents: string[], hours: number): CommitRow => commit(CHECKOUT, 'acme/api', name, parents, hours);
const web = (name: string, parents: string[], hours: number): CommitRow => commit(WEB, 'acme/web', name, parents, hours);

function pr(
  number: number,
  merge: string,
  title: string,
  opened: number,
  merged: number,
  owner = CHECKOUT,
  repo = 'acme/api',
): PullRequestRow {
  return {
    ...owner,
    ...meta,
    is_deleted: 0,
    source: 'github',
    repo,
    number,
    pr_id: String(number),
    title,
    author: 'github:dev',
    state: 'merged',
    raw_state: 'closed',
    draft: 0,
    base_branch: 'main',
    head_branch: `feature-${number}`,
    head_sha: '',
    merge_commit_sha: sha(merge),
    labels: [],
    created_at: at(opened),
    updated_at: at(merged),
    merged_at: at(merged),
    closed_at: at(merged),
    url: '',
  };
}

function prCommits(number: number, list: Array<{ name: string; hours: number }>, repo = 'acme/api'): PullRequestCommitsRow {
  return {
    ...meta,
    source: 'github',
    repo,
    number,
    head_sha: sha(list[list.length - 1]!.name),
    shas: list.map((c) => sha(c.name)),
    authored_at: list.map((c) => at(c.hours)),
    fingerprints: list.map((c) => commitFingerprint(at(c.hours), c.name)),
  };
}

function review(number: number, id: string, reviewer: string, state: ReviewRow['state'], hours: number, repo = 'acme/api'): ReviewRow {
  return { ...meta, source: 'github', repo, number, review_id: id, reviewer, state, raw_state: state, submitted_at: at(hours) };
}

function deployment(
  owner: Owner,
  id: string,
  service: string,
  commitName: string,
  hours: number,
  extra: Partial<DeploymentRow> = {},
): DeploymentRow {
  return deploymentRow({ ...owner, ...meta, deployment_id: id, service, sha: sha(commitName), created_at: at(hours), ...extra });
}

function status(id: string, state: DeploymentStatusRow['state'], hours: number): DeploymentStatusRow {
  return { ...meta, source: 'github', deployment_id: id, status_id: `${id}-${state}`, state, raw_state: state, at: at(hours) };
}

function incident(
  owner: Owner,
  id: string,
  number: string,
  service: string,
  hours: number,
  title: string,
  resolved: number | null,
): IncidentRow {
  return {
    ...owner,
    ...meta,
    source: 'pagerduty',
    incident_id: id,
    number,
    title,
    service_id: `P${service.toUpperCase()}`,
    service,
    urgency: 'high',
    severity: 'sev2',
    raw_severity: 'P2',
    status: resolved === null ? 'triggered' : 'resolved',
    raw_status: resolved === null ? 'triggered' : 'resolved',
    created_at: at(hours),
    acknowledged_at: null,
    resolved_at: resolved === null ? null : at(resolved),
    description: '',
    url: '',
  };
}

function incidentEvent(incidentId: string, id: string, kind: IncidentEventRow['kind'], hours: number): IncidentEventRow {
  return { ...meta, source: 'pagerduty', incident_id: incidentId, event_id: id, kind, raw_type: `${kind}_log_entry`, at: at(hours) };
}

const tables = {
  commits: [
    api('a0', [], -100),
    api('o1', ['a0'], -95), // PR #10's branch commit
    api('m10', ['a0'], -90),
    api('c11a', ['m10'], 2), // PR #11's branch commits
    api('c11b', ['c11a'], 4),
    api('s11', ['m10'], 10),
    api('d1', ['s11'], 11), // pushed: lead time 12 - 11 = 1 h (deployed by 102)
    api('d2', ['d1'], 16), // pushed: 103 failed at h18, 104 shipped it at h20: 4 h
    api('c12a', ['d2'], 14), // PR #12's branch commit (authored before its parent was pushed: a rebase)
    api('s12', ['d2'], 19),
    api('c13a', ['s12'], 27), // PR #13's branch commit
    api('s13', ['s12'], 36),
    api('d3', ['s13'], 37), // pushed: 40 - 37 = 3 h (deployed by 106)
    api('s14', ['d3'], 45),
    web('w1', [], -50),
    web('w2', ['w1'], 25), // 202 at h30: 5 h
    web('w3', ['w2'], 51), // 203 at h52: 1 h
    web('w4', ['w3'], 168), // 204 at h170: 2 h
    web('w5', ['w4'], 175), // 205 at h180: 5 h
    web('c21a', ['w4'], 171), // PR #21's branch commit, merged with a merge commit: shipped, but not a push
    web('mg21', ['w5', 'c21a'], 176),
  ],
  pull_requests: [
    pr(10, 'm10', 'Old work', -96, -90),
    pr(11, 's11', 'Cart totals', 5, 10),
    pr(12, 's12', 'Checkout retries', 15, 19),
    pr(13, 's13', 'Stop payment failures (incident #4)', 29, 36),
    pr(14, 's14', 'Not deployed yet', 44, 45),
    pr(21, 'mg21', 'Faster search', 172, 176, WEB, 'acme/web'),
  ],
  pull_request_commits: [
    prCommits(10, [{ name: 'o1', hours: -95 }]),
    // listed newest first: the first commit is the earliest authored, wherever it is in the list
    prCommits(11, [
      { name: 'c11b', hours: 4 },
      { name: 'c11a', hours: 2 },
    ]),
    prCommits(12, [{ name: 'c12a', hours: 14 }]),
    prCommits(13, [{ name: 'c13a', hours: 27 }]),
    prCommits(14, [{ name: 's14', hours: 45 }]),
    prCommits(21, [{ name: 'c21a', hours: 171 }], 'acme/web'),
  ],
  reviews: [
    review(11, 'r1', 'github:rev1', 'commented', 8),
    review(11, 'r2', 'github:rev2', 'approved', 9),
    review(12, 'r3', 'github:rev1', 'approved', 16),
    // #13 was merged without a review
    review(21, 'r4', 'github:rev3', 'approved', 174, 'acme/web'),
  ],
  deployments: [
    deployment(CHECKOUT, '101', 'api', 'm10', 0.5),
    deployment(CHECKOUT, '102', 'api', 'd1', 11.5),
    deployment(CHECKOUT, '103', 'api', 'd2', 17.5),
    deployment(CHECKOUT, '104', 'api', 's12', 19.5),
    deployment(CHECKOUT, '105', 'api', 'd1', 21.5),
    deployment(CHECKOUT, '106', 'api', 'd3', 39.5),
    deployment(CHECKOUT, '901', 'api', 'd3', 40.5, { environment: 'staging', is_production: 0 }),
    deployment(WEB, '201', 'web', 'w1', 1.5),
    deployment(WEB, '202', 'web', 'w2', 29.5),
    deployment(WEB, '203', 'web', 'w3', 51.5, { ref: 'hotfix/typo' }),
    deployment(WEB, '204', 'web', 'w4', 169.5),
    deployment(WEB, '205', 'web', 'mg21', 179.5),
    deployment(WEB, '206', 'web', 'w5', 189.5),
  ],
  deployment_statuses: [
    status('101', 'success', 1),
    status('102', 'in_progress', 11.6),
    status('102', 'success', 12),
    status('103', 'in_progress', 17.6),
    status('103', 'failure', 18),
    status('104', 'success', 20),
    status('105', 'success', 22),
    status('106', 'success', 40),
    status('901', 'success', 41),
    status('201', 'success', 2),
    status('202', 'success', 30),
    status('203', 'success', 52),
    status('204', 'success', 170),
    status('205', 'success', 180),
    status('206', 'success', 190),
  ],
  incidents: [
    incident(CHECKOUT, 'I1', '1', 'api', 13, 'Checkout errors after deployment 102', 15),
    incident(CHECKOUT, 'I2', '2', 'api', 14, 'Slow cart', 21),
    incident(CHECKOUT, 'I4', '4', 'api', 21, 'Payment failures', 30),
    incident(WEB, 'I5', '5', 'web', 230, 'Page load alarm', 231),
    incident(WEB, 'I7', '7', 'web', 171, 'Search box broken', null),
    // resolved, the row without its time: the timeline has it
    { ...incident(WEB, 'I8', '8', 'web', 172, 'Images missing', null), status: 'resolved', raw_status: 'resolved' },
  ],
  incident_events: [incidentEvent('I8', 'L1', 'trigger', 172), incidentEvent('I8', 'L2', 'resolve', 173)],
};

const SCOPES: Array<{ kind: ScopeKind; id: string }> = [
  { kind: 'org', id: 'org' },
  { kind: 'program', id: 'payments' },
  { kind: 'program', id: 'discovery' },
  { kind: 'team', id: 'checkout' },
  { kind: 'team', id: 'web' },
  { kind: 'team', id: 'search' },
  { kind: 'service', id: 'api' },
  { kind: 'service', id: 'web' },
  { kind: 'service', id: 'search' },
  { kind: 'repo', id: 'acme/api' },
  { kind: 'repo', id: 'acme/web' },
  { kind: 'repo', id: 'acme/search' },
];

const def = (id: string) => {
  const d = DORA_METRICS.find((m) => m.id === id);
  if (d === undefined) throw new Error(`no metric ${id}`);
  return d;
};

type Read = (metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: string) => Promise<Value | undefined>;

describe('DORA metrics on a hand-computed scenario', () => {
  let store: Store;
  let read: Read;
  /** value, numerator, denominator, sample size */
  const v = async (metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: string) => {
    const r = await read(metric, scope, period, start);
    return r === undefined ? undefined : [r.value, r.numerator, r.denominator, r.sample_size];
  };
  const q = async (metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: string) => {
    const r = await read(metric, scope, period, start);
    return r === undefined ? undefined : [r.value === null ? null : Math.round(r.value * 1e6) / 1e6, r.sample_size];
  };

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, tables);
    await link({ store, model: defaultModel(), now: new Date('2026-03-20T00:00:00Z') });
    read = await compute(store, DORA_METRICS, '2026-03-02', '2026-03-16', undefined, SCOPES);
  }, 60_000);
  afterAll(() => store.close());

  it('rests on the links the scenario intends', async () => {
    const links = await queryRows<{ incident_id: string; deployment_id: string; method: string; rule: string }>(
      store,
      'SELECT incident_id, deployment_id, method, rule FROM incident_deployments FINAL ORDER BY incident_id',
    );
    expect(links.map((l) => `${l.incident_id} ${l.deployment_id || '-'} ${l.method}/${l.rule}`)).toEqual([
      'I1 102 explicit/deployment_id',
      'I2 102 inferred/time_window',
      'I4 104 inferred/time_window',
      'I5 - none/no_match',
      'I7 204 inferred/time_window',
      'I8 204 inferred/time_window',
    ]);
    const facts = await queryRows<{ deployment_id: string; result: string; rolled_back_by: string; is_hotfix: number; hotfix_for: string }>(
      store,
      `SELECT deployment_id, result, rolled_back_by, is_hotfix, hotfix_for FROM deployment_facts FINAL WHERE is_production = 1 ORDER BY deployment_id`,
    );
    expect(facts.filter((f) => f.result !== 'success').map((f) => `${f.deployment_id} ${f.result}`)).toEqual(['103 failure']);
    expect(facts.filter((f) => f.rolled_back_by !== '').map((f) => `${f.deployment_id} by ${f.rolled_back_by}`)).toEqual([
      '104 by 105',
      '205 by 206',
    ]);
    expect(facts.filter((f) => f.is_hotfix === 1).map((f) => `${f.deployment_id} for ${f.hotfix_for}`)).toEqual([
      '106 for 104',
      '203 for 202',
    ]);
  });

  it('deployment_frequency: successful production deployments per period, zero for mapped scopes without any', async () => {
    // week 1: api 101, 102, 104, 105, 106 (103 failed, 901 is staging); web 201, 202, 203
    expect(await v('deployment_frequency', 'team:checkout', 'week', WEEK1)).toEqual([5, 5, null, 5]);
    expect(await v('deployment_frequency', 'service:web', 'week', WEEK1)).toEqual([3, 3, null, 3]);
    expect(await v('deployment_frequency', 'program:payments', 'week', WEEK1)).toEqual([8, 8, null, 8]);
    expect(await v('deployment_frequency', 'org:org', 'week', WEEK1)).toEqual([8, 8, null, 8]);
    // week 2: only web deployed (204, 205, 206); checkout and the never-deploying search are 0, not missing
    expect(await v('deployment_frequency', 'org:org', 'week', WEEK2)).toEqual([3, 3, null, 3]);
    expect(await v('deployment_frequency', 'team:checkout', 'week', WEEK2)).toEqual([0, 0, null, 0]);
    expect(await v('deployment_frequency', 'team:search', 'week', WEEK2)).toEqual([0, 0, null, 0]);
    expect(await v('deployment_frequency', 'program:discovery', 'week', WEEK1)).toEqual([0, 0, null, 0]);
    expect(await v('deployment_frequency', 'repo:acme/search', 'month', MONTH)).toEqual([0, 0, null, 0]);
    // days: api deployed four times on Monday 03-02 (h1, h12, h20, h22) and once on Tuesday (h40)
    expect(await v('deployment_frequency', 'service:api', 'day', '2026-03-02')).toEqual([4, 4, null, 4]);
    expect(await v('deployment_frequency', 'service:api', 'day', '2026-03-03')).toEqual([1, 1, null, 1]);
    expect(await v('deployment_frequency', 'repo:acme/api', 'month', MONTH)).toEqual([5, 5, null, 5]);
    expect(await v('deployment_frequency', 'org:org', 'month', MONTH)).toEqual([11, 11, null, 11]);
    const rows = await explain(store, def('deployment_frequency'), 'team:checkout', 'week', WEEK1);
    expect(rows.map((r) => r.item)).toEqual([
      'github deployment 101 of api',
      'github deployment 102 of api',
      'github deployment 104 of api',
      'github deployment 105 of api',
      'github deployment 106 of api',
    ]);
  });

  it('deployment_days: distinct days with a deployment per week, zero for mapped scopes without any', async () => {
    // checkout: 03-02 and 03-03; web: 03-02 (h2), 03-03 (h30), 03-04 (h52); org: the union, 3 days
    expect(await v('deployment_days', 'team:checkout', 'week', WEEK1)).toEqual([2, 2, null, 5]);
    expect(await v('deployment_days', 'service:web', 'week', WEEK1)).toEqual([3, 3, null, 3]);
    expect(await v('deployment_days', 'org:org', 'week', WEEK1)).toEqual([3, 3, null, 8]);
    // week 2: web deployed at h170, h180 and h190 (03-09 02:00, 12:00, 22:00): one day
    expect(await v('deployment_days', 'org:org', 'week', WEEK2)).toEqual([1, 1, null, 3]);
    expect(await v('deployment_days', 'team:checkout', 'week', WEEK2)).toEqual([0, 0, null, 0]);
    // computed per week only
    expect(await read('deployment_days', 'org:org', 'month', MONTH)).toBeUndefined();
    const rows = await explain(store, def('deployment_days'), 'team:checkout', 'week', WEEK1);
    expect([...new Set(rows.map((r) => r.item))]).toEqual(['2026-03-02', '2026-03-03']);
    // days are cut in the configured time zone: in Tokyo (UTC+9) h1 and h12 fall on 03-02, h20 and h22
    // on 03-03, h40 on 03-04
    const tokyo = await explain(store, def('deployment_days'), 'team:checkout', 'week', WEEK1, testParams({ tz: 'Asia/Tokyo' }));
    expect([...new Set(tokyo.map((r) => r.item))]).toEqual(['2026-03-02', '2026-03-03', '2026-03-04']);
  });

  /*
   * Deployments per week over March (31 days = 31 / 7 weeks): org 11 deployments -> 11 * 7 / 31 =
   * 2.4839; checkout 5 -> 35 / 31 = 1.1290; web 6 -> 42 / 31; search none -> 0 (a mapped scope). One unit
   * per scope and month: numerator the month's count (as deployment_frequency's month value), denominator
   * its weeks. Per month only.
   */
  it("deployments_per_week: the month's successful production deployments over its weeks", async () => {
    const weeks = 31 / 7;
    expect(await v('deployments_per_week', 'org:org', 'month', MONTH)).toEqual([11 / weeks, 11, weeks, 1]);
    expect(await v('deployments_per_week', 'team:checkout', 'month', MONTH)).toEqual([5 / weeks, 5, weeks, 1]);
    expect(await v('deployments_per_week', 'service:web', 'month', MONTH)).toEqual([6 / weeks, 6, weeks, 1]);
    expect(await v('deployments_per_week', 'team:search', 'month', MONTH)).toEqual([0, 0, weeks, 1]);
    expect((await read('deployments_per_week', 'org:org', 'month', MONTH))?.value).toBeCloseTo(2.4839, 4);
    // the same count as deployment_frequency's month value
    expect((await read('deployment_frequency', 'org:org', 'month', MONTH))?.value).toBe(11);
    expect(await read('deployments_per_week', 'org:org', 'week', WEEK1)).toBeUndefined();
    const rows = await explainMetric({
      store,
      definition: def('deployments_per_week'),
      params: testParams(),
      scope: { kind: 'team', id: 'checkout' },
      period: { kind: 'month', start: MONTH },
      scopes: SCOPES,
    });
    expect(rows.map((r) => [r.item, r.num, r.den, r.detail])).toEqual([
      [
        'month of 2026-03-01',
        5,
        weeks,
        '5 successful production deployment(s) over 31 days (4.4286 weeks); deployment_frequency lists them',
      ],
    ]);
  });

  /*
   * Changes deployed in week 1 with their lead time, first commit -> finish of the first successful
   * production deployment that shipped them:
   *   checkout  #11  first commit c11a h2 (before the PR opened at h5), deployed by 102 at h12  10 h
   *             d1   pushed h11, 102 at h12                                                     1 h
   *             d2   pushed h16, 103 failed at h18, 104 at h20                                  4 h
   *             #12  c12a h14, 104 at h20                                                       6 h
   *             #13  c13a h27, 106 at h40                                                      13 h
   *             d3   pushed h37, 106 at h40                                                     3 h
   *   web       w2 5 h, w3 1 h
   * Not changes: #10 and a0 (before the first deployment 101), #14 (never deployed), PR branch commits
   * c11a... (in a pull request), the staging deployment.
   * checkout sorted: 1 3 4 6 10 13 (n = 6)
   *   p50 = (4 + 6) / 2 = 5 (the true median of an even count)
   *   p75: rank (6 - 1) * 0.75 = 3.75 -> 6 + 0.75 * (10 - 6) = 9
   *   p90: rank 5 * 0.9 = 4.5 -> 10 + 0.5 * (13 - 10) = 11.5
   * org week 1 sorted: 1 1 3 4 5 6 10 13 (n = 8)
   *   p50 = (4 + 5) / 2 = 4.5; p75: rank 5.25 -> 6 + 0.25 * 4 = 7; p90: rank 6.3 -> 10 + 0.3 * 3 = 10.9
   * Week 2, web (deployed by 204 at h170 and 205 at h180): w4 2 h, w5 5 h, #21 (c21a h171) 9 h; c21a
   * and mg21 are #21's own commits, not pushes: 2 5 9, p50 5, p90: rank 1.8 -> 5 + 0.8 * 4 = 8.2
   * org March: 1 1 2 3 4 5 5 6 9 10 13 (n = 11), p50 = the 6th = 5
   */
  it('change_lead_time p50/p75/p90: first commit to the first successful production deployment, pushes included', async () => {
    expect(await q('change_lead_time_p50', 'team:checkout', 'week', WEEK1)).toEqual([5, 6]);
    expect(await q('change_lead_time_p75', 'team:checkout', 'week', WEEK1)).toEqual([9, 6]);
    expect(await q('change_lead_time_p90', 'team:checkout', 'week', WEEK1)).toEqual([11.5, 6]);
    expect(await q('change_lead_time_p50', 'org:org', 'week', WEEK1)).toEqual([4.5, 8]);
    expect(await q('change_lead_time_p75', 'org:org', 'week', WEEK1)).toEqual([7, 8]);
    expect(await q('change_lead_time_p90', 'org:org', 'week', WEEK1)).toEqual([10.9, 8]);
    expect(await q('change_lead_time_p50', 'service:web', 'week', WEEK1)).toEqual([3, 2]);
    expect(await q('change_lead_time_p50', 'org:org', 'month', MONTH)).toEqual([5, 11]);
    expect(await q('change_lead_time_p50', 'team:web', 'week', WEEK2)).toEqual([5, 3]);
    expect(await q('change_lead_time_p90', 'team:web', 'week', WEEK2)).toEqual([8.2, 3]);
    // day 03-02 (checkout): #11 10, d1 1, d2 4, #12 6 -> (4 + 6) / 2 = 5
    expect(await q('change_lead_time_p50', 'repo:acme/api', 'day', '2026-03-02')).toEqual([5, 4]);
    // ratios and quantiles have no value where nothing was deployed, even for a mapped scope
    expect(await read('change_lead_time_p50', 'team:checkout', 'week', WEEK2)).toBeUndefined();
    expect(await read('change_lead_time_p50', 'team:search', 'week', WEEK1)).toBeUndefined();
    const rows = await explain(store, def('change_lead_time_p50'), 'team:checkout', 'week', WEEK1);
    expect(rows.map((r) => `${r.item} ${r.value}`).sort()).toEqual(
      [
        'acme/api#11 "Cart totals" 10',
        `acme/api@${sha('d1').slice(0, 12)} 1`,
        `acme/api@${sha('d2').slice(0, 12)} 4`,
        'acme/api#12 "Checkout retries" 6',
        'acme/api#13 "Stop payment failures (incident #4)" 13',
        `acme/api@${sha('d3').slice(0, 12)} 3`,
      ].sort(),
    );
    expect(rows.find((r) => r.item === `acme/api@${sha('d2').slice(0, 12)}`)?.detail).toContain('deployed by 104');
    const webRows = await explain(store, def('change_lead_time_p50'), 'team:web', 'week', WEEK2);
    expect(webRows.map((r) => `${r.item} ${r.value}`).sort()).toEqual(
      [`acme/web@${sha('w4').slice(0, 12)} 2`, `acme/web@${sha('w5').slice(0, 12)} 5`, 'acme/web#21 "Faster search" 9'].sort(),
    );
  });

  /*
   * Stages of the pull requests deployed in week 1 (pushes have none):
   *          first commit  opened  first review  merged  deployed
   *   #11    h2            h5      h8            h10     h12   coding 3, pickup 3, review 2, deploy 2
   *   #12    h14           h15     h16           h19     h20   coding 1, pickup 1, review 3, deploy 1
   *   #13    h27           h29     -             h36     h40   coding 2, pickup -, review -, deploy 4
   * p50: coding 2; pickup (1 + 3) / 2 = 2; review (2 + 3) / 2 = 2.5; deploy 2. #13 has no review, so
   * no pickup or review value, and is not in their sample.
   * Week 2, web: #21 c21a h171, opened h172, reviewed h174, merged h176, deployed h180: coding 1,
   * pickup 2, review 2, deploy 4. March, payments: review 2 2 3 -> 2 (3 of the 4 changes have one); coding 1 1 2 3 -> 1.5.
   */
  it('lead time stages: coding, pickup, review and deploy of pull requests', async () => {
    for (const scope of ['team:checkout', 'org:org'] as const) {
      expect(await q('lead_time_coding_p50', scope, 'week', WEEK1)).toEqual([2, 3]);
      expect(await q('lead_time_pickup_p50', scope, 'week', WEEK1)).toEqual([2, 2]);
      expect(await q('lead_time_review_p50', scope, 'week', WEEK1)).toEqual([2.5, 2]);
      expect(await q('lead_time_deploy_p50', scope, 'week', WEEK1)).toEqual([2, 3]);
    }
    // day 03-03: only #13 (deployed h40): coding 2, deploy 4, no pickup value
    expect(await q('lead_time_coding_p50', 'service:api', 'day', '2026-03-03')).toEqual([2, 1]);
    expect(await q('lead_time_deploy_p50', 'service:api', 'day', '2026-03-03')).toEqual([4, 1]);
    expect(await q('lead_time_pickup_p50', 'service:api', 'day', '2026-03-03')).toEqual([null, 0]);
    expect(await q('lead_time_review_p50', 'program:payments', 'month', MONTH)).toEqual([2, 3]);
    expect(await q('lead_time_coding_p50', 'program:payments', 'month', MONTH)).toEqual([1.5, 4]);
    expect(await q('lead_time_pickup_p50', 'team:web', 'week', WEEK2)).toEqual([2, 1]);
    // web's changes of week 1 are pushes: no pull request, no stage
    expect(await read('lead_time_coding_p50', 'team:web', 'week', WEEK1)).toBeUndefined();
    const rows = await explain(store, def('lead_time_pickup_p50'), 'team:checkout', 'week', WEEK1);
    expect(rows.map((r) => `${r.item} ${r.value}`)).toEqual([
      'acme/api#11 "Cart totals" 3',
      'acme/api#12 "Checkout retries" 1',
      'acme/api#13 "Stop payment failures (incident #4)" null',
    ]);
  });

  /*
   * Week 1, successful production deployments and whether they failed:
   *   checkout 101 no, 102 yes (I1 explicit and I2 inferred: one failed deployment), 104 yes (I4,
   *            rollback by 105, hotfix 106: still one), 105 no, 106 no; 103 (result failure) is in
   *            neither count                                                   2 / 5 = 0.4
   *   web      201 no, 202 yes (hotfix 203 was made for it), 203 no            1 / 3
   *   org      3 / 8 = 0.375
   * Week 2: web 204 yes (I7, I8), 205 yes (rolled back by 206, nothing else), 206 no; I5 is linked
   *            to no deployment                                                 2 / 3
   * March, payments: (3 + 2) / 11
   */
  it('change_failure_rate: distinct failed production deployments / production deployments', async () => {
    expect(await v('change_failure_rate', 'team:checkout', 'week', WEEK1)).toEqual([0.4, 2, 5, 5]);
    expect(await v('change_failure_rate', 'service:web', 'week', WEEK1)).toEqual([1 / 3, 1, 3, 3]);
    expect(await v('change_failure_rate', 'org:org', 'week', WEEK1)).toEqual([0.375, 3, 8, 8]);
    expect(await v('change_failure_rate', 'org:org', 'week', WEEK2)).toEqual([2 / 3, 2, 3, 3]);
    expect(await v('change_failure_rate', 'program:payments', 'month', MONTH)).toEqual([5 / 11, 5, 11, 11]);
    expect(await v('change_failure_rate', 'repo:acme/api', 'day', '2026-03-02')).toEqual([0.5, 2, 4, 4]);
    // no deployments: no value, even for scopes the mapping names
    expect(await read('change_failure_rate', 'team:checkout', 'week', WEEK2)).toBeUndefined();
    expect(await read('change_failure_rate', 'team:search', 'week', WEEK1)).toBeUndefined();

    const rows = await explain(store, def('change_failure_rate'), 'team:checkout', 'week', WEEK1);
    const item = (id: string, commitName: string): string => `github deployment ${id} of api (${sha(commitName)})`;
    expect(rows.map((r) => [r.item, r.num, r.den])).toEqual([
      [item('101', 'm10'), 0, 1],
      [item('102', 'd1'), 1, 1],
      [item('104', 's12'), 1, 1],
      [item('105', 'd1'), 0, 1],
      [item('106', 'd3'), 0, 1],
    ]);
    const detail = (id: string): string => rows.find((r) => r.item.startsWith(`github deployment ${id} `))?.detail ?? '';
    expect(detail('101')).toBe('no incident');
    expect(detail('102')).toMatch(/^failed: incidents: /);
    expect(detail('102')).toContain('pagerduty I1 [explicit/deployment_id: names "deployment 102"]');
    expect(detail('102')).toContain('pagerduty I2 [inferred/time_window: started 2.0 h after 102 finished on api (window 24 h)]');
    expect(detail('104')).toContain('pagerduty I4 [inferred/time_window: started 1.0 h after 104 finished on api (window 24 h)]');
    expect(detail('104')).toContain('rolled back by 105');
    expect(detail('104')).toContain('hotfixed by 106');
    const webRows = await explain(store, def('change_failure_rate'), 'team:web', 'week', WEEK1);
    expect(webRows.map((r) => `${r.num} ${r.detail}`)).toEqual([
      '0 no incident',
      '1 failed: no incident; hotfixed by 203',
      '0 no incident',
    ]);
    const week2 = await explain(store, def('change_failure_rate'), 'service:web', 'week', WEEK2);
    expect(week2.map((r) => `${r.item.split(' (')[0]} ${r.num}`)).toEqual([
      'github deployment 204 of web 1',
      'github deployment 205 of web 1',
      'github deployment 206 of web 0',
    ]);
    expect(week2[0]!.detail).toContain('pagerduty I7 [inferred/time_window: started 1.0 h after 204 finished on web (window 24 h)]');
    expect(week2[0]!.detail).toContain('pagerduty I8 [inferred/time_window: started 2.0 h after 204 finished on web (window 24 h)]');
    expect(week2[1]!.detail).toBe('failed: no incident; rolled back by 206');
  });

  /*
   * Recovery of each failed deployment: its last linked incident resolved, or the next successful
   * production deployment of its service that did not fail, whichever is earlier.
   *   102 (h12): incidents resolved h15 and h21 -> h21; next good deployment 105 at h22 (104 at h20
   *              failed: it is no recovery) -> recovered by resolution at h21: 9 h
   *   104 (h20): I4 resolved h30; next good 105 at h22 -> recovered by the deployment: 2 h
   *   202 (h30): no incident; next good 203 at h52: 22 h
   * checkout week 1: (2 + 9) / 2 = 5.5 (n = 2); org week 1: 2 9 22 -> 9
   */
  it('failed_deployment_recovery_time_p50: the earlier of the last incident resolved and the next good deployment', async () => {
    expect(await q('failed_deployment_recovery_time_p50', 'team:checkout', 'week', WEEK1)).toEqual([5.5, 2]);
    expect(await q('failed_deployment_recovery_time_p50', 'service:api', 'week', WEEK1)).toEqual([5.5, 2]);
    expect(await q('failed_deployment_recovery_time_p50', 'org:org', 'week', WEEK1)).toEqual([9, 3]);
    expect(await q('failed_deployment_recovery_time_p50', 'team:web', 'day', '2026-03-03')).toEqual([22, 1]);
    expect(await read('failed_deployment_recovery_time_p50', 'team:checkout', 'week', WEEK2)).toBeUndefined();
    // 205 (h180), failed only by its rollback: recovered by the rollback, 206 at h190: 10 h
    const week2 = await explain(store, def('failed_deployment_recovery_time_p50'), 'team:web', 'week', WEEK2);
    expect(week2.find((r) => r.item.startsWith('github deployment 205 '))).toMatchObject({
      value: 10,
      detail: 'no incident; rolled back by 206; recovered 2026-03-09 22:00:00.000 by deployment 206',
    });
    const rows = await explain(store, def('failed_deployment_recovery_time_p50'), 'org:org', 'week', WEEK1);
    expect(rows.map((r) => [r.item.split(' (')[0], r.value])).toEqual([
      ['github deployment 102 of api', 9],
      ['github deployment 104 of api', 2],
      ['github deployment 202 of web', 22],
    ]);
    expect(rows[0]!.detail).toContain('recovered 2026-03-02 21:00:00.000 when the last incident was resolved');
    expect(rows[1]!.detail).toContain('recovered 2026-03-02 22:00:00.000 by deployment 105');
    expect(rows[2]!.detail).toContain('by deployment 203');
  });

  /*
   * 204 (h170) has two incidents: I8 resolved at h173, I7 still open. The last linked incident is not
   * resolved, so only the next good deployment, 206 at h190 (205 failed), recovers it: 20 h (not 3 h,
   * which takes the first resolution for the last). Week 2, web: 204 20 h, 205 10 h -> 15 (not 6.5).
   * March, org: 2 9 10 20 22 -> 10 (not 9: 2 3 9 10 22).
   */
  it('failed_deployment_recovery_time_p50: an incident still open is not a recovery', async () => {
    expect(await q('failed_deployment_recovery_time_p50', 'team:web', 'week', WEEK2)).toEqual([15, 2]);
    expect(await q('failed_deployment_recovery_time_p50', 'org:org', 'month', MONTH)).toEqual([10, 5]);
    const rows = await explain(store, def('failed_deployment_recovery_time_p50'), 'team:web', 'week', WEEK2);
    expect(rows.find((r) => r.item.startsWith('github deployment 204 '))).toMatchObject({ value: 20 });
    expect(rows.find((r) => r.item.startsWith('github deployment 204 '))?.detail).toContain(
      'recovered 2026-03-09 22:00:00.000 by deployment 206',
    );
  });

  /*
   * Hotfix deployments / production deployments: week 1 checkout 106 (explicit: its PR names incident #4)
   * of 5 = 0.2; web 203 (ref rule, no open incident) of 3; org 2 / 8 = 0.25; week 2 none of 3 (a
   * rollback is not a hotfix).
   */
  it('deployment_rework_rate: hotfix deployments / production deployments', async () => {
    expect(await v('deployment_rework_rate', 'team:checkout', 'week', WEEK1)).toEqual([0.2, 1, 5, 5]);
    expect(await v('deployment_rework_rate', 'service:web', 'week', WEEK1)).toEqual([1 / 3, 1, 3, 3]);
    expect(await v('deployment_rework_rate', 'org:org', 'week', WEEK1)).toEqual([0.25, 2, 8, 8]);
    expect(await v('deployment_rework_rate', 'org:org', 'week', WEEK2)).toEqual([0, 0, 3, 3]);
    expect(await v('deployment_rework_rate', 'program:payments', 'month', MONTH)).toEqual([2 / 11, 2, 11, 11]);
    expect(await read('deployment_rework_rate', 'team:search', 'week', WEEK1)).toBeUndefined();
    const rows = await explain(store, def('deployment_rework_rate'), 'org:org', 'week', WEEK1);
    expect(rows.filter((r) => r.num === 1).map((r) => `${r.item}: ${r.detail}`)).toEqual([
      'github deployment 106 of api: hotfix (incident_reference) for 104',
      'github deployment 203 of web: hotfix (ref_pattern) for 202',
    ]);
    expect(rows).toHaveLength(8);
  });
});

/*
 * The same scenario evaluated at two instants while March is running. Nothing dated after the instant
 * counts: a deployment, an incident, a rollback or a hotfix that came later is not known yet, an
 * incident resolved later is still open, and a running month or week is taken as far as it has gone.
 *
 * N1 = Monday 03-02 20:30 (h20.5). Finished by then: api 101 (h1), 102 (h12), 104 (h20); web 201 (h2).
 *   change failure: 102 failed (I1 h13, I2 h14); 104 not yet: I4 starts h21, its rollback 105 finishes
 *     h22, its hotfix 106 h40. checkout 1 / 3, org 1 / 4 (had the later facts counted: 2 / 3, 2 / 4).
 *   recovery of 102: I2 resolves at h21, after N1, so its incidents are not all resolved; the next
 *     successful api deployment that had not failed by N1 is 104 at h20: 8 h (not 9 h by I2's
 *     resolution, which had not happened).
 *   deployments per week: March had begun 2 days (03-01, 03-02): org 4 over 2 / 7 weeks = 14; checkout
 *     3 -> 10.5; search 0 (not 11 over 31 / 7).
 *   deployment days median: no week of March had ended: no value (the running week of 03-02 is not one).
 * N2 = Monday 03-09 12:30 (h180.5). Finished by then: all of week 1, and web 204 (h170), 205 (h180).
 *   change failure, week 2, web: 204 failed (I7 h171, I8 h172); 205 not yet (its rollback 206 finishes
 *     h190): 1 / 2. Week 1 is unchanged: every fact of it came by h52 (org 3 / 8).
 *   recovery of 204: I7 is open; 205 (h180) had not failed by N2: 10 h (not 20 h by 206).
 *     March, org: 102 9 (I2 resolved h21 before 105 at h22; 104 had failed by I4), 104 2, 202 22, 204 10
 *     -> 2 9 10 22 -> 9.5.
 *   deployments per week: 9 days of March begun; org 10 (8 + 204, 205) -> 70 / 9; checkout 5 -> 35 / 9.
 *   deployment days median: the week of 03-02 has ended (org 3 days, checkout 2, web 3, search 0); the
 *     week of 03-09 is running and not counted: org 3 (not the median of 3 and 1).
 */
describe('DORA metrics at an instant while the month is running', () => {
  const N1 = new Date(at(20.5));
  const N2 = new Date(at(180.5));
  const stores: Store[] = [];
  let atN1: Read;
  let atN2: Read;
  let facts: Store;
  const v = async (r: Read, metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: string) => {
    const x = await r(metric, scope, period, start);
    return x === undefined ? undefined : [x.value, x.numerator, x.denominator, x.sample_size];
  };
  const q = async (r: Read, metric: string, scope: `${ScopeKind}:${string}`, period: PeriodKind, start: string) => {
    const x = await r(metric, scope, period, start);
    return x === undefined ? undefined : [x.value === null ? null : Math.round(x.value * 1e6) / 1e6, x.sample_size];
  };
  const open = async (): Promise<Store> => {
    const s = await testStore();
    stores.push(s);
    await insertTables(s, tables);
    await link({ store: s, model: defaultModel(), now: new Date('2026-03-20T00:00:00Z') });
    return s;
  };

  beforeAll(async () => {
    // explain reads the facts, never the computed values: any of these stores holds every fact
    const [first, second] = await Promise.all([open(), open()]);
    facts = first;
    atN1 = await compute(first, DORA_METRICS, '2026-03-02', '2026-03-16', undefined, SCOPES, { now: N1 });
    atN2 = await compute(second, DORA_METRICS, '2026-03-02', '2026-03-16', undefined, SCOPES, { now: N2 });
  }, 60_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
  });

  it('change_failure_rate counts only the evidence of failure that had arrived by the instant', async () => {
    expect(await v(atN1, 'change_failure_rate', 'team:checkout', 'week', WEEK1)).toEqual([1 / 3, 1, 3, 3]);
    expect(await v(atN1, 'change_failure_rate', 'repo:acme/api', 'day', '2026-03-02')).toEqual([1 / 3, 1, 3, 3]);
    expect(await v(atN1, 'change_failure_rate', 'org:org', 'month', MONTH)).toEqual([0.25, 1, 4, 4]);
    expect(await v(atN2, 'change_failure_rate', 'team:web', 'week', WEEK2)).toEqual([0.5, 1, 2, 2]);
    expect(await v(atN2, 'change_failure_rate', 'org:org', 'week', WEEK1)).toEqual([0.375, 3, 8, 8]);
  });

  it('failed_deployment_recovery_time_p50 counts only the recoveries that had happened by the instant', async () => {
    expect(await q(atN1, 'failed_deployment_recovery_time_p50', 'team:checkout', 'week', WEEK1)).toEqual([8, 1]);
    expect(await q(atN2, 'failed_deployment_recovery_time_p50', 'team:web', 'week', WEEK2)).toEqual([10, 1]);
    expect(await q(atN2, 'failed_deployment_recovery_time_p50', 'org:org', 'month', MONTH)).toEqual([9.5, 4]);
  });

  it("deployments_per_week divides a running month's deployments by the days it had begun", async () => {
    expect(await v(atN1, 'deployments_per_week', 'org:org', 'month', MONTH)).toEqual([14, 4, 2 / 7, 1]);
    expect(await v(atN1, 'deployments_per_week', 'team:checkout', 'month', MONTH)).toEqual([10.5, 3, 2 / 7, 1]);
    expect(await v(atN1, 'deployments_per_week', 'team:search', 'month', MONTH)).toEqual([0, 0, 2 / 7, 1]);
    expect(await v(atN2, 'deployments_per_week', 'org:org', 'month', MONTH)).toEqual([expect.closeTo(70 / 9, 9), 10, 9 / 7, 1]);
    expect(await v(atN2, 'deployments_per_week', 'team:checkout', 'month', MONTH)).toEqual([expect.closeTo(35 / 9, 9), 5, 9 / 7, 1]);
  });

  it('deployment_days_per_week_median takes the weeks that had ended by the instant', async () => {
    expect(await atN1('deployment_days_per_week_median', 'org:org', 'month', MONTH)).toBeUndefined();
    expect(await q(atN2, 'deployment_days_per_week_median', 'org:org', 'month', MONTH)).toEqual([3, 1]);
    expect(await q(atN2, 'deployment_days_per_week_median', 'team:checkout', 'month', MONTH)).toEqual([2, 1]);
    expect(await q(atN2, 'deployment_days_per_week_median', 'team:search', 'month', MONTH)).toEqual([0, 1]);
  });

  it('explains the values as of a past instant, from a store that holds every later fact', async () => {
    const cfr = await explain(facts, def('change_failure_rate'), 'team:checkout', 'week', WEEK1, testParams(), N1);
    expect(cfr.map((r) => `${r.item.split(' (')[0]} ${r.num} ${r.detail}`)).toEqual([
      'github deployment 101 of api 0 no incident',
      expect.stringMatching(/^github deployment 102 of api 1 failed: incidents: /),
      'github deployment 104 of api 0 no incident',
    ]);
    const recovery = await explain(facts, def('failed_deployment_recovery_time_p50'), 'org:org', 'week', WEEK1, testParams(), N1);
    expect(recovery.map((r) => [r.item.split(' (')[0], r.value])).toEqual([['github deployment 102 of api', 8]]);
    expect(recovery[0]!.detail).toContain('recovered 2026-03-02 20:00:00.000 by deployment 104');
    // 204 at N2: not recovered by 206, which came later
    const web = await explain(facts, def('failed_deployment_recovery_time_p50'), 'team:web', 'week', WEEK2, testParams(), N2);
    expect(web.map((r) => [r.item.split(' (')[0], r.value])).toEqual([['github deployment 204 of web', 10]]);
    expect(web[0]!.detail).toContain('recovered 2026-03-09 12:00:00.000 by deployment 205');
    // at h171.5 204 had failed (I7 started at h171 and is still open) and no later deployment had
    // finished: not recovered yet
    const early = await explain(
      facts,
      def('failed_deployment_recovery_time_p50'),
      'team:web',
      'week',
      WEEK2,
      testParams(),
      new Date(at(171.5)),
    );
    expect(early.map((r) => [r.item.split(' (')[0], r.value, r.detail.split('; ').pop()])).toEqual([
      ['github deployment 204 of web', null, 'recovered not yet'],
    ]);
    const perWeek = await explainMetric({
      store: facts,
      definition: def('deployments_per_week'),
      params: testParams(),
      scope: { kind: 'org', id: 'org' },
      period: { kind: 'month', start: MONTH },
      scopes: SCOPES,
      asOf: N1,
    });
    expect(perWeek.map((r) => [r.num, r.den, r.detail])).toEqual([
      [
        4,
        2 / 7,
        '4 successful production deployment(s) over 2 days (0.2857 weeks): the days of the 31 begun by 2026-03-02 20:30:00.000; deployment_frequency lists them',
      ],
    ]);
    const median = await explainMetric({
      store: facts,
      definition: def('deployment_days_per_week_median'),
      params: testParams(),
      scope: { kind: 'org', id: 'org' },
      period: { kind: 'month', start: MONTH },
      scopes: SCOPES,
      asOf: N2,
    });
    expect(median.map((r) => `${r.item}: ${r.detail}`)).toEqual(['week of 2026-03-02: 3 day(s) with a successful production deployment']);
  });
});

/*
 * A failed attempt never makes another deployment fail. acme/api: a0 - b1 - hf - c1; hours from
 * 2026-03-02 00:00 UTC, all in week 1.
 *   301 a0   h1   first of the history
 *   302 b1   h10  incident J1 at h11 (inferred, 24 h window), resolved h25: failed
 *   303 hf   h20  ref hotfix/cart: the hotfix of J1 (open when it deployed), so of 302: not failed
 *   304 hf   h30  ref hotfix/cart again, result failure: a failed redeploy of the hotfix. No incident is
 *                 open; were it a hotfix, it would repair the previous successful deployment, 303, and
 *                 303 would count as failed (3 / 4)
 *   305 c1   h40  incident J2 at h41 (the latest production deployment before it is 305): failed
 * Successful: 301, 302, 303, 305; failed 302 and 305: change failure rate 2 / 4. Rework: 303 of 4.
 */
describe('a failed deployment is never a hotfix, a rollback or a reason another one failed', () => {
  let store: Store;
  let read: Read;
  const failedTables = {
    commits: [api('fa0', [], -10), api('fb1', ['fa0'], 5), api('fhf', ['fb1'], 15), api('fc1', ['fhf'], 35)],
    deployments: [
      deployment(CHECKOUT, '301', 'api', 'fa0', 0.5),
      deployment(CHECKOUT, '302', 'api', 'fb1', 9.5),
      deployment(CHECKOUT, '303', 'api', 'fhf', 19.5, { ref: 'hotfix/cart' }),
      deployment(CHECKOUT, '304', 'api', 'fhf', 29.5, { ref: 'hotfix/cart' }),
      deployment(CHECKOUT, '305', 'api', 'fc1', 39.5),
    ],
    deployment_statuses: [
      status('301', 'success', 1),
      status('302', 'success', 10),
      status('303', 'success', 20),
      status('304', 'in_progress', 29.6),
      status('304', 'failure', 30),
      status('305', 'success', 40),
    ],
    incidents: [
      incident(CHECKOUT, 'J1', '11', 'api', 11, 'Cart empty', 25),
      incident(CHECKOUT, 'J2', '12', 'api', 41, 'Slow checkout', 45),
    ],
  };
  const scopes: Array<{ kind: ScopeKind; id: string }> = [
    { kind: 'org', id: 'org' },
    { kind: 'team', id: 'checkout' },
  ];

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, failedTables);
    await link({ store, model: defaultModel(), now: new Date('2026-03-20T00:00:00Z') });
    read = await compute(store, DORA_METRICS, '2026-03-02', '2026-03-09', undefined, scopes);
  });
  afterAll(() => store.close());

  it('links the failed redeploy of a hotfix as no hotfix', async () => {
    const facts = await queryRows<{
      deployment_id: string;
      result: string;
      is_hotfix: number;
      hotfix_for: string;
      previous_deployment_id: string;
    }>(
      store,
      'SELECT deployment_id, result, is_hotfix, hotfix_for, previous_deployment_id FROM deployment_facts FINAL ORDER BY deployment_id',
    );
    expect(
      facts.map(
        (f) => `${f.deployment_id} ${f.result} hotfix=${f.is_hotfix} for=${f.hotfix_for || '-'} prev=${f.previous_deployment_id || '-'}`,
      ),
    ).toEqual([
      '301 success hotfix=0 for=- prev=-',
      '302 success hotfix=0 for=- prev=301',
      '303 success hotfix=1 for=302 prev=302',
      '304 failure hotfix=0 for=- prev=303',
      '305 success hotfix=0 for=- prev=303',
    ]);
    const fixes = await queryRows<{ deployment_id: string; incident_id: string }>(
      store,
      'SELECT deployment_id, incident_id FROM deployment_incident_fixes FINAL ORDER BY deployment_id',
    );
    expect(fixes).toEqual([{ deployment_id: '303', incident_id: 'J1' }]);
  });

  it('change_failure_rate 2 / 4 and rework 1 / 4: the successful hotfix 303 did not fail', async () => {
    expect(await v(read, 'change_failure_rate', 'team:checkout')).toEqual([0.5, 2, 4, 4]);
    expect(await v(read, 'deployment_rework_rate', 'team:checkout')).toEqual([0.25, 1, 4, 4]);
    const rows = await explain(store, def('change_failure_rate'), 'team:checkout', 'week', WEEK1);
    expect(rows.map((r) => `${r.item.split(' (')[0]} ${r.num}`)).toEqual([
      'github deployment 301 of api 0',
      'github deployment 302 of api 1',
      'github deployment 303 of api 0',
      'github deployment 305 of api 1',
    ]);
  });

  it('counts neither a failed hotfix nor a failed rollback against a deployment, whatever the facts say', async () => {
    // Facts as another writer might leave them: the failed 304 marked a hotfix of 303 and the rollback of 301.
    await store.client.command({
      query: `INSERT INTO deployment_facts
              SELECT * REPLACE (1 AS is_hotfix, '303' AS hotfix_for, 'ref_pattern' AS hotfix_rule, version + 1 AS version)
              FROM deployment_facts FINAL WHERE deployment_id = '304'`,
    });
    await store.client.command({
      query: `INSERT INTO deployment_facts SELECT * REPLACE ('304' AS rolled_back_by, version + 1 AS version)
              FROM deployment_facts FINAL WHERE deployment_id = '301'`,
    });
    const again = await compute(store, DORA_METRICS, '2026-03-02', '2026-03-09', undefined, scopes);
    expect(await v(again, 'change_failure_rate', 'team:checkout')).toEqual([0.5, 2, 4, 4]);
    const rows = await explain(store, def('change_failure_rate'), 'team:checkout', 'week', WEEK1);
    expect(rows.find((r) => r.item.startsWith('github deployment 301 '))?.detail).toBe('no incident');
    expect(rows.find((r) => r.item.startsWith('github deployment 303 '))?.detail).not.toContain('hotfixed');
  });

  const v = async (r: Read, metric: string, scope: `${ScopeKind}:${string}`) => {
    const x = await r(metric, scope, 'week', WEEK1);
    return x === undefined ? undefined : [x.value, x.numerator, x.denominator, x.sample_size];
  };
});
