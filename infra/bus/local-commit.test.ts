import type * as FsPromises from 'node:fs/promises';
import { describe, expect, it, vi } from 'vitest';
import { tempDir, waitFor } from '../../test/support/harness.js';
import { createLocalBus } from './local.js';
import type { Bus } from './types.js';

/** The log's datasyncs, counted, held until released, and failed on the chosen ones (1 = the first). */
const syncs = vi.hoisted(() => ({
  count: 0,
  held: undefined as Promise<void> | undefined,
  failing: new Set<number>(),
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof FsPromises>();
  const open = async (...args: Parameters<typeof real.open>): ReturnType<typeof real.open> => {
    const fh = await real.open(...args);
    const datasync = fh.datasync.bind(fh);
    return Object.assign(fh, {
      datasync: async () => {
        const n = ++syncs.count;
        await syncs.held;
        if (syncs.failing.has(n)) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
        return datasync();
      },
    });
  };
  return { ...real, open };
});

/** Holds every datasync from now until the returned function is called. */
function holdSyncs(): () => void {
  let release!: () => void;
  syncs.held = new Promise((resolve) => (release = resolve));
  return () => {
    syncs.held = undefined;
    release();
  };
}

/** A publish's outcome as it stands: pending until the bus answers. */
function watch(p: Promise<void>): { state: 'pending' | 'ok' | Error } {
  const w: { state: 'pending' | 'ok' | Error } = { state: 'pending' };
  p.then(
    () => (w.state = 'ok'),
    (err: unknown) => (w.state = err as Error),
  );
  return w;
}

/** Every message of `topic` as a fresh bus on `dir` reads it back from the disk: offset and value. */
async function onDisk(dir: string, topic: string): Promise<Array<[string, string]>> {
  const bus = createLocalBus({ dir, pollMs: 10 });
  const end = (await bus.lag('reader', topic))[0]!.end;
  const got: Array<[string, string]> = [];
  const sub = await bus.consume({
    groupId: 'reader',
    topics: [topic],
    handler: (b) => Promise.resolve(void got.push(...b.messages.map((m): [string, string] => [m.offset, m.value!.toString()]))),
  });
  await waitFor(
    `${end} messages read back`,
    () => got.length,
    (n) => n >= end,
  );
  await sub.stop();
  await bus.close();
  return got;
}

const endOf = async (bus: Bus, topic: string): Promise<number> => (await bus.lag('g', topic))[0]!.end;

/**
 * A bus on a fresh folder whose first publish of `value` is written and in its datasync, held there
 * until `release` is called; the datasyncs numbered in `failing` fail.
 */
async function busInFirstSync(value: string, failing: number[] = []) {
  syncs.count = 0;
  syncs.failing = new Set(failing);
  const dir = tempDir();
  const bus = createLocalBus({ dir });
  const release = holdSyncs();
  const first = watch(bus.publish('t', [{ key: 'a', value }]));
  await waitFor(
    'the first datasync',
    () => syncs.count,
    (n) => n === 1,
  );
  return { dir, bus, release, first };
}

describe('in-process bus: group commit', () => {
  it('writes publishes made during a datasync with one more datasync, acknowledges none before it, and keeps their order', async () => {
    const { dir, bus, release, first } = await busInFirstSync('m0');
    const rest = Array.from({ length: 99 }, (_, i) => watch(bus.publish('t', [{ key: `k${i % 5}`, value: `m${i + 1}` }])));
    // The first publish's bytes are written, but no datasync has returned: nothing is acknowledged or readable.
    expect(first.state).toBe('pending');
    expect(rest.every((w) => w.state === 'pending')).toBe(true);
    expect(await endOf(bus, 't')).toBe(0);
    release();
    await waitFor(
      'every publish acknowledged',
      () => [first, ...rest].filter((w) => w.state === 'ok').length,
      (n) => n === 100,
    );
    // One datasync for the first publish, one for the 99 made while it ran.
    expect(syncs.count).toBe(2);
    expect(await endOf(bus, 't')).toBe(100);
    await bus.close();
    expect(await onDisk(dir, 't')).toEqual(Array.from({ length: 100 }, (_, i) => [String(i), `m${i}`]));
  });

  it('rejects every publish a failed datasync covered, and the log goes on without their bytes', async () => {
    const { dir, bus, release, first: a } = await busInFirstSync('A', [2]);
    const covered = [
      watch(bus.publish('t', [{ key: 'b', value: 'B' }])),
      watch(
        bus.publish('t', [
          { key: 'c', value: 'C1' },
          { key: 'c', value: 'C2' },
        ]),
      ),
    ];
    release();
    await waitFor(
      'the failed datasync to be answered',
      () => covered.filter((w) => w.state !== 'pending').length,
      (n) => n === 2,
    );
    expect(a.state).toBe('ok');
    for (const w of covered) expect(w.state).toMatchObject({ message: expect.stringContaining('EIO') as unknown });
    expect(await endOf(bus, 't')).toBe(1);
    await bus.publish('t', [{ key: 'd', value: 'D' }]);
    expect(await endOf(bus, 't')).toBe(2);
    await bus.close();
    expect(await onDisk(dir, 't')).toEqual([
      ['0', 'A'],
      ['1', 'D'],
    ]);
  });

  it('keeps many concurrent publishes to several topics durable and each topic in the order of the calls', async () => {
    syncs.count = 0;
    syncs.failing = new Set();
    const dir = tempDir();
    const bus = createLocalBus({ dir });
    const sent = new Map<string, string[]>([
      ['x', []],
      ['y', []],
    ]);
    const publishes: Array<Promise<void>> = [];
    for (let i = 0; i < 500; i++) {
      const topic = i % 3 === 0 ? 'y' : 'x';
      const batch = Array.from({ length: 1 + (i % 4) }, (_, j) => `${i}.${j}`);
      sent.get(topic)!.push(...batch);
      publishes.push(
        bus.publish(
          topic,
          batch.map((value) => ({ key: value, value })),
        ),
      );
    }
    await Promise.all(publishes);
    expect(syncs.count).toBeLessThan(500);
    await bus.close();
    for (const [topic, values] of sent) expect((await onDisk(dir, topic)).map(([, v]) => v)).toEqual(values);
  });
});
