import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import { observedStore, testStore } from '../../test/support/harness.js';
import { rawKey, storedDigests, type RawKey } from './stored-raw.js';

const digestOf = (data: string): string => createHash('sha256').update(data).digest('hex');

const key = (i: number): RawKey => ({ source: 'github', type: 'github.pull_request', subject: `acme/api#${i}`, id: `pr-${i}` });

/** The columns of a raw_events row that no test here looks at. */
const STORED = {
  entity_version: '1',
  time: '2026-06-01 00:00:00.000',
  connector: 'test',
  ingest_time: '2026-06-01 00:00:00.000',
  topic: 'raw.github',
  bus_partition: 0,
  bus_offset: 0,
};

const rawRow = (k: RawKey, data: string): Record<string, unknown> => ({
  ...STORED,
  ...k,
  partition_key: k.subject,
  data,
  digest: digestOf(data),
});

describe('look-ups of stored digests asked at the same moment', () => {
  let store: Store;
  /** The store, its client counting the queries sent through it. */
  let counted: Store;
  let queries = 0;
  beforeAll(async () => {
    store = await testStore();
    counted = observedStore(store, ({ method }) => {
      if (method === 'query') queries++;
    });
    await store.client.insert({
      table: 'raw_events',
      values: [1, 2, 3, 4].map((i) => rawRow(key(i), `{"n":${i}}`)),
      format: 'JSONEachRow',
    });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('share one query, each caller getting the digests of its own keys only', async () => {
    queries = 0;
    const [a, b, c] = await Promise.all([
      storedDigests(counted, [key(1), key(2), key(9)]),
      storedDigests(counted, [key(3)]),
      storedDigests(counted, [key(2), key(8)]),
    ]);
    expect(queries).toBe(1);
    expect([...a.keys()].sort()).toEqual([rawKey(key(1)), rawKey(key(2))].sort());
    expect([...a.get(rawKey(key(1)))!]).toEqual([digestOf('{"n":1}')]);
    expect([...b.entries()]).toEqual([[rawKey(key(3)), new Set([digestOf('{"n":3}')])]]);
    expect([...c.entries()]).toEqual([[rawKey(key(2)), new Set([digestOf('{"n":2}')])]]);
    // Each caller owns its sets: changing one changes no other caller's.
    a.get(rawKey(key(2)))!.add('changed');
    expect([...c.get(rawKey(key(2)))!]).toEqual([digestOf('{"n":2}')]);
  });

  it('see what was written before they were asked', async () => {
    const before = await storedDigests(counted, [key(5)]);
    expect(before.size).toBe(0);
    await store.client.insert({ table: 'raw_events', values: [rawRow(key(5), '{"n":5}')], format: 'JSONEachRow' });
    const after = await storedDigests(counted, [key(5)]);
    expect([...after.get(rawKey(key(5)))!]).toEqual([digestOf('{"n":5}')]);
  });

  it('fail every caller of a query that failed, and the next look-up queries anew', async () => {
    const broken: Store = {
      ...store,
      client: new Proxy(store.client, {
        get(target, prop) {
          if (prop === 'query') return () => Promise.reject(new Error('the store is gone'));
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      }),
    };
    const results = await Promise.allSettled([storedDigests(broken, [key(1)]), storedDigests(broken, [key(2)])]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.status))).toEqual([
      'the store is gone',
      'the store is gone',
    ]);
    const again = await storedDigests(counted, [key(1)]);
    expect(again.size).toBe(1);
  });
});

describe('look-ups by subject', () => {
  let store: Store;
  /** Keys whose subjects are too long, all together, to be sent beside their ids. */
  const longKeys = Array.from({ length: 1_000 }, (_, i) => ({ ...key(i), subject: `acme/${'x'.repeat(120)}#${i}` }));
  beforeAll(async () => {
    store = await testStore();
    await store.client.insert({
      table: 'raw_events',
      values: [...[1, 2, 3].map((i) => rawRow(key(i), `{"n":${i}}`)), ...longKeys.map((k, i) => rawRow(k, `{"long":${i}}`))],
      format: 'JSONEachRow',
    });
  });
  afterAll(async () => {
    await store?.close();
  });

  it('find a key only under its own subject and id, with or without its subjects in the request', async () => {
    const found = await storedDigests(store, [key(1), { ...key(2), subject: 'acme/api#1' }, { ...key(3), id: 'pr-1' }]);
    expect([...found.keys()]).toEqual([rawKey(key(1))]);
    const long = await storedDigests(store, [...longKeys.slice(0, 999), { ...longKeys[999]!, id: 'pr-1' }]);
    expect(long.size).toBe(999);
    expect([...long.get(rawKey(longKeys[998]!))!]).toEqual([digestOf('{"long":998}')]);
  });
});
