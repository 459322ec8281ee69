import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { mapContext } from '../../mapping/registry.js';
import { gitlabDataset, startGitlabFake, type FakeIssue, type FakeMilestone, type FakeProject } from '../../test/fakes/gitlab.js';
import { readTopic, syncTarget } from '../../test/support/bus.js';
import { quietLogger, tempDir, testStore } from '../../test/support/harness.js';
import { insertTables, mappedOk } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
import { readForecastInputs } from '../../workers/forecast/inputs.js';
import { runSync } from '../core/runner.js';
import { gitlabConnector } from './index.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const PATH = 'acme/shop';
const WEB = `https://gitlab.example/${PATH}`;
const dev = { id: 1, username: 'dev' };

/**
 * One project with milestone v1.0 (due 2026-04-30, last updated 2026-02-01, so committed then) and six
 * issues created 2026-01-10, each added to it on creation:
 * #1 closed 03-03, #2 closed 03-10, #3 and #4 open, #5 taken out of it 03-05, #6 closed 03-04 and
 * reopened 03-06.
 */
function shop(): FakeProject {
  const project = gitlabDataset({ projects: 1, pipelines: 0, deployments: 0, mergeRequests: 0, milestones: 0, issues: 0 })[0]!;
  project.path_with_namespace = PATH;
  const milestone: FakeMilestone = {
    id: 500,
    iid: 1,
    project_id: project.id,
    title: 'v1.0',
    description: '',
    state: 'active',
    created_at: '2026-01-05T09:00:00.000Z',
    updated_at: '2026-02-01T09:00:00.000Z',
    due_date: '2026-04-30',
    start_date: null,
    expired: false,
    web_url: `${WEB}/-/milestones/1`,
  };
  project.milestones.push(milestone);
  const created = '2026-01-10T09:00:00.000Z';
  const issue = (iid: number, changes: Array<[string, 'closed' | 'reopened' | 'remove']>): void => {
    const id = 7000 + iid;
    const last = changes.at(-1);
    const closed = last?.[1] === 'closed' ? last[0] : null;
    const removed = changes.some(([, c]) => c === 'remove');
    const i: FakeIssue = {
      id,
      iid,
      project_id: project.id,
      title: `Issue ${iid}`,
      state: closed === null ? 'opened' : 'closed',
      created_at: created,
      updated_at: last?.[0] ?? created,
      closed_at: closed,
      labels: [],
      milestone: removed ? null : milestone,
      assignees: [dev],
      author: dev,
      type: 'ISSUE',
      issue_type: 'issue',
      due_date: null,
      weight: null,
      web_url: `${WEB}/-/issues/${iid}`,
    };
    project.issues.push(i);
    const base = { user: dev, resource_type: 'Issue' as const, resource_id: id };
    project.milestoneEvents.set(iid, [
      { ...base, id: id * 10, created_at: created, milestone, action: 'add' },
      ...changes
        .filter(([, c]) => c === 'remove')
        .map(([at]) => ({ ...base, id: id * 10 + 1, created_at: at, milestone, action: 'remove' as const })),
    ]);
    project.stateEvents.set(
      iid,
      changes.flatMap(([at, c], k) => (c === 'remove' ? [] : [{ ...base, id: id * 10 + 2 + k, created_at: at, state: c }])),
    );
  };
  issue(1, [['2026-03-03T10:00:00.000Z', 'closed']]);
  issue(2, [['2026-03-10T10:00:00.000Z', 'closed']]);
  issue(3, []);
  issue(4, []);
  issue(5, [['2026-03-05T10:00:00.000Z', 'remove']]);
  issue(6, [
    ['2026-03-04T10:00:00.000Z', 'closed'],
    ['2026-03-06T10:00:00.000Z', 'reopened'],
  ]);
  return project;
}

const org = orgSchema.parse({
  programs: [{ id: 'commerce', name: 'Commerce', teams: [{ id: 'checkout', name: 'Checkout', repositories: [PATH] }] }],
});

/** Pulls the project from the fake GitLab and maps what it published into a fresh store. */
async function pulledStore(): Promise<Store> {
  const fake = await startGitlabFake({ projects: [shop()] });
  const target = await syncTarget();
  const store = await testStore();
  cleanups.push(
    () => fake.close(),
    () => target.close(),
    () => store.close(),
  );
  const config = loadConfig({
    env: { PTEL_GITLAB_TOKEN: 'test-token' },
    overrides: { 'sources.gitlab': { baseUrl: fake.url, projects: [PATH] } },
    cwd: tempDir(),
  });
  const results = await runSync({
    config,
    connectors: [gitlabConnector],
    bus: target.bus,
    cursors: target.cursors,
    logger: quietLogger(),
    backfillSince: new Date('2025-06-01T00:00:00Z'),
  });
  expect(results.map((r) => `${r.stream} ${r.status}`).sort()).toEqual([
    'deployments ok',
    'issues ok',
    'merge_requests ok',
    'milestones ok',
    'pipelines ok',
  ]);
  await insertTables(store, mappedOk(await readTopic(target.bus, 'raw.gitlab'), mapContext({ org })));
  return store;
}

describe('a pulled GitLab milestone is forecast', () => {
  it('as an open milestone with its remaining issues, its closed issues as throughput, and an issue moved out as a removal', async () => {
    const store = await pulledStore();
    const read = (asOf: string) =>
      readForecastInputs(store, {
        params: testParams(),
        asOf: new Date(asOf),
        windowWeeks: 4,
        minDoneItems: 2,
        minWeeks: 2,
        evidence: true,
      });

    const [m, ...others] = await read('2026-03-16T12:00:00Z');
    expect(others).toEqual([]);
    expect(m).toMatchObject({ key: 'gitlab:milestone/500', team: 'checkout', program: 'commerce' });
    expect(m!.inputs).toMatchObject({
      source: 'gitlab',
      milestoneId: 'milestone/500',
      name: 'v1.0',
      committed: '2026-04-30',
      // #3, #4 and #6 (reopened): #5 left it.
      remainingItems: 3,
      remainingPoints: null,
      milestoneDoneItems: 2,
      throughputBasis: 'milestone',
      // Weeks of [02-16 12:00, 02-23 12:00) .. [03-09 12:00, 03-16 12:00): #1 closed in the third, #2 in the last.
      throughput: [0, 0, 1, 1],
    });
    expect(m!.evidence?.remaining.map((r) => r.key)).toEqual([`${PATH}#3`, `${PATH}#4`, `${PATH}#6`]);
    expect(m!.evidence?.done.map((d) => [d.key, d.doneAt])).toEqual([
      [`${PATH}#1`, '2026-03-03T10:00:00.000Z'],
      [`${PATH}#2`, '2026-03-10T10:00:00.000Z'],
    ]);
    // Committed when its date was first seen (02-01): #5's move out on 03-05 is the one change of scope since.
    expect(m!.evidence?.growth).toEqual([{ key: `${PATH}#5`, at: '2026-03-05T10:00:00.000Z', change: -1, sample: 4 }]);

    // On 03-05 at noon, #6 was closed (reopened the next day) and #2 still open; #5 had just left.
    const [earlier] = await read('2026-03-05T12:00:00Z');
    expect(earlier!.evidence?.remaining.map((r) => r.key)).toEqual([`${PATH}#2`, `${PATH}#3`, `${PATH}#4`]);
    expect(earlier!.evidence?.done.map((d) => [d.key, d.doneAt])).toEqual([
      [`${PATH}#1`, '2026-03-03T10:00:00.000Z'],
      [`${PATH}#6`, '2026-03-04T10:00:00.000Z'],
    ]);
  });
});
