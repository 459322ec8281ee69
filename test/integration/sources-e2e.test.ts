import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { openStore } from '../../infra/store/client.js';
import { startGithubFake, type FakeGithub } from '../fakes/github.js';
import { startGitlabFake, type GitlabFake } from '../fakes/gitlab.js';
import { startJiraFake, type JiraFake } from '../fakes/jira.js';
import { startPagerdutyFake, type FakePagerduty } from '../fakes/pagerduty.js';
import { queryRows, runCli, tempDir } from '../support/harness.js';

/**
 * The main job with real connectors: GitHub, Jira, PagerDuty and GitLab fake APIs stand in for the
 * vendors; `ptel run --once`, `ptel sync` and `ptel doctor` run as a user would run them, in embedded mode.
 */
describe('the main job with configured sources', () => {
  let github: FakeGithub;
  let jira: JiraFake;
  let pagerduty: FakePagerduty;
  let gitlab: GitlabFake;
  let dir: string;
  let configFile: string;
  const env = {
    ...process.env,
    PTEL_GITHUB_TOKEN: 'gh-e2e-token',
    PTEL_JIRA_API_TOKEN: 'jira-test-token',
    PTEL_PAGERDUTY_TOKEN: 'pd-e2e-token',
    PTEL_GITLAB_TOKEN: 'gl-e2e-token',
    PTEL_LOG_LEVEL: 'warn',
  };

  beforeAll(async () => {
    github = await startGithubFake({ token: 'gh-e2e-token' });
    jira = await startJiraFake({ token: 'jira-test-token' });
    pagerduty = await startPagerdutyFake({ token: 'pd-e2e-token' });
    gitlab = await startGitlabFake({ token: 'gl-e2e-token' });
    dir = tempDir('ptel-e2e-');
    const { org } = generateDemoOrg();
    configFile = path.join(dir, 'ptel.yaml');
    writeFileSync(
      configFile,
      stringify({
        dataDir: './data',
        sources: {
          github: { baseUrl: github.baseUrl },
          jira: { baseUrl: jira.url, email: 'bot@acme.example' },
          pagerduty: { baseUrl: pagerduty.url },
          gitlab: { baseUrl: gitlab.url, projects: gitlab.projects.map((p) => p.path_with_namespace) },
        },
        org: { programs: org.programs },
      }),
    );
  });
  afterAll(async () => {
    await Promise.all([github?.close(), jira?.close(), pagerduty?.close(), gitlab?.close()]);
  });

  const ptel = (...args: string[]) => runCli([...args, '--config', configFile], { env, cwd: dir });

  it('checks every source with doctor', async () => {
    const r = await ptel('doctor');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const source of ['github', 'jira', 'pagerduty', 'gitlab']) expect(r.stdout).toMatch(new RegExp(`^${source}: ok `, 'm'));
    expect(r.stdout).toContain('jenkins: not configured (add sources.jenkins to the config file');
  });

  it('pulls every source into the store, and a second pull finds nothing new', async () => {
    const first = await ptel('run', '--once');
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('sources: github, jira, pagerduty, gitlab');
    expect(first.stdout).toMatch(/^Ingested: [\d,]+ events from 4 sources \(0 dead letters\)/m);
    expect(first.stdout).toMatch(/^Next: .*ptel status$/m);
    // Short however many streams were pulled: the per-stream lines are ptel sync's, the tables ptel status's.
    expect(first.stdout.trimEnd().split('\n').length, first.stdout).toBeLessThanOrEqual(30);
    // Every payload the fake APIs serve maps to the model, and the linker links it.
    const model = /^Model: (.*)$/m.exec(first.stdout)?.[1] ?? '';
    for (const kind of ['pull requests', 'commits', 'deployments', 'pipeline runs', 'incidents', 'work items', 'milestones']) {
      expect(Number(new RegExp(`([\\d,]+) ${kind}`).exec(model)?.[1]?.replaceAll(',', '') ?? 0), `${kind} in "${model}"`).toBeGreaterThan(
        0,
      );
    }
    const links = await ptel('link');
    expect(links.stdout).toMatch(/^links: commits -> pull requests: explicit [1-9]/m);
    expect(links.stdout).toMatch(/^links: deployments -> commits: explicit [1-9]/m);

    const store = await openStore({ kind: 'embedded', path: path.join(dir, 'data', 'clickhouse'), database: 'ptel' });
    let before: Array<{ source: string; n: string }>;
    try {
      before = await queryRows<{ source: string; n: string }>(
        store,
        'SELECT source, count() AS n FROM raw_events FINAL GROUP BY source ORDER BY source',
      );
      expect(before.map((r) => r.source)).toEqual(['github', 'gitlab', 'jira', 'pagerduty']);
      for (const r of before) expect(Number(r.n)).toBeGreaterThan(10);
      const runs = await queryRows<{ status: string; n: string }>(store, 'SELECT status, count() AS n FROM sync_runs GROUP BY status');
      expect(runs.map((r) => r.status)).toEqual(['ok']);
      const cursors = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM sync_cursors FINAL');
      expect(Number(cursors[0]!.n)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }

    const again = await ptel('sync');
    expect(again.status, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^0 records from \d+ requests; (\d+) of \1 streams ok; stored$/m);
  });

  it('leaves what a sync pulled stored in embedded mode, with no normalizer running', async () => {
    const dataDir = path.join(dir, 'sync-only');
    const r = await runCli(['sync', 'github', '--config', configFile], { env: { ...env, PTEL_DATA_DIR: dataDir }, cwd: dir });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const pulled = Number(/^(\d+) records from/m.exec(r.stdout)?.[1] ?? 0);
    expect(pulled).toBeGreaterThan(10);
    expect(r.stdout).toMatch(/; stored$/m);
    const store = await openStore({ kind: 'embedded', path: path.join(dataDir, 'clickhouse'), database: 'ptel' });
    try {
      const [events] = await queryRows<{ n: string }>(store, "SELECT count() AS n FROM raw_events FINAL WHERE source = 'github'");
      expect(Number(events!.n)).toBe(pulled);
      const [prs] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM pull_requests FINAL');
      expect(Number(prs!.n)).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });

  it('stops a stream whose credentials are refused and says so, while the other sources go on', async () => {
    const r = await runCli(['sync', '--config', configFile], { env: { ...env, PTEL_GITLAB_TOKEN: 'wrong' }, cwd: dir });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/failed: gitlab\/\w+ .*401/);
    expect(r.stdout).toMatch(/sync github\/pull_requests .*: done/);
  });
});
