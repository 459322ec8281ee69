import { afterEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { orgSchema } from '../../infra/config/schema.js';
import { mapContext } from '../../mapping/registry.js';
import {
  emptyRepo,
  issueEventJson,
  issueJson,
  milestoneJson,
  readEvents,
  startGithubFake,
  type FakeGithub,
} from '../../test/fakes/github.js';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir, testStore } from '../../test/support/harness.js';
import { insertTables, mappedOk } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
import { readForecastInputs } from '../../workers/forecast/inputs.js';
import { clickhouseCursorStore } from '../core/cursor-store.js';
import { runSync } from '../core/runner.js';
import { githubConnector } from './index.js';

const TOKEN = 'ghp_testtoken';
const NAME = 'acme/plan';

let fake: FakeGithub | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/**
 * A repository that plans in a milestone: 'Release 1', due 20 November, set on 1 September; eight issues
 * put in it the day before; four closed one a week in October, one moved out of it on 15 October, three
 * still open.
 */
function planned() {
  const repo = emptyRepo({
    full_name: NAME,
    name: 'plan',
    html_url: `https://github.com/${NAME}`,
    updated_at: '2026-08-30T00:00:00Z',
    default_branch: 'main',
  });
  const release = milestoneJson(NAME, {
    id: 501,
    number: 1,
    title: 'Release 1',
    due_on: '2026-11-20T08:00:00Z',
    created_at: '2026-08-30T09:00:00Z',
    updated_at: '2026-09-01T09:00:00Z',
  });
  repo.milestones.set(1, release);
  const closings = ['2026-10-06T15:00:00Z', '2026-10-13T15:00:00Z', '2026-10-20T15:00:00Z', '2026-10-27T15:00:00Z'];
  let eventId = 1000;
  const event = (e: Omit<Parameters<typeof issueEventJson>[1], 'id'>) =>
    repo.issueEvents.push(issueEventJson(NAME, { id: ++eventId, ...e }));
  for (let n = 1; n <= 8; n++) {
    const created = `2026-08-31T${String(8 + n).padStart(2, '0')}:00:00Z`;
    const closedAt = closings[n - 1] ?? null;
    const movedOut = n === 8;
    const issue = issueJson(NAME, {
      id: 7000 + n,
      number: n,
      title: `Work ${n}`,
      created_at: created,
      updated_at: closedAt ?? (movedOut ? '2026-10-15T11:00:00Z' : created),
      closed_at: closedAt,
      milestone: movedOut ? null : release,
    });
    repo.issues.set(n, issue);
    event({ event: 'milestoned', created_at: created, issue, milestone: 'Release 1' });
    if (closedAt !== null) event({ event: 'closed', created_at: closedAt, issue });
    // GitHub names the milestone by title; the issue itself no longer has one.
    if (movedOut) event({ event: 'demilestoned', created_at: '2026-10-15T11:00:00Z', issue, milestone: 'Release 1' });
  }
  return repo;
}

describe('GitHub milestones are forecast like Jira versions', () => {
  it('a pulled milestone is open with its remaining issues, its closings as throughput and a move out as a removal', async () => {
    const clock = new ManualClock('2026-10-29T00:00:00Z');
    fake = await startGithubFake({ token: TOKEN, repos: [planned()], now: () => clock.now() });
    const config = loadConfig({
      env: { PTEL_GITHUB_TOKEN: TOKEN },
      overrides: { 'sources.github': { baseUrl: fake.baseUrl, repositories: [NAME] } },
      cwd: tempDir(),
    });
    const bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
    const store = await testStore();
    try {
      const results = await runSync({
        config,
        connectors: [githubConnector],
        bus,
        cursors: clickhouseCursorStore(store),
        logger: quietLogger(),
        clock,
        filter: { source: 'github' },
      });
      for (const r of results) expect(r, `${r.stream}: ${r.error ?? ''}`).toMatchObject({ status: 'ok' });
      const org = orgSchema.parse({
        programs: [{ id: 'payments', name: 'Payments', teams: [{ id: 'checkout', name: 'Checkout', repositories: [NAME] }] }],
      });
      await insertTables(store, mappedOk(await readEvents(bus), mapContext({ org })));

      const open = await readForecastInputs(store, { params: testParams(), asOf: clock.date(), windowWeeks: 8, evidence: true });
      expect(open.map((m) => m.key)).toEqual(['github:milestone/501']);
      const m = open[0]!;
      expect(m).toMatchObject({ team: 'checkout', program: 'payments' });
      expect(m.inputs).toMatchObject({ name: 'Release 1', committed: '2026-11-20', remainingItems: 3, doneItems: 4 });
      expect(m.evidence!.remaining.map((r) => r.key).sort()).toEqual(['acme/plan#5', 'acme/plan#6', 'acme/plan#7']);
      // The closings, one a week: the last four of eight weekly samples (weeks end at the instant).
      expect(m.evidence!.done.map((d) => [d.key, new Date(d.doneAt).toISOString()])).toEqual([
        ['acme/plan#1', '2026-10-06T15:00:00.000Z'],
        ['acme/plan#2', '2026-10-13T15:00:00.000Z'],
        ['acme/plan#3', '2026-10-20T15:00:00.000Z'],
        ['acme/plan#4', '2026-10-27T15:00:00.000Z'],
      ]);
      expect(m.inputs.throughput).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
      // Put in before the date was set (the commit point): only the move out is a change of scope.
      expect(m.evidence!.growth.map((g) => [g.key, new Date(g.at).toISOString(), g.change])).toEqual([
        ['acme/plan#8', '2026-10-15T11:00:00.000Z', -1],
      ]);
      expect(m.inputs.growth.reduce((a, b) => a + b, 0)).toBe(-1);
    } finally {
      await store.close();
    }
  });
});
