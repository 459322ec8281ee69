import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import { testStore } from '../../test/support/harness.js';
import {
  LOOKUP_PARAM_CHARS,
  LOOKUP_QUERY_CHARS,
  lookupGroups,
  lookupParts,
  rawKey,
  storedDigests,
  storedPayloads,
  type RawKey,
} from './stored-raw.js';

const digestOf = (data: string): string => createHash('sha256').update(data).digest('hex');

/** `n` keys of one source and type whose subjects and ids are long, as a large batch's are. */
const manyKeys = (n: number): RawKey[] =>
  Array.from({ length: n }, (_, i) => ({
    source: 'jira',
    type: 'jira.issue',
    subject: `https://jira.example.com/rest/api/3/issue/LONGPROJECT-${String(i).padStart(6, '0')}`,
    id: `0b9a3c1e-6f0d-8d2e-a3f0-${String(i).padStart(12, '0')}`,
  }));

describe('the look-ups of stored payloads by key', () => {
  it('split a long list of keys into parts whose parameters stay within the limit, in order and complete', () => {
    const keys = manyKeys(5_000);
    const parts = lookupParts(keys, (k) => digestOf(k.id));
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flat()).toEqual(keys);
    for (const part of parts) {
      for (const values of [part.map((k) => k.subject), part.map((k) => k.id), part.map((k) => digestOf(k.id))]) {
        expect(values.reduce((n, v) => n + v.length + 4, 0)).toBeLessThanOrEqual(LOOKUP_PARAM_CHARS);
      }
    }
    expect(lookupParts(keys.slice(0, 10))).toEqual([keys.slice(0, 10)]);
    expect(lookupParts([])).toEqual([]);
  });

  it('put the parts of a batch of a few thousand keys in one look-up, and of a larger list in look-ups within the limit', () => {
    const digestsOf = (k: RawKey): string => digestOf(k.id);
    const batch = manyKeys(5_000);
    const groups = lookupGroups(batch);
    expect(groups).toHaveLength(1);
    expect(groups[0]).toEqual(lookupParts(batch));
    const many = manyKeys(60_000);
    const large = lookupGroups(many, digestsOf);
    expect(large.length).toBeGreaterThan(1);
    expect(large.flat(2)).toEqual(many);
    for (const group of large) {
      expect(group.flat().reduce((n, k) => n + k.id.length + digestsOf(k).length + 8, 0)).toBeLessThanOrEqual(LOOKUP_QUERY_CHARS);
    }
    expect(lookupGroups([])).toEqual([]);
  });

  describe('on the store', () => {
    let store: Store;
    const keys = manyKeys(6_000);
    beforeAll(async () => {
      store = await testStore();
      // Every key stored with one payload, the first ten with a second one.
      const row = (k: RawKey, data: string) => ({
        ...k,
        entity_version: '1',
        time: '2026-06-01 00:00:00.000',
        partition_key: k.subject,
        connector: 'test',
        ingest_time: '2026-06-01 00:00:00.000',
        data,
        topic: 'raw.jira',
        bus_partition: 0,
        bus_offset: 0,
        digest: digestOf(data),
      });
      // Two inserts, as two deliveries: one insert would keep one row per key already.
      await store.client.insert({ table: 'raw_events', values: keys.map((k) => row(k, `{"v":1,"id":"${k.id}"}`)), format: 'JSONEachRow' });
      await store.client.insert({
        table: 'raw_events',
        values: keys.slice(0, 10).map((k) => row(k, `{"v":2,"id":"${k.id}"}`)),
        format: 'JSONEachRow',
      });
    });
    afterAll(async () => {
      await store?.close();
    });

    it('find the digests of a batch larger than one request to a server may carry', async () => {
      const found = await storedDigests(store, keys);
      expect(found.size).toBe(keys.length);
      expect([...found.get(rawKey(keys[3]!))!].sort()).toEqual(
        [digestOf(`{"v":1,"id":"${keys[3]!.id}"}`), digestOf(`{"v":2,"id":"${keys[3]!.id}"}`)].sort(),
      );
      expect([...found.get(rawKey(keys[4_321]!))!]).toEqual([digestOf(`{"v":1,"id":"${keys[4_321]!.id}"}`)]);
    });

    it('read the payloads of as many keys and digests, one row each', async () => {
      const wanted = keys.map((k) => ({ ...k, digest: digestOf(`{"v":1,"id":"${k.id}"}`) }));
      const rows = await storedPayloads(store, wanted);
      expect(rows).toHaveLength(keys.length);
      expect(new Set(rows.map((r) => r.id)).size).toBe(keys.length);
      const one = rows.find((r) => r.id === keys[5_999]!.id)!;
      expect(JSON.parse(one.data)).toEqual({ v: 1, id: keys[5_999]!.id });
    });
  });
});
