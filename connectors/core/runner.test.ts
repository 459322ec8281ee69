import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { readTopic } from '../../test/support/bus.js';
import { ManualClock } from '../../test/support/clock.js';
import { queryRows, quietLogger, tempDir, testStore } from '../../test/support/harness.js';
import { clickhouseCursorStore, memoryCursorStore } from './cursor-store.js';
import { SourceError } from '../../infra/http-retry.js';
import { runSync } from './runner.js';
import type { Connector, Cursor, Page, StreamContext } from './types.js';

/**
 * A source whose "API" is a list of timestamps in memory: each pull yields the items after the cursor,
 * two per page, each page with its cursor. Enough to pin down what the runner promises.
 */
function listSource(
  items: string[],
  options: { failScope?: string } = {},
): Connector<null> & { pulls: Array<{ scope: string; since: string; now: number }> } {
  const pulls: Array<{ scope: string; since: string; now: number }> = [];
  return {
    source: 'jenkins',
    pulls,
    missing: () => undefined,
    client: () => null,
    doctor: () => Promise.resolve([]),
    streams: [
      {
        name: 'builds',
        scopes: () => ['a', 'b'],
        async *pull(_client, scope, cursor: Cursor | undefined, ctx: StreamContext): AsyncGenerator<Page> {
          const since = ctx.backfill || cursor === undefined ? ctx.since.toISOString() : String(cursor['after']);
          pulls.push({ scope, since, now: ctx.clock.now() });
          if (scope === options.failScope) throw new SourceError(`GET /job/${scope}: 401 unauthorized`, 'fatal', 401);
          const fresh = items.filter((t) => t > since);
          for (let i = 0; i < fresh.length; i += 2) {
            await new Promise((r) => setImmediate(r)); // a request's turn of the event loop
            const page = fresh.slice(i, i + 2);
            yield {
              records: page.map((t) => ({
                source: 'jenkins',
                type: 'jenkins.build',
                subject: `${scope}#${t}`,
                version: t,
                time: t,
                payload: { t },
              })),
              cursor: { after: page[page.length - 1]! },
            };
          }
        },
      },
    ],
  };
}

const config = loadConfig({ env: {}, cwd: tempDir() });
const logger = quietLogger();
/** Three items of the last days: inside the first pull's default depth (sources.*.initialDays). */
const times = [3, 2, 1].map((d) => new Date(Date.now() - d * 86_400_000).toISOString());

describe('the sync runner', () => {
  it('saves each page cursor after its records are on the bus, and resumes from it', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    const cursors = memoryCursorStore();
    const source = listSource(times);
    const first = await runSync({ config, connectors: [source], bus, cursors, logger });
    expect(first.map((r) => [r.scope, r.status, r.records, r.pages])).toEqual([
      ['a', 'ok', 3, 2],
      ['b', 'ok', 3, 2],
    ]);
    expect(await cursors.get({ source: 'jenkins', stream: 'builds', scope: 'a' })).toEqual({ after: times[2] });
    const again = await runSync({ config, connectors: [source], bus, cursors, logger });
    expect(again.map((r) => r.records)).toEqual([0, 0]);
    expect(await readTopic(bus, 'raw.jenkins')).toHaveLength(6);
    await bus.close();
  });

  it('reads "now" from its clock: the first pull\'s depth, the streams\' context, ingest times, run rows and cursor versions', async () => {
    const at = '2026-03-10T08:00:00.000Z';
    const clock = new ManualClock(at);
    const store = await testStore();
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    // Two days before the clock's "now", so far from the wall clock's that only the clock's first-pull depth reaches them.
    const source = listSource(['2026-03-08T00:00:00.000Z', '2026-03-09T00:00:00.000Z']);
    const results = await runSync({
      config,
      connectors: [source],
      bus,
      cursors: clickhouseCursorStore(store, clock),
      logger,
      store,
      clock,
    });
    expect(results.map((r) => [r.scope, r.status, r.records])).toEqual([
      ['a', 'ok', 2],
      ['b', 'ok', 2],
    ]);
    const depth = config.sources.jenkins?.initialDays ?? 180;
    expect(source.pulls).toEqual([
      { scope: 'a', since: new Date(clock.now() - depth * 86_400_000).toISOString(), now: clock.now() },
      { scope: 'b', since: new Date(clock.now() - depth * 86_400_000).toISOString(), now: clock.now() },
    ]);
    const events = await readTopic(bus, 'raw.jenkins');
    expect(events.map((e) => e.ingesttime)).toEqual(Array(4).fill(at));
    const runs = await queryRows<{ started: string; finished: string }>(
      store,
      "SELECT formatDateTime(started_at, '%Y-%m-%dT%H:%i:%S') AS started, formatDateTime(finished_at, '%Y-%m-%dT%H:%i:%S') AS finished FROM sync_runs",
    );
    expect(runs).toEqual(Array(2).fill({ started: '2026-03-10T08:00:00', finished: '2026-03-10T08:00:00' }));
    // Cursor versions strictly increase from the clock's instant, one millisecond per save: one page of each scope.
    const versions = await queryRows<{ latest: string }>(store, 'SELECT toString(max(updated_at)) AS latest FROM sync_cursors');
    expect(versions).toEqual([{ latest: '2026-03-10 08:00:00.001' }]);
    await bus.close();
  });

  it('leaves the live cursor where it was during a backfill', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    const cursors = memoryCursorStore();
    const source = listSource(times);
    await runSync({ config, connectors: [source], bus, cursors, logger });
    const backfill = await runSync({
      config,
      connectors: [source],
      bus,
      cursors,
      logger,
      backfillSince: new Date(Date.now() - 10 * 86_400_000),
    });
    expect(backfill.map((r) => r.records)).toEqual([3, 3]);
    const since = source.pulls.slice(-2).map((p) => Date.parse(p.since));
    for (const t of since) expect(Math.abs(t - (Date.now() - 10 * 86_400_000))).toBeLessThan(60_000);
    expect(await cursors.get({ source: 'jenkins', stream: 'builds', scope: 'a' })).toEqual({ after: times[2] });
    await bus.close();
  });

  it('does not move the cursor past a page the bus did not take, so the next run reads it again', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    const cursors = memoryCursorStore();
    const publish = bus.publish.bind(bus);
    let calls = 0;
    bus.publish = (topic, messages) => (++calls === 2 ? Promise.reject(new Error('bus down')) : publish(topic, messages));
    const source = listSource(times);
    const results = await runSync({ config, connectors: [source], bus, cursors, logger, filter: { source: 'jenkins' } });
    const failed = results.filter((r) => r.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toBe('bus down');
    const cursor = await cursors.get({ source: 'jenkins', stream: 'builds', scope: failed[0]!.scope });
    expect(cursor === undefined || cursor['after'] === times[1]).toBe(true);
    bus.publish = publish;
    await runSync({ config, connectors: [source], bus, cursors, logger });
    const subjects = new Set((await readTopic(bus, 'raw.jenkins')).map((e) => e.subject));
    expect(subjects.size).toBe(6);
    await bus.close();
  });

  it('stops a stream on a failure waiting cannot heal, while the other scopes go on', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    const results = await runSync({
      config,
      connectors: [listSource(times, { failScope: 'a' })],
      bus,
      cursors: memoryCursorStore(),
      logger,
    });
    expect(results.map((r) => [r.scope, r.status, r.error])).toEqual([
      ['a', 'failed', 'GET /job/a: 401 unauthorized'],
      ['b', 'ok', undefined],
    ]);
    await bus.close();
  });

  it('refuses an unknown source or stream by name', async () => {
    const bus = createLocalBus({ dir: tempDir() });
    const c = { config, connectors: [listSource(times)], bus, cursors: memoryCursorStore(), logger };
    await expect(runSync({ ...c, filter: { source: 'jira' } })).rejects.toThrow("unknown source 'jira'; sources that pull: jenkins");
    await expect(runSync({ ...c, filter: { stream: 'nope' } })).rejects.toThrow("unknown stream 'nope'; streams: builds");
    await bus.close();
  });
});
