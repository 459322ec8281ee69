import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { queryRows, sampleEvents, testStore } from '../../test/support/harness.js';
import { rawEventRow } from './normalizer.js';
import { replay } from './replay.js';
import { mapContext, MapperRegistry, ok, withPayload } from '../../mapping/registry.js';

const payload = z.object({ id: z.number(), version: z.number(), updated_at: z.string() });

/** A mapping as it might be before and after a fix: v2 also fills `doubled`. */
function registry(version: 1 | 2): MapperRegistry {
  return new MapperRegistry().register(
    'github',
    'github.pull_request',
    withPayload(payload, (p, e) =>
      ok([
        { table: 'items', rows: [{ subject: e.subject, version: p.version, doubled: version === 2 ? p.id * 2 : 0, mapped_by: version }] },
      ]),
    ),
  );
}

describe('replay from raw_events', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
    await store.client.command({
      query: `CREATE TABLE items (subject String, version UInt32, doubled UInt32, mapped_by UInt8)
              ENGINE = ReplacingMergeTree(version) ORDER BY subject`,
    });
    const events = sampleEvents('github', 'github.pull_request', 40, 3);
    const other = sampleEvents('jira', 'jira.issue', 5);
    await store.client.insert({
      table: 'raw_events',
      values: [...events, ...other].map((e, i) => rawEventRow(e, { topic: `raw.${e.source}`, partition: 0, offset: String(i) })),
      format: 'JSONEachRow',
    });
  });
  afterAll(() => store.close());

  it('re-normalizes stored events with the current mappers and converges to the latest version', async () => {
    const writer = new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 50 });
    const first = await replay({ store, writer, registry: registry(1), context: mapContext(), pageSize: 7 });
    expect(first.events).toBe(125);
    expect(first.outcomes).toEqual({ ok: 125 });
    expect(first.rows).toEqual({ items: 120 });
    const v1 = await queryRows<{ subject: string; version: number; doubled: number }>(
      store,
      'SELECT subject, version, doubled FROM items FINAL ORDER BY subject',
    );
    expect(v1).toHaveLength(40);
    expect(v1.every((r) => r.version === 2 && r.doubled === 0)).toBe(true);

    const second = await replay({
      store,
      writer,
      registry: registry(2),
      context: mapContext(),
      filter: { source: 'github' },
    });
    expect(second.events).toBe(120);
    const v2 = await queryRows<{ subject: string; doubled: number; mapped_by: number }>(
      store,
      "SELECT subject, doubled, mapped_by FROM items FINAL WHERE subject = 'entity-7'",
    );
    expect(v2).toEqual([{ subject: 'entity-7', doubled: 14, mapped_by: 2 }]);
    await writer.close();
  });

  it('filters by type and time, and dead-letters what the mapping cannot read, naming the field', async () => {
    const writer = new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 50 });
    const strict = new MapperRegistry().register(
      'github',
      'github.pull_request',
      withPayload(z.object({ merged_at: z.string() }), () => ok()),
    );
    const since = new Date(Date.UTC(2026, 5, 1) + 100 * 1000); // versions 2 and 3 of some entities
    const r = await replay({
      store,
      writer,
      registry: strict,
      context: mapContext(),
      filter: { type: 'github.pull_request', since },
    });
    expect(r.events).toBe(20);
    expect(r.outcomes).toEqual({ dead_letter: 20 });
    const dead = await queryRows<{ reason_code: string; reason: string }>(
      store,
      'SELECT reason_code, reason FROM dead_letters FINAL LIMIT 1',
    );
    expect(dead[0]!.reason_code).toBe('invalid_payload');
    expect(dead[0]!.reason).toContain("field 'merged_at'");
    await writer.close();
  });
});
