import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import { defaultModel } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type {
  CommitRow,
  DeploymentRow,
  DeploymentStatusRow,
  IncidentRow,
  PullRequestCommitsRow,
  PullRequestRow,
  WorkItemRow,
} from '../../schemas/domain.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import {
  commitRow,
  deploymentRow,
  deploymentStatusRow,
  incidentRow,
  pullRequestCommitsRow,
  pullRequestRow,
  workItemRow,
} from '../../test/support/rows.js';
import { commitFingerprint } from '../../mapping/rows.js';
import { link } from './linker.js';

/**
 * A hand-computed scenario at the level of the domain tables: the links the rules must give are
 * worked out in the comments beside the facts.
 */
const T = Date.parse('2026-03-02T00:00:00Z');
const at = (hours: number): string => new Date(T + hours * 3_600_000).toISOString();
const sha = (name: string): string => createHash('sha1').update(name).digest('hex');

const base = { team: 'checkout', program: 'payments', raw_event_id: 'e', version: 1 };

function commit(repo: string, name: string, parents: string[], hours: number, message = name): CommitRow {
  return commitRow({
    ...base,
    repo,
    sha: sha(name),
    parents: parents.map(sha),
    author: 'github:someone',
    authored_at: at(hours),
    fingerprint: commitFingerprint(at(hours), message),
  });
}

function pr(
  repo: string,
  number: number,
  merge: string,
  title: string,
  extra: Partial<Omit<PullRequestRow, 'merged_at'>> = {},
): PullRequestRow {
  return pullRequestRow({
    ...base,
    repo,
    number,
    title,
    author: 'github:someone',
    merge_commit_sha: sha(merge),
    created_at: at(-10),
    merged_at: at(0),
    ...extra,
  });
}

function prCommits(repo: string, number: number, list: Array<{ name: string; hours: number }>): PullRequestCommitsRow {
  return pullRequestCommitsRow(
    repo,
    number,
    list.map((c) => ({ sha: sha(c.name), authored_at: at(c.hours), fingerprint: commitFingerprint(at(c.hours), c.name) })),
  );
}

function deployment(
  id: string,
  service: string,
  repo: string,
  commitName: string,
  hours: number,
  extra: Partial<DeploymentRow> = {},
): DeploymentRow {
  return deploymentRow({ ...base, deployment_id: id, repo, service, sha: sha(commitName), created_at: at(hours), ...extra });
}

function status(id: string, state: DeploymentStatusRow['state'], hours: number, n = 1): DeploymentStatusRow {
  return deploymentStatusRow(id, state, at(hours), n);
}

function incident(id: string, number: string, service: string, hours: number, title: string): IncidentRow {
  return incidentRow({
    ...base,
    incident_id: id,
    number,
    title,
    service_id: `P${service.toUpperCase()}`,
    service,
    created_at: at(hours),
    resolved_at: at(hours + 2),
  });
}

function bug(id: string, key: string, summary: string, extra: Partial<WorkItemRow> = {}): WorkItemRow {
  return workItemRow({
    ...base,
    item_id: id,
    key,
    project: 'CHK',
    type: 'Bug',
    kind: 'bug',
    status: 'Open',
    status_category: 'todo',
    priority: 'High',
    priority_rank: 2,
    created_at: at(1),
    updated_at: at(1),
    summary,
    ...extra,
  });
}

// api: a1 - s1 (squash of PR 1: p1a, p1b) - r2a - r2b (rebase of PR 2: p2a, p2b) - h1 (hotfix, PR 3)
// web: w1 - w2 - w3
const tables = {
  commits: [
    commit('acme/api', 'a1', [], -20),
    commit('acme/api', 'p1a', ['a1'], -9),
    commit('acme/api', 'p1b', ['p1a'], -8),
    commit('acme/api', 's1', ['a1'], 0.5, 'squashed PR 1'),
    commit('acme/api', 'p2a', ['s1'], 1),
    commit('acme/api', 'p2b', ['p2a'], 1.5),
    // the rebase keeps authored time and message: same fingerprints as p2a and p2b
    { ...commit('acme/api', 'r2a', ['s1'], 1, 'p2a'), committed_at: at(3) },
    { ...commit('acme/api', 'r2b', ['r2a'], 1.5, 'p2b'), committed_at: at(3.1) },
    commit('acme/api', 'h1', ['r2b'], 8),
    commit('acme/web', 'w1', [], -30),
    commit('acme/web', 'w2', ['w1'], 1),
    commit('acme/web', 'w3', ['w2'], 2),
  ],
  pull_requests: [
    pr('acme/api', 1, 's1', 'Cart totals'),
    pr('acme/api', 2, 'r2b', 'Checkout retries'),
    pr('acme/api', 3, 'h1', 'Fix empty cart (incident #101)', { head_branch: 'hotfix/empty-cart' }),
  ],
  pull_request_commits: [
    prCommits('acme/api', 1, [
      { name: 'p1a', hours: -9 },
      { name: 'p1b', hours: -8 },
    ]),
    prCommits('acme/api', 2, [
      { name: 'p2a', hours: 1 },
      { name: 'p2b', hours: 1.5 },
    ]),
  ],
  deployments: [
    deployment('D1', 'api', 'acme/api', 'a1', 0),
    deployment('D2', 'api', 'acme/api', 's1', 1),
    deployment('D3', 'api', 'acme/api', 'r2b', 4),
    deployment('D4', 'api', 'acme/api', 'h1', 9, { ref: 'hotfix/empty-cart' }),
    deployment('S1', 'api', 'acme/api', 'r2b', 3.5, { environment: 'staging', is_production: 0 }),
    deployment('W1', 'web', 'acme/web', 'w1', 0),
    deployment('W2', 'web', 'acme/web', 'w2', 1.5),
    deployment('W3', 'web', 'acme/web', 'w3', 2.5),
    deployment('W4', 'web', 'acme/web', 'w1', 40),
  ],
  deployment_statuses: [
    status('D1', 'success', 0.2),
    status('D2', 'in_progress', 1.1),
    status('D2', 'success', 1.3, 2),
    status('D3', 'success', 4.5),
    status('D4', 'success', 9.2),
    status('S1', 'success', 3.6),
    status('W1', 'success', 0.1),
    status('W2', 'failure', 1.6),
    status('W3', 'success', 2.6),
    // superseded later: inactive says nothing about the outcome
    status('W3', 'inactive', 40.2, 2),
    status('W4', 'success', 40.2),
  ],
  incidents: [
    // names the sha deployed by D3 (abbreviated)
    incident('I1', '101', 'api', 6, `Checkout 500s since ${sha('r2b').slice(0, 9)}`),
    // no reference; 3.4 h after W3 finished (2.6 h): inferred to W3
    incident('I2', '102', 'web', 6, 'Web pages slow'),
    // 30 h after D4 finished (9.2 h) with a 24 h window: no deployment
    incident('I3', '103', 'api', 39.2, 'Latency alarm'),
  ],
  work_items: [
    bug('B1', 'CHK-1', 'Cart shows empty (PagerDuty incident #101)'),
    bug('B2', 'CHK-2', 'Wrong tax', { found_in: 'Production' }),
    bug('B3', 'CHK-3', 'Typo', { labels: ['customer-reported'] }),
    bug('B4', 'CHK-4', 'Flaky unit test', { found_in: 'staging' }),
  ],
};

describe('linker on a hand-computed scenario', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, tables);
    await link({ store, model: defaultModel(), now: new Date('2026-03-10T00:00:00Z') });
  });
  afterAll(() => store.close());

  const nameOf = (full: string): string =>
    ['a1', 'p1a', 'p1b', 's1', 'p2a', 'p2b', 'r2a', 'r2b', 'h1', 'w1', 'w2', 'w3'].find((n) => sha(n) === full) ?? full;

  it('links commits to pull requests: listed, merge commit (squash) and fingerprint (rebase)', async () => {
    const rows = await queryRows<{ sha: string; number: string; method: string; rule: string }>(
      store,
      `SELECT sha, number, method, rule FROM commit_pull_requests FINAL ORDER BY number, sha`,
    );
    const got = rows.map((r) => `${nameOf(r.sha)} #${r.number} ${r.method}/${r.rule}`).sort();
    expect(got).toEqual(
      [
        'p1a #1 explicit/pr_commit',
        'p1b #1 explicit/pr_commit',
        's1 #1 explicit/merge_commit',
        'p2a #2 explicit/pr_commit',
        'p2b #2 explicit/pr_commit',
        'r2a #2 inferred/fingerprint',
        'r2b #2 explicit/merge_commit',
        'h1 #3 explicit/merge_commit',
      ].sort(),
    );
  });

  it('gives each deployment the commits since the previous successful one of its service and environment', async () => {
    const rows = await queryRows<{ deployment_id: string; sha: string; method: string; rule: string; previous_deployment_id: string }>(
      store,
      `SELECT deployment_id, sha, method, rule, previous_deployment_id FROM deployment_commits FINAL ORDER BY deployment_id, sha`,
    );
    const of = (id: string): string[] =>
      rows.filter((r) => r.deployment_id === id).map((r) => `${nameOf(r.sha) || '-'} ${r.method}/${r.rule}`);
    expect(of('D1')).toEqual(['- none/first_deployment']);
    expect(of('D2')).toEqual(['s1 explicit/graph']);
    expect(of('D3').sort()).toEqual(['r2a explicit/graph', 'r2b explicit/graph']);
    expect(of('D4')).toEqual(['h1 explicit/graph']);
    // staging is its own history: its first deployment is charged nothing
    expect(of('S1')).toEqual(['- none/first_deployment']);
    // W2 failed: W3 is measured from W1, the previous successful one
    expect(of('W2').sort()).toEqual(['w2 explicit/graph']);
    expect(of('W3').sort()).toEqual(['w2 explicit/graph', 'w3 explicit/graph']);
    expect(of('W4')).toEqual([]);
    expect(rows.find((r) => r.deployment_id === 'W3')?.previous_deployment_id).toBe('W1');
  });

  it('resolves outcomes, rollbacks and hotfixes of deployments', async () => {
    const rows = await queryRows<{
      deployment_id: string;
      result: string;
      finished_at: string | null;
      is_rollback: number;
      rolled_back_by: string;
      is_hotfix: number;
      hotfix_rule: string;
      hotfix_for: string;
      commit_count: number;
    }>(
      store,
      `SELECT deployment_id, result, finished_at, is_rollback, rolled_back_by, is_hotfix, hotfix_rule, hotfix_for, commit_count
       FROM deployment_facts FINAL ORDER BY deployment_id`,
    );
    const byId = new Map(rows.map((r) => [r.deployment_id, r]));
    expect(byId.get('D2')).toMatchObject({ result: 'success', finished_at: '2026-03-02 01:18:00.000', commit_count: 1 });
    expect(byId.get('W2')).toMatchObject({ result: 'failure' });
    expect(byId.get('W3')).toMatchObject({ result: 'success', rolled_back_by: 'W4' });
    expect(byId.get('W4')).toMatchObject({ result: 'success', is_rollback: 1, commit_count: 0 });
    // PR 3 names incident #101, which D3 caused: the hotfix repaired D3
    expect(byId.get('D4')).toMatchObject({ is_hotfix: 1, hotfix_rule: 'incident_reference', hotfix_for: 'D3' });
    expect(byId.get('D3')).toMatchObject({ is_hotfix: 0, hotfix_rule: '' });
  });

  it('attributes incidents: explicit reference first, then the time window, else none', async () => {
    const rows = await queryRows<{ incident_id: string; deployment_id: string; method: string; rule: string; evidence: string }>(
      store,
      `SELECT incident_id, deployment_id, method, rule, evidence FROM incident_deployments FINAL ORDER BY incident_id`,
    );
    expect(rows.map((r) => `${r.incident_id} ${r.deployment_id || '-'} ${r.method}/${r.rule}`)).toEqual([
      'I1 D3 explicit/sha',
      'I2 W3 inferred/time_window',
      'I3 - none/no_match',
    ]);
    expect(rows[1]!.evidence).toBe('started 3.4 h after W3 finished on web (window 24 h)');
  });

  it('links the hotfix to the incident it fixed', async () => {
    const rows = await queryRows<{ deployment_id: string; incident_id: string; method: string; rule: string }>(
      store,
      `SELECT deployment_id, incident_id, method, rule FROM deployment_incident_fixes FINAL`,
    );
    expect(rows).toEqual([{ deployment_id: 'D4', incident_id: 'I1', method: 'explicit', rule: 'incident_reference' }]);
  });

  it('finds bugs found in production by field, label and incident reference', async () => {
    const rows = await queryRows<{ item_id: string; found_in_production: number; rule: string; incident_id: string }>(
      store,
      `SELECT item_id, found_in_production, rule, incident_id FROM work_item_production FINAL ORDER BY item_id`,
    );
    expect(rows).toEqual([
      { item_id: 'B1', found_in_production: 1, rule: 'incident_reference', incident_id: 'I1' },
      { item_id: 'B2', found_in_production: 1, rule: 'found_in', incident_id: '' },
      { item_id: 'B3', found_in_production: 1, rule: 'label', incident_id: '' },
      { item_id: 'B4', found_in_production: 0, rule: 'no_match', incident_id: '' },
    ]);
  });

  it('retracts links that no longer hold and changes nothing else on a re-run', async () => {
    const before = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM deployment_commits FINAL');
    // W2's deployment is corrected to staging: it leaves the production history of web
    await insertTables(store, { deployments: [{ ...tables.deployments[6]!, environment: 'staging', is_production: 0, version: 2 }] });
    const result = await link({ store, model: defaultModel(), now: new Date('2026-03-11T00:00:00Z') });
    expect(result.retracted).toBeGreaterThan(0);
    const w3 = await queryRows<{ sha: string }>(store, `SELECT sha FROM deployment_commits FINAL WHERE deployment_id = 'W3' ORDER BY sha`);
    expect(w3.map((r) => nameOf(r.sha)).sort()).toEqual(['w2', 'w3']);
    const w2 = await queryRows<{ rule: string }>(store, `SELECT rule FROM deployment_commits FINAL WHERE deployment_id = 'W2'`);
    expect(w2.map((r) => r.rule)).toEqual(['first_deployment']);
    const after = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM deployment_commits FINAL');
    // W2 lost its commit w2 and gained a first_deployment row: same count
    expect(after).toEqual(before);
    const again = await link({ store, model: defaultModel(), now: new Date('2026-03-12T00:00:00Z') });
    expect(again.retracted).toBe(0);
    // nothing changed: the run reads the link tables and writes none of their rows again
    expect(again.written).toBe(0);
    expect(result.written).toBeGreaterThan(0);
  });
});

describe('incident facts', () => {
  let store: Store;
  afterAll(() => store.close());

  it('take the first trigger and acknowledgement and the resolution from the timeline and lifecycle events', async () => {
    store = await testStore();
    const resolvedNoAck = { ...incident('PD1', '7', 'api', 10, 'Errors'), acknowledged_at: null, resolved_at: at(12) };
    // CDEvents: the row is the resolution; the detection time is only in lifecycle_events
    const cde = { ...incident('CD1', 'x', 'web', 20, 'Down'), source: 'cdevents', resolved_at: at(20) };
    const reopened = {
      ...incident('PD2', '8', 'api', 30, 'Flapping'),
      status: 'triggered' as const,
      raw_status: 'triggered',
      resolved_at: null,
    };
    await insertTables(store, {
      incidents: [resolvedNoAck, cde, reopened],
      incident_events: [
        {
          source: 'pagerduty',
          incident_id: 'PD1',
          event_id: 'L1',
          kind: 'trigger',
          raw_type: 'trigger_log_entry',
          at: at(10),
          raw_event_id: 'e',
          version: 1,
        },
        {
          source: 'pagerduty',
          incident_id: 'PD1',
          event_id: 'L2',
          kind: 'acknowledge',
          raw_type: 'acknowledge_log_entry',
          at: at(10.5),
          raw_event_id: 'e',
          version: 1,
        },
        {
          source: 'pagerduty',
          incident_id: 'PD1',
          event_id: 'L3',
          kind: 'acknowledge',
          raw_type: 'acknowledge_log_entry',
          at: at(11),
          raw_event_id: 'e',
          version: 1,
        },
        {
          source: 'pagerduty',
          incident_id: 'PD2',
          event_id: 'L4',
          kind: 'resolve',
          raw_type: 'resolve_log_entry',
          at: at(31),
          raw_event_id: 'e',
          version: 1,
        },
      ],
      lifecycle_events: [
        { source: 'cdevents', entity: 'incident', entity_id: 'CD1', step: 'detected', at: at(18), raw_event_id: 'e', version: 1 },
        { source: 'cdevents', entity: 'incident', entity_id: 'CD1', step: 'resolved', at: at(20), raw_event_id: 'e', version: 2 },
      ],
    });
    await link({ store, model: defaultModel(), now: new Date('2026-03-10T00:00:00Z') });
    const rows = await queryRows<{ incident_id: string; created_at: string; acknowledged_at: string | null; resolved_at: string | null }>(
      store,
      'SELECT incident_id, created_at, acknowledged_at, resolved_at FROM incident_facts FINAL ORDER BY incident_id',
    );
    const ch = (hours: number): string => at(hours).replace('T', ' ').replace('Z', '');
    expect(rows).toEqual([
      { incident_id: 'CD1', created_at: ch(18), acknowledged_at: null, resolved_at: ch(20) },
      { incident_id: 'PD1', created_at: ch(10), acknowledged_at: ch(10.5), resolved_at: ch(12) },
      // resolved once, then triggered again: open, so no resolution time
      { incident_id: 'PD2', created_at: ch(30), acknowledged_at: null, resolved_at: null },
    ]);
  });
});

describe('the linker on a clock', () => {
  let store: Store;
  afterAll(() => store.close());

  it("stamps every row it writes with its clock's instant when no instant is given", async () => {
    store = await testStore();
    await insertTables(store, tables);
    const at = Date.parse('2026-03-10T06:00:00Z');
    const result = await link({ store, model: defaultModel(), clock: fixedClock(at) });
    expect(result.written).toBeGreaterThan(0);
    for (const table of ['commit_pull_requests', 'deployment_facts', 'deployment_commits', 'incident_deployments']) {
      const stamps = await queryRows<{ linked_at: string; version: string; n: string }>(
        store,
        `SELECT toString(linked_at) AS linked_at, toString(version) AS version, count() AS n FROM ${table} GROUP BY linked_at, version`,
      );
      expect({ table, stamps: stamps.map((r) => [r.linked_at, r.version]) }).toEqual({
        table,
        stamps: [['2026-03-10 06:00:00.000', String(at * 1000)]],
      });
    }
  });
});
