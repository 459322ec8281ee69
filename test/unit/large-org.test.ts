import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultModel, orgSchema, serviceName } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type {
  CommitRow,
  DeploymentRow,
  IncidentRow,
  MilestoneDateRow,
  MilestoneRow,
  PullRequestCommitsRow,
  PullRequestRow,
  WorkItemHistoryRow,
  WorkItemRow,
} from '../../schemas/domain.js';
import { link } from '../../workers/link/linker.js';
import { generateLargeOrg, LARGE_ORG_TABLES, type LargeOrgOptions, type LargeOrgResult, type LargeOrgTable } from '../fakes/large-org.js';
import { queryRows, testStore } from '../support/harness.js';

const SMALL: LargeOrgOptions = { seed: 7, teams: 7, years: 0.15, scale: 0.6 };

type Tables = Record<LargeOrgTable, object[]>;

async function generate(options: LargeOrgOptions, store?: Store): Promise<{ result: LargeOrgResult; tables: Tables }> {
  const tables = Object.fromEntries(LARGE_ORG_TABLES.map((t) => [t, []])) as unknown as Tables;
  const result = await generateLargeOrg({ ...options, chunkRows: 2_000 }, async (table, rows) => {
    tables[table].push(...rows);
    if (store !== undefined) await store.client.insert({ table, values: rows, format: 'JSONEachRow' });
  });
  return { result, tables };
}

const digest = (tables: Tables): Record<string, string> =>
  Object.fromEntries(Object.entries(tables).map(([t, rows]) => [t, createHash('sha256').update(JSON.stringify(rows)).digest('hex')]));

describe('the large generated organisation', () => {
  let store: Store;
  let result: LargeOrgResult;
  let tables: Tables;

  beforeAll(async () => {
    store = await testStore();
    ({ result, tables } = await generate(SMALL, store));
  });
  afterAll(async () => {
    await store.close();
  });

  it('writes every table, in the counts it reports, each entity once (a re-run CI run twice, as two versions)', async () => {
    for (const t of LARGE_ORG_TABLES) {
      expect(result.counts[t], t).toBe(tables[t].length);
      const [row] = await queryRows<{ n: string }>(store, `SELECT count() AS n FROM ${t} FINAL`);
      const entities =
        t === 'pipeline_runs' ? new Set((tables[t] as Array<{ run_id: string }>).map((r) => r.run_id)).size : result.counts[t];
      expect(Number(row?.n), t).toBe(entities);
    }
    for (const t of LARGE_ORG_TABLES.filter((x) => x !== 'work_item_links')) expect(result.counts[t], t).toBeGreaterThan(0);
    expect(result.rows).toBe(Object.values(result.counts).reduce((a, b) => a + b, 0));
  });

  it('gives the same rows for the same seed, and other rows for another', async () => {
    const again = await generate(SMALL);
    expect(digest(again.tables)).toEqual(digest(tables));
    expect(again.result.org).toEqual(result.org);
    const other = await generate({ ...SMALL, seed: 8 });
    expect(digest(other.tables)['commits']).not.toBe(digest(tables)['commits']);
  });

  it('is chunked: the sink never gets more than a chunk at once', async () => {
    let largest = 0;
    await generateLargeOrg({ ...SMALL, chunkRows: 500 }, (_table, rows) => {
      largest = Math.max(largest, rows.length);
      return Promise.resolve();
    });
    // A chunk is flushed once a team's month is done, so it holds at most about one team-month beyond the limit.
    expect(largest).toBeLessThan(2_000);
  });

  it('names every team in the org config, which owns its repositories, services, projects and pipelines', () => {
    const org = orgSchema.parse(result.org);
    expect(org.programs.length).toBe(2);
    expect(org.programs.flatMap((p) => p.teams).length).toBe(SMALL.teams);
    const ownerOf = new Map<string, { team: string; program: string }>();
    for (const p of org.programs) {
      expect(p.teams.length).toBeLessThanOrEqual(5);
      for (const t of p.teams) {
        expect(t.repositories.length).toBeGreaterThanOrEqual(2);
        expect(t.repositories.length).toBeLessThanOrEqual(3);
        const owner = { team: t.id, program: p.id };
        for (const r of t.repositories) ownerOf.set(`repo:${r}`, owner);
        for (const s of t.services) ownerOf.set(`service:${serviceName(s)}`, owner);
        for (const s of t.pagerduty.services) ownerOf.set(`pd:${s}`, owner);
        for (const j of t.jira.projects) ownerOf.set(`project:${j}`, owner);
        for (const c of t.ci.pipelines) ownerOf.set(`pipeline:${c}`, owner);
      }
    }
    const check = (key: string, row: { team: string; program: string }): void => {
      expect(ownerOf.get(key), key).toEqual({ team: row.team, program: row.program });
    };
    for (const t of ['repositories', 'pull_requests', 'commits', 'deployments', 'pipeline_runs', 'pipeline_jobs', 'releases'] as const) {
      for (const row of tables[t] as Array<{ repo: string; team: string; program: string }>) check(`repo:${row.repo}`, row);
    }
    for (const row of tables.deployments as DeploymentRow[]) check(`service:${row.service}`, row);
    for (const row of tables.incidents as IncidentRow[]) {
      check(`pd:${row.service_id}`, row);
      check(`service:${row.service}`, row);
    }
    for (const row of tables.pipeline_runs as Array<{ pipeline: string; team: string; program: string }>)
      check(`pipeline:${row.pipeline}`, row);
    for (const row of tables.work_items as WorkItemRow[]) check(`project:${row.project}`, row);
  });

  it('keeps a default branch per repository that holds every merge commit and every deployed sha', () => {
    const commits = tables.commits as CommitRow[];
    const listed = new Set((tables.pull_request_commits as PullRequestCommitsRow[]).flatMap((l) => l.shas));
    // Parents as the default branch sees them: a pull request's own commits (still open, closed, or merged by a merge
    // commit) may build on its tip, which stays the tip.
    const parentOf = new Set(commits.filter((c) => !listed.has(c.sha)).flatMap((c) => c.parents));
    const byRepo = new Map<string, Map<string, CommitRow>>();
    for (const c of commits) {
      const m = byRepo.get(c.repo) ?? new Map<string, CommitRow>();
      expect(m.has(c.sha), `${c.repo}@${c.sha} twice`).toBe(false);
      m.set(c.sha, c);
      byRepo.set(c.repo, m);
    }
    const history = new Map<string, Set<string>>();
    for (const [repo, m] of byRepo) {
      // The default branch's tip: the one commit in no pull request's list that no such commit builds on.
      const tips = [...m.values()].filter((c) => !parentOf.has(c.sha) && !listed.has(c.sha));
      expect(tips.length, repo).toBe(1);
      const seen = new Set<string>();
      const stack = [tips[0]!.sha];
      while (stack.length > 0) {
        const sha = stack.pop()!;
        if (seen.has(sha)) continue;
        seen.add(sha);
        const c = m.get(sha);
        expect(c, `${repo}@${sha} is a parent but not a commit`).toBeDefined();
        for (const p of c!.parents) stack.push(p);
        // Commits are linear-ish and in time order: a parent is never committed after its child.
        for (const p of c!.parents) expect(Date.parse(m.get(p)?.committed_at ?? '')).toBeLessThanOrEqual(Date.parse(c!.committed_at));
      }
      history.set(repo, seen);
    }
    const prs = tables.pull_requests as PullRequestRow[];
    const merged = prs.filter((p) => p.state === 'merged');
    expect(merged.length).toBeGreaterThan(prs.length * 0.8);
    for (const p of merged) expect(history.get(p.repo)?.has(p.merge_commit_sha), `${p.repo}#${p.number}`).toBe(true);
    for (const p of prs.filter((x) => x.state !== 'merged')) expect(p.merge_commit_sha).toBe('');
    for (const d of tables.deployments as DeploymentRow[])
      expect(history.get(d.repo)?.has(d.sha), `deployment ${d.deployment_id}`).toBe(true);
    // All three merge methods occur: merge commits (two parents), squashes and rebases (commits outside the PR lists with their fingerprints).
    const mergeCommits = merged.filter((p) => (byRepo.get(p.repo)?.get(p.merge_commit_sha)?.parents.length ?? 0) === 2);
    expect(mergeCommits.length).toBeGreaterThan(0);
    expect(mergeCommits.length).toBeLessThan(merged.length);
  });

  it('has the mix the metrics need: failed deployments, incidents after deployments, flaky CI re-runs, status history', () => {
    const statuses = tables.deployment_statuses as Array<{ state: string }>;
    const failed = statuses.filter((s) => s.state === 'failure').length;
    const done = statuses.filter((s) => s.state === 'success' || s.state === 'failure').length;
    expect(failed / done).toBeGreaterThan(0.03);
    expect(failed / done).toBeLessThan(0.2);
    const jobs = tables.pipeline_jobs as Array<{ sha: string; name: string; run_id: string; result: string }>;
    const byJob = new Map<string, Set<string>>();
    for (const j of jobs)
      byJob.set(`${j.run_id}/${j.sha}/${j.name}`, (byJob.get(`${j.run_id}/${j.sha}/${j.name}`) ?? new Set()).add(j.result));
    expect([...byJob.values()].some((r) => r.has('success') && r.has('failure'))).toBe(true);
    const history = tables.work_item_history as Array<{ field: string; from_string: string; to_string: string }>;
    expect(history.some((h) => h.field === 'status' && h.from_string === 'To Do' && h.to_string === 'In Progress')).toBe(true);
    const kinds = new Set((tables.work_items as WorkItemRow[]).map((w) => w.kind));
    for (const k of ['story', 'bug', 'risk', 'decision', 'action', 'epic']) expect(kinds.has(k as WorkItemRow['kind']), k).toBe(true);
    expect((tables.work_items as WorkItemRow[]).some((w) => w.kind === 'action' && w.due_date !== null)).toBe(true);
    expect((tables.work_items as WorkItemRow[]).some((w) => w.kind === 'bug' && w.found_in === 'production')).toBe(true);
  });

  it('plans work as a Jira site does: items created into versions, moved to the next one on release, epics with children', () => {
    const milestones = tables.milestones as MilestoneRow[];
    const items = tables.work_items as WorkItemRow[];
    const versions = new Map(milestones.filter((m) => m.kind === 'version').map((m) => [m.milestone_id, m]));
    const epics = milestones.filter((m) => m.kind === 'epic');
    // Finished and open versions and epics, each version and epic with its items.
    for (const list of [[...versions.values()], epics]) {
      expect(list.some((m) => m.completed_at !== null)).toBe(true);
      expect(list.some((m) => m.completed_at === null)).toBe(true);
    }
    const members = new Map<string, WorkItemRow[]>();
    for (const i of items)
      for (const m of [...i.fix_versions, ...(i.parent_id === '' ? [] : [`epic/${i.parent_id}`])])
        members.set(m, [...(members.get(m) ?? []), i]);
    // (A version or epic opened in the last days of history may have no item yet.)
    const weekBefore = new Date(Date.parse(`${result.end}T00:00:00Z`) - 7 * 86_400_000).toISOString().slice(0, 10);
    for (const v of versions.values())
      if (v.start_date !== null && v.start_date < weekBefore)
        expect(members.get(v.milestone_id)?.length ?? 0, v.milestone_id).toBeGreaterThan(0);
    for (const e of epics)
      if (e.start_date !== null && e.start_date < weekBefore)
        expect(members.get(e.milestone_id)?.length ?? 0, e.milestone_id).toBeGreaterThan(0);
    // Committed dates that move: some versions and epics were re-committed.
    const dates = new Map<string, Set<string>>();
    for (const d of tables.milestone_dates as MilestoneDateRow[])
      if (d.committed_date !== null) dates.set(d.milestone_id, (dates.get(d.milestone_id) ?? new Set<string>()).add(d.committed_date));
    expect([...versions.keys()].some((v) => (dates.get(v)?.size ?? 0) > 1)).toBe(true);
    expect(epics.some((e) => (dates.get(e.milestone_id)?.size ?? 0) > 1)).toBe(true);

    // Releasing a version moves its unresolved items to the team's next version, at the release.
    const moves = (tables.work_item_history as WorkItemHistoryRow[]).filter((h) => h.field_id === 'fixVersions');
    expect(moves.length).toBeGreaterThan(0);
    const movesOf = new Map<string, WorkItemHistoryRow[]>();
    for (const h of moves) movesOf.set(h.item_id, [...(movesOf.get(h.item_id) ?? []), h]);
    const byId = new Map(items.map((i) => [i.item_id, i]));
    for (const [id, list] of movesOf) {
      const item = byId.get(id)!;
      list.sort((a, b) => a.changed_at.localeCompare(b.changed_at));
      for (const h of list) {
        const from = versions.get(`version/${h.from_value}`);
        expect(from?.completed_at, `${item.key} leaves version/${h.from_value}`).toBe(h.changed_at);
        expect(Number(h.to_value)).toBe(Number(h.from_value) + 1);
        expect(versions.get(`version/${h.to_value}`)?.team).toBe(item.team);
        // Still unresolved when it moved.
        expect(item.resolved_at === null || item.resolved_at > h.changed_at, item.key).toBe(true);
      }
      for (let k = 1; k < list.length; k++) expect(list[k]!.from_value).toBe(list[k - 1]!.to_value);
      expect(item.fix_versions).toEqual([`version/${list[list.length - 1]!.to_value}`]);
    }
    // So a released version holds only the items resolved by its release.
    for (const i of items) {
      for (const v of i.fix_versions) {
        const released = versions.get(v)?.completed_at ?? null;
        if (released !== null) expect(i.resolved_at !== null && i.resolved_at <= released, `${i.key} in released ${v}`).toBe(true);
      }
    }
  });

  it('is linked by the linker: deployments to the commits they shipped, commits to pull requests, incidents to deployments', async () => {
    const r = await link({ store, model: defaultModel(), now: new Date(`${result.end}T00:00:00Z`) });
    expect(r.deployments).toBe(result.counts.deployments);
    expect(r.deploymentCommits).toBeGreaterThan(0);
    expect(r.incidentDeployments).toBeGreaterThan(0);
    // Every deployment but the first of its service ships commits found by walking the graph.
    const unlinked = await queryRows<{ rule: string; previous: string; n: string }>(
      store,
      `SELECT rule, previous_deployment_id AS previous, count() AS n FROM deployment_commits FINAL WHERE method != 'explicit' GROUP BY rule, previous`,
    );
    for (const u of unlinked) expect(u).toMatchObject({ rule: 'first_deployment', previous: '' });
    const services = new Set((tables.deployments as DeploymentRow[]).map((d) => d.service));
    expect(unlinked.reduce((s, u) => s + Number(u.n), 0)).toBeLessThan(services.size * 2);
    // Every merged pull request's merge commit is linked to it.
    const [missing] = await queryRows<{ n: string }>(
      store,
      `SELECT count() AS n FROM pull_requests FINAL
       WHERE state = 'merged' AND (source, repo, merge_commit_sha, number) NOT IN (SELECT source, repo, sha, number FROM commit_pull_requests FINAL)`,
    );
    expect(Number(missing?.n)).toBe(0);
    // Rebased commits are linked by their fingerprints.
    const [inferred] = await queryRows<{ n: string }>(
      store,
      `SELECT count() AS n FROM commit_pull_requests FINAL WHERE rule = 'fingerprint'`,
    );
    expect(Number(inferred?.n)).toBeGreaterThan(0);
  });
});
