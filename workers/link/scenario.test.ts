import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../infra/config/schema.js';
import { defaultModel, orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { RawEvent, SourceRecord } from '../../schemas/raw-event.js';
import { commitSchema, deploymentSchema, deploymentStatusSchema, pullSchema, toRecord } from '../../connectors/github/records.js';
import { githubWebhook } from '../../connectors/github/webhook.js';
import { issue as issueSchema } from '../../connectors/jira/schemas.js';
import { issueRecord } from '../../connectors/jira/records.js';
import { contentHash, incidentRecord, serviceRecord } from '../../connectors/pagerduty/records.js';
import { pagerdutyWebhookRecords } from '../../connectors/pagerduty/webhook.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { eventsOf, insertTables, mappedOk } from '../../test/support/mapping.js';
import {
  deploymentDelivery,
  deploymentStatusDelivery,
  incidentDelivery,
  restCommit,
  restDeployment,
  restDeploymentStatus,
  restIncident,
  restIssue,
  restPullRequest,
  restService,
  sha,
  type CommitSpec,
  type DeploymentSpec,
  type IncidentSpec,
  type IssueSpec,
  type Json,
  type PullSpec,
} from '../../test/support/scenario-payloads.js';
import { mapContext } from '../../mapping/context.js';
import { link } from './linker.js';

/**
 * A hand-computed scenario from vendor payloads: GitHub, PagerDuty and Jira objects go through the
 * connectors' record builders and the product's mappers, then the linker; the links the rules must
 * give are worked out in the comments beside the facts. Hours are counted from 2026-03-02T00:00Z.
 */

const API = 'acme/api';
const WEBREPO = 'acme/web';
const REPO_IDS: Record<string, number> = { [API]: 700_001, [WEBREPO]: 700_002 };
const SITE = 'acme.atlassian.net';
const PD_API = { id: 'PAPI7K2', name: 'Checkout API' };
const PD_WEB = { id: 'PWEB3M9', name: 'Storefront' };

const org = orgSchema.parse({
  programs: [
    {
      id: 'commerce',
      name: 'Commerce',
      teams: [
        {
          id: 'checkout',
          name: 'Checkout',
          repositories: [API],
          jira: { projects: ['CHK'] },
          pagerduty: { services: [PD_API.id] },
          services: [{ name: 'api', repositories: [API], pagerduty: [PD_API.id] }],
        },
        {
          id: 'storefront',
          name: 'Storefront',
          repositories: [WEBREPO],
          pagerduty: { services: [PD_WEB.id] },
          services: [{ name: 'web', repositories: [WEBREPO], pagerduty: [PD_WEB.id] }],
        },
      ],
    },
  ],
});
const context = mapContext({ org, jiraFields: { foundIn: 'customfield_10040' } });

// ---------------------------------------------------------------------------------------------
// acme/api
//
// main:      a1 ── s1 ── r2a ── r2b ── h1
// PR #11:     └─ p1a ── p1b            squash-merged as s1 (merge_commit_sha = s1)
// PR #12:            └─ p2a ── p2b     rebase-merged as r2a, r2b (same authored time and message), merge_commit_sha = r2b
// PR #13:                        └─ hp1  hotfix/empty-cart, squash-merged as h1, title names incident #101

const apiMain: CommitSpec[] = [
  { name: 'a1', parents: [], authored: -20, message: 'Initial checkout service' },
  { name: 's1', parents: ['a1'], authored: 0.5, message: 'Cart totals (#11)\n\n* Sum line items\n* Round per currency' },
  { name: 'r2a', parents: ['s1'], authored: 1, committed: 3, message: 'Retry payment calls' },
  { name: 'r2b', parents: ['r2a'], authored: 1.5, committed: 3.1, message: 'Back off on 503 from the payment gateway' },
  { name: 'h1', parents: ['r2b'], authored: 8, message: 'Fix empty cart (incident #101) (#13)' },
];
const apiBranches: Record<number, CommitSpec[]> = {
  11: [
    { name: 'p1a', parents: ['a1'], authored: -9, message: 'Sum line items' },
    { name: 'p1b', parents: ['p1a'], authored: -8, message: 'Round per currency' },
  ],
  12: [
    { name: 'p2a', parents: ['s1'], authored: 1, message: 'Retry payment calls' },
    { name: 'p2b', parents: ['p2a'], authored: 1.5, message: 'Back off on 503 from the payment gateway' },
  ],
  13: [{ name: 'hp1', parents: ['r2b'], authored: 7.5, message: 'Guard against an empty cart' }],
};
const apiPulls: PullSpec[] = [
  {
    number: 11,
    id: 2_100_011,
    title: 'Cart totals',
    branch: 'feature/cart-totals',
    head: 'p1b',
    mergeCommit: 's1',
    opened: -10,
    merged: 0.5,
  },
  {
    number: 12,
    id: 2_100_012,
    title: 'Payment retries',
    branch: 'feature/payment-retries',
    head: 'p2b',
    mergeCommit: 'r2b',
    opened: 0.8,
    merged: 3.1,
  },
  {
    number: 13,
    id: 2_100_013,
    title: 'Fix empty cart (incident #101)',
    branch: 'hotfix/empty-cart',
    head: 'hp1',
    mergeCommit: 'h1',
    opened: 7.6,
    merged: 8,
  },
];

// acme/web main: w1 ── w2 ── w3
const webMain: CommitSpec[] = [
  { name: 'w1', parents: [], authored: -30, message: 'Storefront skeleton' },
  { name: 'w2', parents: ['w1'], authored: 1, message: 'Product grid' },
  { name: 'w3', parents: ['w2'], authored: 2, message: 'Lazy images' },
];

// ---------------------------------------------------------------------------------------------
// Deployments (GitHub deployment ids) and their statuses
//
// api production:  1001 a1 ok 0.2 | 1002 s1 ok 1.3 | 1004 r2a FAILED 4.4 | 1005 r2b ok 5.3 | 1006 h1 (hotfix ref) ok 9.2
// api staging:     1003 r2b ok 3.6 (its own history; must not bound production)
// web production:  2001 w1 ok 0.1 | 2002 w2 ok 1.6 | 2003 w3 ok 2.6

const deploy = (
  id: number,
  repo: string,
  commit: string,
  created: number,
  states: Array<[DeploymentSpec['statuses'][number]['state'], number]>,
  extra: Partial<DeploymentSpec> = {},
): DeploymentSpec => ({
  id,
  repo,
  commit,
  ref: 'main',
  environment: 'production',
  created,
  statuses: states.map(([state, hours], i) => ({ id: id * 100 + i + 1, state, hours })),
  ...extra,
});

const deployments: DeploymentSpec[] = [
  deploy(1001, API, 'a1', 0, [['success', 0.2]]),
  deploy(1002, API, 's1', 1, [
    ['in_progress', 1.1],
    ['success', 1.3],
  ]),
  deploy(1003, API, 'r2b', 3.5, [['success', 3.6]], { environment: 'staging' }),
  deploy(1004, API, 'r2a', 4, [
    ['in_progress', 4.1],
    ['failure', 4.4],
  ]),
  deploy(1005, API, 'r2b', 5, [
    ['in_progress', 5.1],
    ['success', 5.3],
  ]),
  deploy(
    1006,
    API,
    'h1',
    9,
    [
      ['in_progress', 9.05],
      ['success', 9.2],
    ],
    { ref: 'hotfix/empty-cart' },
  ),
  deploy(2001, WEBREPO, 'w1', 0, [['success', 0.1]]),
  deploy(2002, WEBREPO, 'w2', 1.5, [['success', 1.6]]),
  deploy(2003, WEBREPO, 'w3', 2.5, [['success', 2.6]]),
];

// ---------------------------------------------------------------------------------------------
// PagerDuty incidents
//
// #101 (api, 6 h): names r2b's short sha; r2b was first shipped by 1005 (1004 failed with r2a only) -> 1005 explicit/sha
// #102 (web, 6 h): no reference; 2003 finished at 2.6 h, 3.4 h before -> 2003 inferred/time_window
// #103 (api, 40 h): no reference; the last api deployment (1006) finished at 9.2 h, 30.8 h before -> none/no_match
// #104 (api, 7 h): names PR #11's URL; its merge commit s1 was shipped by 1002 -> 1002 explicit/pull_request
// #105 (api, 6.2 h): names r2a's short sha; the failed 1004 tried r2a first, the successful 1005 put it in
//   production -> 1005 explicit/sha (a failed deployment is blamed only when no successful one shipped the commit)

const short = (repo: string, name: string): string => sha(repo, name).slice(0, 7);

const incidents: IncidentSpec[] = [
  { id: 'Q1SHA01', number: 101, title: `Checkout 500s since ${short(API, 'r2b')}`, service: PD_API, created: 6, resolved: 10 },
  { id: 'Q2WIN02', number: 102, title: 'Storefront pages slow', service: PD_WEB, created: 6, resolved: 7 },
  { id: 'Q3NON03', number: 103, title: 'Latency alarm on checkout', service: PD_API, created: 40, resolved: 41 },
  { id: 'Q4PRL04', number: 104, title: `Totals wrong after https://github.com/${API}/pull/11`, service: PD_API, created: 7, resolved: 7.5 },
  { id: 'Q5PRB05', number: 105, title: `Payments time out since ${short(API, 'r2a')}`, service: PD_API, created: 6.2, resolved: 6.5 },
];

// ---------------------------------------------------------------------------------------------
// Jira bugs of CHK
//
// CHK-1 summary names incident #101 -> found in production, incident_reference to Q1SHA01
// CHK-2 found-in field (customfield_10040) "Production" -> found_in
// CHK-3 neither -> 0, none/no_match

const issues: IssueSpec[] = [
  { id: '10101', key: 'CHK-1', summary: 'Cart shows empty (PagerDuty incident #101)', created: 6.5 },
  {
    id: '10102',
    key: 'CHK-2',
    summary: 'Tax rounded twice',
    created: 11,
    fields: { customfield_10040: { self: `https://${SITE}/rest/api/3/customFieldOption/10200`, value: 'Production', id: '10200' } },
  },
  { id: '10103', key: 'CHK-3', summary: 'Typo on the cart page', created: 12 },
];

// ---------------------------------------------------------------------------------------------
// Records, as the connectors build them

function githubPulledRecords(): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const [repo, list] of [
    [API, apiMain],
    [WEBREPO, webMain],
  ] as const) {
    for (const c of list) {
      const raw = restCommit(repo, c);
      const parsed = commitSchema.parse(raw);
      out.push(toRecord.commit(repo, parsed.sha, parsed.commit.committer!.date, raw));
    }
  }
  for (const p of apiPulls) {
    const raw = restPullRequest(API, REPO_IDS[API]!, p);
    const pr = pullSchema.parse(raw);
    out.push(toRecord.pullRequest(API, pr, raw));
    // GET /pulls/{n}/commits, oldest first: the list's version is its head sha
    const list = apiBranches[p.number]!.map((c) => restCommit(API, c));
    out.push(toRecord.pullRequestCommits(API, pr.number, commitSchema.parse(list[list.length - 1]).sha, pr.updated_at, list));
  }
  return out;
}

function deploymentPulledRecords(): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const d of deployments) {
    const raw = restDeployment(d);
    out.push(toRecord.deployment(d.repo, deploymentSchema.parse(raw), raw));
    for (const s of d.statuses) {
      const rawStatus = restDeploymentStatus(d, s);
      out.push(toRecord.deploymentStatus(d.repo, d.id, deploymentStatusSchema.parse(rawStatus), rawStatus));
    }
  }
  return out;
}

function githubDelivered(event: string, body: Json): SourceRecord[] {
  return githubWebhook.records(
    {
      headers: { 'x-github-event': event },
      body,
      rawBody: Buffer.from(JSON.stringify(body)),
      receivedAt: new Date('2026-03-02T12:00:00Z'),
    },
    {} as Config,
  );
}

function deploymentWebhookRecords(): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const d of deployments) {
    out.push(...githubDelivered('deployment', deploymentDelivery(d, REPO_IDS[d.repo]!)));
    for (const s of d.statuses) out.push(...githubDelivered('deployment_status', deploymentStatusDelivery(d, s, REPO_IDS[d.repo]!)));
  }
  return out;
}

const incidentPulledRecords = (): SourceRecord[] => incidents.map((i) => incidentRecord(restIncident(i)));
const incidentWebhookRecords = (): SourceRecord[] =>
  incidents.flatMap((i) => [
    ...pagerdutyWebhookRecords(incidentDelivery(i, 'triggered')),
    ...pagerdutyWebhookRecords(incidentDelivery(i, 'resolved')),
  ]);
const serviceRecords = (): SourceRecord[] =>
  [PD_API, PD_WEB].map((s) => {
    const raw = restService(s);
    return serviceRecord(raw, contentHash(raw));
  });
const issueRecords = (): SourceRecord[] =>
  issues.map((i) => {
    const raw = restIssue(SITE, i);
    return issueRecord(SITE, issueSchema.parse(raw), raw);
  });

/** Maps the events with the product's mappers and loads the rows into a fresh store, then links. */
async function scenarioStore(events: RawEvent[]): Promise<Store> {
  const store = await testStore();
  await insertTables(store, mappedOk(events, context));
  await link({ store, model: defaultModel(), now: new Date('2026-03-10T00:00:00Z') });
  return store;
}

const pulledEvents = (): RawEvent[] => [
  ...eventsOf(githubPulledRecords(), 'github/pull_requests'),
  ...eventsOf(deploymentPulledRecords(), 'github/deployments'),
  ...eventsOf(incidentPulledRecords(), 'pagerduty/incidents'),
  ...eventsOf(serviceRecords(), 'pagerduty/services'),
  ...eventsOf(issueRecords(), 'jira/issues'),
];

const webhookEvents = (): RawEvent[] => [
  ...eventsOf(githubPulledRecords(), 'github/pull_requests'),
  ...eventsOf(deploymentWebhookRecords(), 'webhook/github'),
  ...eventsOf(incidentWebhookRecords(), 'webhook/pagerduty'),
  ...eventsOf(serviceRecords(), 'pagerduty/services'),
  ...eventsOf(issueRecords(), 'jira/issues'),
];

const NAMES = [...apiMain, ...Object.values(apiBranches).flat()].map((c) => [sha(API, c.name), c.name] as const);
const WEB_NAMES = webMain.map((c) => [sha(WEBREPO, c.name), c.name] as const);
const nameOf = new Map<string, string>([...NAMES, ...WEB_NAMES]);
const named = (s: string): string => (s === '' ? '-' : (nameOf.get(s) ?? s));

describe('links computed from vendor payloads', () => {
  let store: Store;
  beforeAll(async () => {
    store = await scenarioStore(pulledEvents());
  });
  afterAll(() => store.close());

  it('maps the payloads onto the org: services, teams and production environments', async () => {
    const deps = await queryRows<{ deployment_id: string; service: string; team: string; is_production: number }>(
      store,
      `SELECT deployment_id, service, team, is_production FROM deployments FINAL ORDER BY deployment_id`,
    );
    expect(deps.map((d) => `${d.deployment_id} ${d.service} ${d.team} ${d.is_production}`)).toEqual([
      '1001 api checkout 1',
      '1002 api checkout 1',
      '1003 api checkout 0',
      '1004 api checkout 1',
      '1005 api checkout 1',
      '1006 api checkout 1',
      '2001 web storefront 1',
      '2002 web storefront 1',
      '2003 web storefront 1',
    ]);
    const inc = await queryRows<{ incident_id: string; number: string; service: string; team: string }>(
      store,
      `SELECT incident_id, number, service, team FROM incidents FINAL ORDER BY incident_id`,
    );
    expect(inc.map((i) => `${i.incident_id} #${i.number} ${i.service} ${i.team}`)).toEqual([
      'Q1SHA01 #101 api checkout',
      'Q2WIN02 #102 web storefront',
      'Q3NON03 #103 api checkout',
      'Q4PRL04 #104 api checkout',
      'Q5PRB05 #105 api checkout',
    ]);
    const services = await queryRows<{ service_id: string; service: string }>(
      store,
      `SELECT service_id, service FROM services FINAL ORDER BY service_id`,
    );
    expect(services).toEqual([
      { service_id: PD_API.id, service: 'api' },
      { service_id: PD_WEB.id, service: 'web' },
    ]);
    const bugs = await queryRows<{ key: string; kind: string; found_in: string; team: string }>(
      store,
      `SELECT key, kind, found_in, team FROM work_items FINAL ORDER BY key`,
    );
    expect(bugs).toEqual([
      { key: 'CHK-1', kind: 'bug', found_in: '', team: 'checkout' },
      { key: 'CHK-2', kind: 'bug', found_in: 'Production', team: 'checkout' },
      { key: 'CHK-3', kind: 'bug', found_in: '', team: 'checkout' },
    ]);
  });

  it('links commits to pull requests: listed commits, the squash commit, and the rebased commits by fingerprint', async () => {
    const rows = await queryRows<{ repo: string; sha: string; number: string; method: string; rule: string }>(
      store,
      `SELECT repo, sha, number, method, rule FROM commit_pull_requests FINAL`,
    );
    const got = rows.map((r) => `${r.repo} ${named(r.sha)} #${r.number} ${r.method}/${r.rule}`).sort();
    expect(got).toEqual(
      [
        // PR 11, squash: its branch commits are listed, the squash commit is its merge commit
        'acme/api p1a #11 explicit/pr_commit',
        'acme/api p1b #11 explicit/pr_commit',
        'acme/api s1 #11 explicit/merge_commit',
        // PR 12, rebase: r2b is merge_commit_sha; r2a only carries p2a's authored time and message
        'acme/api p2a #12 explicit/pr_commit',
        'acme/api p2b #12 explicit/pr_commit',
        'acme/api r2a #12 inferred/fingerprint',
        'acme/api r2b #12 explicit/merge_commit',
        // PR 13, the hotfix, squash-merged as h1
        'acme/api hp1 #13 explicit/pr_commit',
        'acme/api h1 #13 explicit/merge_commit',
      ].sort(),
    );
  });

  it('charges each deployment the commits since the previous successful deployment of its service and environment', async () => {
    const rows = await queryRows<{ deployment_id: string; sha: string; method: string; rule: string; previous_deployment_id: string }>(
      store,
      `SELECT deployment_id, sha, method, rule, previous_deployment_id FROM deployment_commits FINAL ORDER BY deployment_id, sha`,
    );
    const of = (id: string): string[] =>
      rows
        .filter((r) => r.deployment_id === id)
        .map((r) => `${named(r.sha)} ${r.method}/${r.rule} after ${r.previous_deployment_id || '-'}`)
        .sort();
    expect(of('1001')).toEqual(['- none/first_deployment after -']);
    expect(of('1002')).toEqual(['s1 explicit/graph after 1001']);
    // staging is a history of its own: charged nothing, and it does not bound production
    expect(of('1003')).toEqual(['- none/first_deployment after -']);
    // the failed deployment is charged its range from the previous successful one
    expect(of('1004')).toEqual(['r2a explicit/graph after 1002']);
    // 1004 failed: 1005 is measured from 1002, so r2a is charged again
    expect(of('1005')).toEqual(['r2a explicit/graph after 1002', 'r2b explicit/graph after 1002']);
    expect(of('1006')).toEqual(['h1 explicit/graph after 1005']);
    expect(of('2001')).toEqual(['- none/first_deployment after -']);
    expect(of('2002')).toEqual(['w2 explicit/graph after 2001']);
    expect(of('2003')).toEqual(['w3 explicit/graph after 2002']);
    expect(new Set(rows.map((r) => r.deployment_id)).size).toBe(9);
  });

  it('resolves outcomes, previous deployments and hotfixes', async () => {
    const rows = await queryRows<{
      deployment_id: string;
      result: string;
      raw_result: string;
      started_at: string;
      finished_at: string | null;
      previous_deployment_id: string;
      is_rollback: number;
      is_hotfix: number;
      hotfix_rule: string;
      hotfix_for: string;
      commit_count: number;
    }>(
      store,
      `SELECT deployment_id, result, raw_result, started_at, finished_at, previous_deployment_id, is_rollback, is_hotfix, hotfix_rule,
              hotfix_for, commit_count
       FROM deployment_facts FINAL ORDER BY deployment_id`,
    );
    const fact = (r: (typeof rows)[number]): string =>
      [
        r.deployment_id,
        r.result,
        r.finished_at?.slice(11, 16) ?? '-',
        `prev=${r.previous_deployment_id || '-'}`,
        `n=${r.commit_count}`,
        `rollback=${r.is_rollback}`,
        `hotfix=${r.is_hotfix}${r.is_hotfix === 1 ? `:${r.hotfix_rule}:${r.hotfix_for}` : ''}`,
      ].join(' ');
    expect(rows.map(fact)).toEqual([
      '1001 success 00:12 prev=- n=0 rollback=0 hotfix=0',
      '1002 success 01:18 prev=1001 n=1 rollback=0 hotfix=0',
      '1003 success 03:36 prev=- n=0 rollback=0 hotfix=0',
      '1004 failure 04:24 prev=1002 n=1 rollback=0 hotfix=0',
      '1005 success 05:18 prev=1002 n=2 rollback=0 hotfix=0',
      // PR 13 ("incident #101") shipped in 1006; incident #101 is attributed to 1005, which it repaired
      '1006 success 09:12 prev=1005 n=1 rollback=0 hotfix=1:incident_reference:1005',
      '2001 success 00:06 prev=- n=0 rollback=0 hotfix=0',
      '2002 success 01:36 prev=2001 n=1 rollback=0 hotfix=0',
      '2003 success 02:36 prev=2002 n=1 rollback=0 hotfix=0',
    ]);
    const byId = new Map(rows.map((r) => [r.deployment_id, r]));
    expect(byId.get('1004')).toMatchObject({
      raw_result: 'failure',
      started_at: '2026-03-02 04:06:00.000',
      finished_at: '2026-03-02 04:24:00.000',
    });
    expect(byId.get('1006')).toMatchObject({ started_at: '2026-03-02 09:03:00.000', finished_at: '2026-03-02 09:12:00.000' });
  });

  it('attributes incidents: a named sha, a named pull request, the time window, else none', async () => {
    const rows = await queryRows<{
      incident_id: string;
      deployment_id: string;
      service: string;
      method: string;
      rule: string;
      evidence: string;
    }>(store, `SELECT incident_id, deployment_id, service, method, rule, evidence FROM incident_deployments FINAL ORDER BY incident_id`);
    expect(rows.map((r) => `${r.incident_id} ${r.deployment_id || '-'} ${r.service} ${r.method}/${r.rule}`)).toEqual([
      'Q1SHA01 1005 api explicit/sha',
      'Q2WIN02 2003 web inferred/time_window',
      'Q3NON03 - api none/no_match',
      'Q4PRL04 1002 api explicit/pull_request',
      'Q5PRB05 1005 api explicit/sha',
    ]);
    expect(rows[0]!.evidence).toBe(`names commit ${short(API, 'r2b')}, shipped by 1005`);
    expect(rows[1]!.evidence).toBe('started 3.4 h after 2003 finished on web (window 24 h)');
    expect(rows[2]!.evidence).toBe('no reference, and no deployment in the window');
    expect(rows[3]!.evidence).toBe('names "github.com/acme/api/pull/11", shipped by 1002');
  });

  it('links the hotfix deployment to the incident its pull request names', async () => {
    const rows = await queryRows<{
      deployment_id: string;
      incident_id: string;
      service: string;
      method: string;
      rule: string;
      evidence: string;
    }>(store, `SELECT deployment_id, incident_id, service, method, rule, evidence FROM deployment_incident_fixes FINAL`);
    expect(rows).toEqual([
      {
        deployment_id: '1006',
        incident_id: 'Q1SHA01',
        service: 'api',
        method: 'explicit',
        rule: 'incident_reference',
        evidence: 'names "incident #101"',
      },
    ]);
  });

  it('finds the bugs found in production: by incident reference and by the found-in field', async () => {
    const rows = await queryRows<{ item_id: string; found_in_production: number; method: string; rule: string; incident_id: string }>(
      store,
      `SELECT item_id, found_in_production, method, rule, incident_id FROM work_item_production FINAL ORDER BY item_id`,
    );
    expect(rows).toEqual([
      { item_id: '10101', found_in_production: 1, method: 'explicit', rule: 'incident_reference', incident_id: 'Q1SHA01' },
      { item_id: '10102', found_in_production: 1, method: 'explicit', rule: 'found_in', incident_id: '' },
      { item_id: '10103', found_in_production: 0, method: 'none', rule: 'no_match', incident_id: '' },
    ]);
  });

  it('gives the same links when deployments, statuses and incidents arrive as webhook deliveries', async () => {
    const records = deploymentWebhookRecords();
    // one record per delivery: 9 deployments and their 13 statuses
    expect(records.map((r) => r.type).sort()).toEqual([
      ...Array<string>(9).fill('github.deployment'),
      ...Array<string>(13).fill('github.deployment_status'),
    ]);
    const delivered = await scenarioStore(webhookEvents());
    try {
      // Every status and incident row cites a delivery. A pulled object and a delivery of the same entity
      // version have the same event id, so the pulled store cites the same ids.
      const rawIds = async (s: Store): Promise<string[]> =>
        (
          await queryRows<{ id: string }>(
            s,
            `SELECT raw_event_id AS id FROM incidents FINAL UNION ALL SELECT raw_event_id AS id FROM deployment_statuses FINAL`,
          )
        )
          .map((r) => r.id)
          .sort();
      const deliveries = new Set(
        webhookEvents()
          .filter((e) => e.connector.startsWith('webhook/'))
          .map((e) => e.id),
      );
      const cited = await rawIds(delivered);
      expect(cited).toHaveLength(18);
      expect(cited.filter((id) => !deliveries.has(id))).toEqual([]);
      expect(await rawIds(store)).toEqual(cited);
      const tables: Array<[string, string]> = [
        ['commit_pull_requests', 'source, repo, sha, number, method, rule, evidence'],
        ['deployment_commits', 'deployment_source, deployment_id, repo, sha, service, environment, method, rule, previous_deployment_id'],
        [
          'deployment_facts',
          `source, deployment_id, repo, service, environment, is_production, sha, ref, result, raw_result, created_at, started_at,
           finished_at, previous_deployment_id, is_rollback, rolled_back_by, is_hotfix, hotfix_rule, hotfix_for, commit_count, team, program`,
        ],
        ['incident_deployments', 'incident_source, incident_id, deployment_source, deployment_id, service, method, rule, evidence'],
        ['deployment_incident_fixes', 'deployment_source, deployment_id, incident_source, incident_id, service, method, rule, evidence'],
        ['work_item_production', 'source, item_id, found_in_production, method, rule, evidence, incident_source, incident_id'],
      ];
      for (const [table, columns] of tables) {
        const query = `SELECT ${columns} FROM ${table} FINAL ORDER BY ${columns.split(',').slice(0, 4).join(',')}`;
        const pulled = await queryRows<Json>(store, query);
        const pushed = await queryRows<Json>(delivered, query);
        expect(pulled.length, table).toBeGreaterThan(0);
        expect(pushed, table).toEqual(pulled);
      }
    } finally {
      await delivered.close();
    }
  });
});
