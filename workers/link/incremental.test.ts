import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModel, type ModelConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type {
  CommitRow,
  DeploymentRow,
  DeploymentStatusRow,
  IncidentRow,
  PullRequestCommitsRow,
  PullRequestRow,
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
  workItemMaker,
} from '../../test/support/rows.js';
import { LINK_TABLES, link } from './linker.js';

/**
 * Linking again after facts arrive gives exactly the rows a first link of all the facts gives, and a
 * run over unchanged facts writes nothing. Two repositories; the facts that arrive later: a new
 * deployment, a commit that was missing from a deployment's range, a pull request retitled as a
 * hotfix, a deployment moved out of production, a later status of a deployment.
 */
const T = Date.parse('2026-05-04T00:00:00Z');
const at = (hours: number): string => new Date(T + hours * 3_600_000).toISOString();
const sha = (name: string): string => createHash('sha1').update(`inc:${name}`).digest('hex');
const own = { team: 'core', program: 'platform', raw_event_id: 'e' };

const commit = (repo: string, name: string, parents: string[], hours: number): CommitRow =>
  commitRow({ ...own, repo, sha: sha(name), parents: parents.map(sha), author: 'github:ana', authored_at: at(hours) });

/** A linear history `<prefix>1 .. <prefix>n`, an hour apart; `skip` leaves commits out (they arrive late). */
const line = (repo: string, prefix: string, n: number, skip: string[] = []): CommitRow[] =>
  Array.from({ length: n }, (_, i) => commit(repo, `${prefix}${i + 1}`, i === 0 ? [] : [`${prefix}${i}`], i)).filter(
    (c) => !skip.some((s) => sha(s) === c.sha),
  );

const deploy = (id: string, service: string, commit: string, hours: number, extra: Partial<DeploymentRow> = {}): DeploymentRow =>
  deploymentRow({ ...own, deployment_id: id, service, sha: sha(commit), created_at: at(hours), ...extra });

const status = (id: string, state: DeploymentStatusRow['state'], hours: number, n = 1): DeploymentStatusRow =>
  deploymentStatusRow(id, state, at(hours), n);

const pullRequest = (number: number, merge: string, title: string, version = 1): PullRequestRow =>
  pullRequestRow({
    ...own,
    version,
    repo: 'acme/api',
    number,
    title,
    author: 'github:ana',
    head_sha: sha(merge),
    merge_commit_sha: sha(merge),
    created_at: at(0),
    merged_at: at(1),
  });

const prCommits = (number: number, names: string[]): PullRequestCommitsRow =>
  pullRequestCommitsRow(
    'acme/api',
    number,
    names.map((n) => ({ sha: sha(n), authored_at: at(0), fingerprint: '' })),
  );

const incident = (id: string, service: string, hours: number, title: string): IncidentRow =>
  incidentRow({
    ...own,
    incident_id: id,
    number: id.slice(1),
    title,
    service_id: `P${service}`,
    service,
    created_at: at(hours),
    resolved_at: at(hours + 1),
  });

const bug = workItemMaker({ programOf: { core: 'platform' }, createdAt: at(1), updatedAt: at(1) });

/** What is there before the first link. api8 and web3 are missing (they arrive late): A4's and W2's ranges are incomplete. */
const before: Record<string, object[]> = {
  commits: [...line('acme/api', 'api', 12, ['api8']), ...line('acme/web', 'web', 8, ['web3'])],
  pull_requests: [pullRequest(7, 'api6', 'Faster checkout')],
  pull_request_commits: [prCommits(7, ['api5', 'api6'])],
  deployments: [
    deploy('A1', 'api', 'api2', 2),
    deploy('A2', 'api', 'api4', 4),
    deploy('A3', 'api', 'api6', 6),
    deploy('A4', 'api', 'api9', 9),
    deploy('W1', 'web', 'web2', 2),
    deploy('W2', 'web', 'web5', 5),
    deploy('W3', 'web', 'web7', 7),
  ],
  deployment_statuses: [
    status('A1', 'success', 2.1),
    status('A2', 'success', 4.1),
    status('A3', 'success', 6.1),
    status('A4', 'in_progress', 9.1),
    status('W1', 'success', 2.1),
    status('W2', 'success', 5.1),
    status('W3', 'success', 7.1),
  ],
  incidents: [incident('I1', 'api', 6.5, `Errors since ${sha('api5').slice(0, 10)}`), incident('I2', 'web', 7.5, 'Slow pages')],
  work_items: [bug('CORE-1', 'bug', 'core', { summary: 'Broken after incident #1' }), bug('CORE-2', 'bug', 'core')],
};

/** What arrives after the first link. */
const later: Record<string, object[]> = {
  // the missing commits of A4's range (nothing else about A4 changes but its outcome) and of W2's
  commits: [commit('acme/api', 'api8', ['api7'], 7), commit('acme/web', 'web3', ['web2'], 2)],
  // retitled: now a hotfix by the title rule, shipped by A3
  pull_requests: [pullRequest(7, 'api6', 'Hotfix: faster checkout', 2)],
  deployments: [
    // a new deployment of api, after A4
    deploy('A5', 'api', 'api12', 12),
    // W2 was a staging deployment: W3's previous deployment becomes W1
    { ...deploy('W2', 'web', 'web5', 5), environment: 'staging', is_production: 0, version: 2 },
  ],
  deployment_statuses: [status('A4', 'failure', 9.3, 2), status('A5', 'success', 12.1)],
};

/** The link tables as the rules made them: every column but the run's stamp, in key order. */
async function linkRows(store: Store): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of LINK_TABLES) {
    const columns = (await queryRows<{ name: string }>(store, `DESCRIBE TABLE ${table}`))
      .map((c) => c.name)
      .filter((c) => !['linked_at', 'version', 'is_deleted'].includes(c));
    out[table] = await queryRows(store, `SELECT ${columns.join(', ')} FROM ${table} FINAL ORDER BY ${columns.join(', ')}`);
  }
  return out;
}

/** Rows stored in the link tables, every version counted. */
async function storedRows(store: Store): Promise<number> {
  const counts = LINK_TABLES.map((t) => `SELECT count() AS n FROM ${t}`).join(' UNION ALL ');
  const [row] = await queryRows<{ n: string }>(store, `SELECT sum(n) AS n FROM (${counts})`);
  return Number(row!.n);
}

const day = (d: number): Date => new Date(T + d * 86_400_000);

describe('linking again after facts arrive', () => {
  let store: Store;
  let fresh: Store;
  beforeAll(async () => {
    [store, fresh] = await Promise.all([testStore(), testStore()]);
    await insertTables(store, before);
  });
  afterAll(async () => {
    await Promise.all([store.close(), fresh.close()]);
  });

  it('writes nothing when no fact changed, and keeps the counts of the run before', async () => {
    const first = await link({ store, model: defaultModel(), now: day(1) });
    expect(first.written).toBeGreaterThan(0);
    const rows = await storedRows(store);
    const again = await link({ store, model: defaultModel(), now: day(2) });
    expect(again).toMatchObject({ written: 0, retracted: 0 });
    expect({ ...again, ms: 0, phases: {} }).toEqual({ ...first, written: 0, retracted: 0, ms: 0, phases: {} });
    expect(await storedRows(store)).toBe(rows);
  });

  it('gives exactly the rows a first link of all the facts gives, rewriting only what changed', async () => {
    const asOfFirst = await queryRows<{ deployment_id: string; sha: string }>(
      store,
      `SELECT deployment_id, sha FROM deployment_commits FINAL ORDER BY deployment_id, sha`,
    );
    await insertTables(store, later);
    const result = await link({ store, model: defaultModel(), now: day(3) });
    expect(result.written).toBeGreaterThan(0);
    expect(result.retracted).toBeGreaterThan(0);

    await insertTables(fresh, before);
    await insertTables(fresh, later);
    await link({ store: fresh, model: defaultModel(), now: day(3) });
    const expected = await linkRows(fresh);
    expect(await linkRows(store)).toEqual(expected);

    // The facts changed as planned: W3 now ships web3..web7 from W1, A4 api7..api9 (it failed, so A5 ships them again), A3 is a hotfix.
    const commitsOf = (id: string): string[] =>
      (expected.deployment_commits as Array<{ deployment_id: string; sha: string }>)
        .filter((r) => r.deployment_id === id)
        .map((r) => r.sha);
    expect(commitsOf('W3').sort()).toEqual(['web3', 'web4', 'web5', 'web6', 'web7'].map(sha).sort());
    expect(commitsOf('A4').sort()).toEqual(['api7', 'api8', 'api9'].map(sha).sort());
    expect(commitsOf('A5').sort()).toEqual(['api7', 'api8', 'api9', 'api10', 'api11', 'api12'].map(sha).sort());
    const facts = expected.deployment_facts as Array<{ deployment_id: string; is_hotfix: number; result: string }>;
    expect(facts.find((f) => f.deployment_id === 'A3')?.is_hotfix).toBe(1);
    expect(facts.find((f) => f.deployment_id === 'A4')?.result).toBe('failure');

    // A deployment none of this touched keeps the rows of the first run, so the links as of then read as they did.
    const versions = await queryRows<{ v: string }>(
      store,
      `SELECT DISTINCT toString(version) AS v FROM deployment_commits WHERE deployment_id IN ('A2', 'A3')`,
    );
    expect(versions).toEqual([{ v: String(day(1).getTime() * 1000) }]);
    const asOf = await queryRows<{ deployment_id: string; sha: string }>(
      store,
      `SELECT deployment_id, sha FROM
         (SELECT * FROM deployment_commits WHERE linked_at <= {t:DateTime64(3)} ORDER BY version DESC LIMIT 1 BY deployment_source, deployment_id, sha)
       WHERE is_deleted = 0 ORDER BY deployment_id, sha`,
      { t: day(1).getTime() / 1000 },
    );
    expect(asOf).toEqual(asOfFirst);

    // And once more, nothing changed: nothing written.
    const rows = await storedRows(store);
    expect(await link({ store, model: defaultModel(), now: day(4) })).toMatchObject({ written: 0, retracted: 0 });
    expect(await storedRows(store)).toBe(rows);
  });

  it('applies changed model settings to every deployment, as a first link with them does', async () => {
    // No commit changed: every deployment keeps its commits, which the rules read back (I1 names a commit A3 shipped).
    const model: ModelConfig = { ...defaultModel(), hotfix: { ...defaultModel().hotfix, textPattern: 'checkout' } };
    await link({ store, model, now: day(5) });
    await link({ store: fresh, model, now: day(5), full: true });
    const rows = await linkRows(store);
    expect(rows).toEqual(await linkRows(fresh));
    expect(rows.incident_deployments).toContainEqual(expect.objectContaining({ incident_id: 'I1', deployment_id: 'A3', rule: 'sha' }));
  });

  it('links anew when the link tables no longer hold what the last run wrote (truncated for a replay)', async () => {
    const linked = await linkRows(store);
    for (const t of ['deployment_commits', 'commit_pull_requests']) await store.client.command({ query: `TRUNCATE TABLE ${t}` });
    await link({ store, model: { ...defaultModel(), hotfix: { ...defaultModel().hotfix, textPattern: 'checkout' } }, now: day(6) });
    expect(await linkRows(store)).toEqual(linked);
  });
});
