import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, tempDir, testStore, uniqueName } from '../../test/support/harness.js';
import { BatchWriter } from './batch-writer.js';
import type { Store } from './client.js';
import { migrate, readMigrations } from './migrate.js';

describe('migrations', () => {
  it('applies each numbered migration once and records it', async () => {
    const store = await testStore();
    try {
      const tables = await queryRows<{ name: string }>(
        store,
        'SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name',
      );
      expect(tables.map((t) => t.name)).toEqual(expect.arrayContaining(['dead_letters', 'raw_events', 'schema_migrations']));
      const again = await migrate(store);
      expect(again.applied).toEqual([]);
      const recorded = await queryRows<{ version: number }>(store, 'SELECT version FROM schema_migrations FINAL ORDER BY version');
      expect(recorded.map((r) => Number(r.version))).toEqual(readMigrations().map((m) => m.version));
    } finally {
      await store.close();
    }
  });

  it('stops when an applied migration file was changed', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE IF NOT EXISTS a (x UInt8) ENGINE = MergeTree ORDER BY x;\n');
    const store = await testStore(uniqueName('m'), { migrate: false });
    try {
      await migrate(store, readMigrations(dir));
      writeFileSync(path.join(dir, '0001_a.sql'), 'CREATE TABLE IF NOT EXISTS a (x UInt16) ENGINE = MergeTree ORDER BY x;\n');
      await expect(migrate(store, readMigrations(dir))).rejects.toThrow(/0001_a was changed after it was applied/);
    } finally {
      await store.close();
    }
  });

  it('refuses a badly named migration file', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'create_things.sql'), 'SELECT 1;');
    expect(() => readMigrations(dir)).toThrow(/must be named NNNN_name.sql/);
  });
});

describe('batch writer', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore(uniqueName('w'));
    await store.client.command({ query: 'CREATE TABLE t1 (k UInt32) ENGINE = MergeTree ORDER BY k' });
    await store.client.command({ query: 'CREATE TABLE t2 (s String) ENGINE = MergeTree ORDER BY s' });
  });
  afterAll(() => store.close());

  const count = async (table: string): Promise<number> =>
    Number((await queryRows<{ n: string }>(store, `SELECT count() AS n FROM ${table}`))[0]!.n);

  it('resolves a write only when its rows are in the store, flushing on size', async () => {
    const writer = new BatchWriter(store, { flushRows: 100, flushIntervalMs: 60_000 });
    const done = writer.write([
      { table: 't1', rows: Array.from({ length: 60 }, (_, k) => ({ k })) },
      { table: 't2', rows: Array.from({ length: 40 }, (_, i) => ({ s: `v${i}` })) },
    ]);
    await done;
    expect(await count('t1')).toBe(60);
    expect(await count('t2')).toBe(40);
    await writer.close();
  });

  it('flushes a small batch once writes pause, without waiting for the interval', async () => {
    const writer = new BatchWriter(store, { flushRows: 1_000_000, flushIntervalMs: 60_000, lingerMs: 5 });
    const before = await count('t2');
    await Promise.all([writer.write([{ table: 't2', rows: [{ s: 'a' }] }]), writer.write([{ table: 't2', rows: [{ s: 'b' }] }])]);
    expect(await count('t2')).toBe(before + 2);
    await writer.close();
  });

  it('flushes within the interval while writes keep coming', async () => {
    const writer = new BatchWriter(store, { flushRows: 1_000_000, flushIntervalMs: 80, lingerMs: 30 });
    const before = await count('t1');
    const started = Date.now();
    const first = writer.write([{ table: 't1', rows: [{ k: 1 }] }]);
    // A write every 10 ms keeps the linger from firing; the interval still bounds the wait.
    const ticker = setInterval(() => void writer.write([{ table: 't1', rows: [{ k: 9 }] }]), 10);
    await first;
    clearInterval(ticker);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(75);
    expect(waited).toBeLessThan(1_000);
    await writer.close();
    expect(await count('t1')).toBeGreaterThan(before);
  });

  it('flushes a small batch after the interval', async () => {
    const writer = new BatchWriter(store, { flushRows: 1_000_000, flushIntervalMs: 50, lingerMs: 10_000 });
    const before = await count('t1');
    const started = Date.now();
    await writer.write([{ table: 't1', rows: [{ k: 1 }] }]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(await count('t1')).toBe(before + 1);
    await writer.close();
  });

  it('rejects the writes of a failed flush and keeps working afterwards', async () => {
    const writer = new BatchWriter(store, { flushRows: 1, flushIntervalMs: 10 });
    await expect(writer.write([{ table: 'no_such_table', rows: [{ k: 1 }] }])).rejects.toThrow(/no_such_table/);
    const before = await count('t1');
    await writer.write([{ table: 't1', rows: [{ k: 2 }] }]);
    expect(await count('t1')).toBe(before + 1);
    await writer.close();
    await expect(writer.write([{ table: 't1', rows: [{ k: 3 }] }])).rejects.toThrow(/closed/);
  });
});
