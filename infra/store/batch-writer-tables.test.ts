import { describe, expect, it } from 'vitest';
import { BatchWriter } from './batch-writer.js';
import type { Store } from './client.js';

/** A store whose inserts end when the test says, recording when each started and ended. */
function gatedStore(): { store: Store; log: string[]; release: (table: string, err?: Error) => void; started: () => string[] } {
  const log: string[] = [];
  const gates = new Map<string, Array<(err?: Error) => void>>();
  const client = {
    insert: ({ table }: { table: string }) => {
      log.push(`start ${table}`);
      return new Promise<void>((resolve, reject) => {
        const list = gates.get(table) ?? [];
        list.push((err) => {
          log.push(`end ${table}`);
          if (err !== undefined) reject(err);
          else resolve();
        });
        gates.set(table, list);
      });
    },
  };
  return {
    store: { client, database: 'test', kind: 'server', close: () => Promise.resolve() } as unknown as Store,
    log,
    release: (table, err) => gates.get(table)?.shift()?.(err),
    started: () => log.filter((l) => l.startsWith('start')),
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('the tables of one flush', () => {
  it('are inserted side by side, and the write resolves once every one is in', async () => {
    const { store, log, release, started } = gatedStore();
    const writer = new BatchWriter(store, { flushRows: 2, flushIntervalMs: 60_000 });
    let done = false;
    const write = writer.write([
      { table: 'raw_events', rows: [{ id: 'a' }] },
      { table: 'pull_requests', rows: [{ id: 'a' }] },
    ]);
    void write.then(() => (done = true));
    await settle();
    expect(started()).toEqual(['start raw_events', 'start pull_requests']);
    release('pull_requests');
    await settle();
    expect(done).toBe(false);
    release('raw_events');
    await write;
    expect(log).toEqual(['start raw_events', 'start pull_requests', 'end pull_requests', 'end raw_events']);
  });

  it('fail the write when one fails, and the next flush starts only after every insert of the failed one ended', async () => {
    const { store, log, release } = gatedStore();
    const writer = new BatchWriter(store, { flushRows: 2, flushIntervalMs: 60_000 });
    const first = writer.write([
      { table: 'raw_events', rows: [{ id: 'a' }] },
      { table: 'pull_requests', rows: [{ id: 'a' }] },
    ]);
    const failed = first.then(
      () => undefined,
      (err: unknown) => err,
    );
    await settle();
    const second = writer.write([{ table: 'raw_events', rows: [{ id: 'b' }, { id: 'c' }] }]);
    release('pull_requests', new Error('refused'));
    await settle();
    // The first flush's raw_events insert is still running: the second flush waits for it.
    expect(log).toEqual(['start raw_events', 'start pull_requests', 'end pull_requests']);
    release('raw_events');
    expect(((await failed) as Error).message).toBe('refused');
    await settle();
    expect(log.slice(3)).toEqual(['end raw_events', 'start raw_events']);
    release('raw_events');
    await second;
  });
});
