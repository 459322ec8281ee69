import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openStore, type Store } from '../../infra/store/client.js';
import { migrate, readMigrations } from '../../infra/store/migrate.js';
import { rawEventRow } from '../../workers/normalize/normalizer.js';
import { queryRows, repoRoot, sampleEvents, uniqueName, waitFor } from '../support/harness.js';

/**
 * Distributed mode's store on a real ClickHouse server (the one services.sh runs): the product's
 * schema, a large insert, FINAL and query parameters over HTTP, and a crash of the server.
 */
describe('the ClickHouse server', () => {
  const script = path.join(repoRoot, 'infra/scripts/services.sh');
  const services = (...args: string[]): void => {
    execFileSync('bash', [script, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PTEL_SERVICES_HOME: inject('servicesHome') },
    });
  };
  const serverPid = (): string => readFileSync(path.join(inject('servicesHome'), 'run/clickhouse.pid'), 'utf8').trim();
  const open = (database: string): Promise<Store> =>
    openStore({ kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database });
  const count = async (store: Store, sql: string, params: Record<string, unknown> = {}): Promise<number> => {
    const [row] = await queryRows<{ n: string }>(store, sql, params);
    return Number(row!.n);
  };
  const dropped: Store[] = [];
  afterAll(async () => {
    for (const store of dropped) await store.close();
    const admin = await open('default');
    for (const { database } of dropped) await admin.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await admin.close();
  });

  it('takes the product migrations into a fresh database, and a second run applies none', async () => {
    const store = await open(uniqueName('it_ch_schema'));
    dropped.push(store);
    const migrations = readMigrations();
    const first = await migrate(store);
    expect(first.applied.map((m) => m.version)).toEqual(migrations.map((m) => m.version));
    const tables = await queryRows<{ name: string }>(store, 'SELECT name FROM system.tables WHERE database = {db:String}', {
      db: store.database,
    });
    // Every table a migration creates is there.
    const created = migrations.flatMap((m) =>
      m.statements.flatMap((s) => [...s.matchAll(/CREATE TABLE IF NOT EXISTS (\w+)/g)].map((x) => x[1]!)),
    );
    expect(created).toEqual(expect.arrayContaining(['raw_events', 'dead_letters', 'job_runs']));
    expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['schema_migrations', ...created]));
    expect(await count(store, 'SELECT count() AS n FROM schema_migrations FINAL')).toBe(migrations.length);
    const second = await migrate(store);
    expect(second.applied).toEqual([]);
  });

  describe('with 100,000 raw events stored', () => {
    const rows = 100_000;
    const replaced = 1_000;
    let store: Store;
    const timings: Record<string, number> = {};
    beforeAll(async () => {
      store = await open(uniqueName('it_ch'));
      dropped.push(store);
      await migrate(store);
      // 50,000 pull requests in two versions each: 100,000 distinct event ids.
      const events = sampleEvents('github', 'github.pull_request', rows / 2, 2);
      const values = events.map((e, i) => rawEventRow(e, { topic: 'raw.github', partition: i % 4, offset: String(i) }));
      const t0 = performance.now();
      await store.client.insert({ table: 'raw_events', values, format: 'JSONEachRow' });
      timings['insert 100k'] = performance.now() - t0;
      // The first 1,000 events arrive again from later bus offsets (a replay): FINAL keeps one row per
      // id, the one stored last.
      await store.client.insert({
        table: 'raw_events',
        values: values.slice(0, replaced).map((r) => ({ ...r, bus_offset: 1_000_000 + Number(r['bus_offset']) })),
        format: 'JSONEachRow',
      });
    }, 60_000);
    afterAll(() => {
      console.info(
        `clickhouse server: ${Object.entries(timings)
          .map(([k, ms]) => `${k} ${Math.round(ms)} ms`)
          .join(', ')}`,
      );
    });

    const stored = async (): Promise<{ rows: number; ids: number; replayed: number }> => {
      const [r] = await queryRows<{ rows: string; ids: string; replayed: string }>(
        store,
        `SELECT count() AS rows, uniqExact(id) AS ids, countIf(bus_offset >= 1000000) AS replayed FROM raw_events FINAL`,
      );
      return { rows: Number(r!.rows), ids: Number(r!.ids), replayed: Number(r!.replayed) };
    };

    it('keeps one row per event id under FINAL, the one stored last', async () => {
      expect(await stored()).toEqual({ rows, ids: rows, replayed: replaced });
      // Without FINAL the replaced versions are still there until a merge: at most 1,000 more rows.
      const all = await count(store, 'SELECT count() AS n FROM raw_events');
      expect(all).toBeGreaterThanOrEqual(rows);
      expect(all).toBeLessThanOrEqual(rows + replaced);
    });

    it('binds query parameters of every kind, and a string parameter is data, never SQL', async () => {
      const subjects = ['entity-0', 'entity-1', 'entity-49999', 'no-such-entity'];
      // Each existing subject has two versions: one at t0 + e seconds, one 50,000 seconds later.
      expect(
        await count(
          store,
          `SELECT count() AS n FROM raw_events FINAL
            WHERE source = {source:String} AND subject IN {subjects:Array(String)} AND time >= {from:DateTime64(3, 'UTC')}`,
          { source: 'github', subjects, from: '2026-06-01 13:53:20.000' },
        ),
      ).toBe(3);
      const hostile = `it's "quoted" \\ ; DROP TABLE raw_events; --`;
      const [echo] = await queryRows<{ s: string; n: string }>(
        store,
        'SELECT {s:String} AS s, count() AS n FROM raw_events FINAL WHERE subject = {s:String}',
        { s: hostile },
      );
      expect(echo).toEqual({ s: hostile, n: '0' });
      expect((await stored()).rows).toBe(rows);
    });

    it('keeps every row when the server is killed with SIGKILL and started again on its data, and the client recovers', async () => {
      const before = serverPid();
      services('kill9', 'clickhouse');
      // The server is really gone: the same client now fails.
      await expect(store.client.query({ query: 'SELECT 1' })).rejects.toThrow();

      const t0 = performance.now();
      services('up', 'clickhouse');
      timings['restart after kill'] = performance.now() - t0;
      expect(serverPid()).not.toBe(before);

      // The same client, with no reconnect by the caller: its first requests may meet the dead server's
      // pooled connections, so poll (bounded) while the failure is a connection's; any other is final.
      const connectionLost = (e: unknown): boolean =>
        /ECONNREFUSED|ECONNRESET|EPIPE|socket hang up/.test(`${(e as NodeJS.ErrnoException).code ?? ''} ${String(e)}`);
      const after = await waitFor(
        'the restarted server to answer the same client',
        () => stored().catch((e: unknown) => (connectionLost(e) ? 'connection lost' : e)),
        (v) => v !== 'connection lost',
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(after).toEqual({ rows, ids: rows, replayed: replaced });
      expect(await count(store, 'SELECT count() AS n FROM schema_migrations FINAL')).toBe(readMigrations().length);

      // It writes again, too.
      const more = sampleEvents('jira', 'jira.issue', 10).map((e, i) =>
        rawEventRow(e, { topic: 'raw.jira', partition: 0, offset: String(i) }),
      );
      await store.client.insert({ table: 'raw_events', values: more, format: 'JSONEachRow' });
      expect(await count(store, 'SELECT count() AS n FROM raw_events FINAL WHERE source = {s:String}', { s: 'jira' })).toBe(10);
    }, 60_000);
  });
});
