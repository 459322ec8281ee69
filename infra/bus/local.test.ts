import { appendFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/support/clock.js';
import { tempDir, waitFor } from '../../test/support/harness.js';
import { createLocalBus } from './local.js';
import type { Batch } from './types.js';

const msgs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${(from + i) % 7}`, value: `{"n":${from + i}}` }));

describe('in-process bus', () => {
  it('delivers in order in batches and resumes from the committed offset after a restart', async () => {
    const dir = tempDir();
    let bus = createLocalBus({ dir, pollMs: 20 });
    await bus.publish('raw.github', msgs(0, 25));
    const seen: number[] = [];
    let sub = await bus.consume({
      groupId: 'g',
      topics: ['raw.github'],
      maxBatchMessages: 10,
      handler: (b: Batch) => {
        for (const m of b.messages) seen.push((JSON.parse(m.value!.toString()) as { n: number }).n);
        return Promise.resolve();
      },
    });
    await waitFor(
      '25 messages',
      () => seen.length,
      (n) => n === 25,
    );
    await sub.stop();
    await bus.close();
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => i));

    bus = createLocalBus({ dir, pollMs: 20 });
    await bus.publish('raw.github', msgs(25, 5));
    expect(await bus.lag('g', 'raw.github')).toEqual([{ partition: 0, committed: 25, end: 30 }]);
    const after: number[] = [];
    sub = await bus.consume({
      groupId: 'g',
      topics: ['raw.github'],
      handler: (b) => {
        for (const m of b.messages) after.push(Number(m.offset));
        return Promise.resolve();
      },
    });
    await waitFor(
      '5 more',
      () => after.length,
      (n) => n === 5,
    );
    await sub.stop();
    await bus.close();
    expect(after).toEqual([25, 26, 27, 28, 29]);
  });

  it('redelivers a batch whose handler failed and commits nothing of it', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 20 });
    await bus.publish('t', msgs(0, 3));
    let calls = 0;
    const errors: unknown[] = [];
    const delivered: string[][] = [];
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      onError: (e) => errors.push(e),
      handler: (b) => {
        calls++;
        delivered.push(b.messages.map((m) => m.offset));
        return calls === 1 ? Promise.reject(new Error('store down')) : Promise.resolve();
      },
    });
    await waitFor(
      'second delivery',
      () => calls,
      (n) => n >= 2,
    );
    await waitFor(
      'commit',
      () => bus.lag('g', 't'),
      (l) => l[0]!.committed === 3,
    );
    await sub.stop();
    await bus.close();
    expect(errors).toHaveLength(1);
    expect(delivered[0]).toEqual(['0', '1', '2']);
    expect(delivered[1]).toEqual(['0', '1', '2']);
  });

  it('keeps exact bytes, keys and headers', async () => {
    const bus = createLocalBus({ dir: tempDir(), pollMs: 20 });
    const binary = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    await bus.publish('t', [
      { key: null, value: binary, headers: { a: '1' } },
      { key: 'k', value: 'héllo' },
    ]);
    const got: Batch[] = [];
    const sub = await bus.consume({ groupId: 'g', topics: ['t'], handler: (b) => Promise.resolve(void got.push(b)) });
    await waitFor(
      'batch',
      () => got.length,
      (n) => n > 0,
    );
    await sub.stop();
    await bus.close();
    const [a, b] = got[0]!.messages;
    expect(a!.value!.equals(binary)).toBe(true);
    expect(a!.key).toBeNull();
    expect(a!.headers).toEqual({ a: '1' });
    expect(b!.value!.toString()).toBe('héllo');
    expect(b!.key!.toString()).toBe('k');
  });

  it('cuts off a line torn by a crash mid-append and goes on from there', async () => {
    const dir = tempDir();
    let bus = createLocalBus({ dir });
    await bus.publish('t', msgs(0, 3));
    await bus.close();
    const segDir = path.join(dir, 'bus', 't');
    appendFileSync(path.join(segDir, readdirSync(segDir)[0]!), '{"o":3,"k":"x","t":1,"v":"{\\"n"');
    bus = createLocalBus({ dir });
    await bus.publish('t', msgs(3, 1));
    expect((await bus.lag('g', 't'))[0]!.end).toBe(4);
    const offsets: string[] = [];
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      handler: (b) => Promise.resolve(void offsets.push(...b.messages.map((m) => m.offset))),
    });
    await waitFor(
      '4 messages',
      () => offsets.length,
      (n) => n === 4,
    );
    await sub.stop();
    await bus.close();
    expect(offsets).toEqual(['0', '1', '2', '3']);
  });

  it('keeps values with line breaks and any bytes, and cuts off a value torn by a crash mid-append', async () => {
    const dir = tempDir();
    let bus = createLocalBus({ dir });
    const values = [Buffer.from('line one\nline two\n'), Buffer.from([0x0a, 0x00, 0xff, 0x0a]), Buffer.alloc(0), Buffer.from('{"n":1}')];
    await bus.publish(
      't',
      values.map((value) => ({ key: 'k', value })),
    );
    await bus.close();
    const segDir = path.join(dir, 'bus', 't');
    // A header whose value was cut short: only part of its 10 bytes reached the file.
    appendFileSync(path.join(segDir, readdirSync(segDir)[0]!), '{"o":4,"k":"x","t":1,"n":10}\n{"n"');
    bus = createLocalBus({ dir });
    expect((await bus.lag('g', 't'))[0]!.end).toBe(4);
    await bus.publish('t', [{ key: 'k', value: 'after' }]);
    const got: Buffer[] = [];
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      handler: (b) => Promise.resolve(void got.push(...b.messages.map((m) => m.value!))),
    });
    await waitFor(
      '5 messages',
      () => got.length,
      (n) => n === 5,
    );
    await sub.stop();
    await bus.close();
    expect(got.map((b) => b.toString('hex'))).toEqual([...values, Buffer.from('after')].map((b) => b.toString('hex')));
  });

  it('reads a log written with each value inside its JSON line, and appends after it', async () => {
    const dir = tempDir();
    const segDir = path.join(dir, 'bus', 't');
    mkdirSync(segDir, { recursive: true });
    writeFileSync(
      path.join(segDir, `${'0'.padStart(20, '0')}.log`),
      '{"o":0,"k":"a","t":5,"h":{"x":"1"},"v":"{\\"n\\":0}"}\n{"o":1,"k":null,"t":6,"b":"//4AQQ=="}\n',
    );
    const bus = createLocalBus({ dir, pollMs: 20 });
    await bus.publish('t', [{ key: 'c', value: '{"n":2}' }]);
    const got: Batch['messages'] = [];
    const sub = await bus.consume({ groupId: 'g', topics: ['t'], handler: (b) => Promise.resolve(void got.push(...b.messages)) });
    await waitFor(
      '3 messages',
      () => got.length,
      (n) => n === 3,
    );
    await sub.stop();
    await bus.close();
    expect(got.map((m) => [m.offset, m.key?.toString() ?? null, m.value!.toString('hex'), m.headers])).toEqual([
      ['0', 'a', Buffer.from('{"n":0}').toString('hex'), { x: '1' }],
      ['1', null, 'fffe0041', {}],
      ['2', 'c', Buffer.from('{"n":2}').toString('hex'), {}],
    ]);
    expect(got[0]!.timestamp).toBe(5);
  });

  it('deletes segments every group has consumed', async () => {
    const dir = tempDir();
    const bus = createLocalBus({ dir, segmentBytes: 200, pollMs: 20 });
    for (let i = 0; i < 10; i++) await bus.publish('t', msgs(i * 3, 3));
    const segDir = path.join(dir, 'bus', 't');
    const before = readdirSync(segDir).length;
    expect(before).toBeGreaterThan(3);
    let n = 0;
    const sub = await bus.consume({ groupId: 'g', topics: ['t'], handler: (b) => Promise.resolve(void (n += b.messages.length)) });
    await waitFor(
      'all consumed',
      () => n,
      (x) => x === 30,
    );
    await waitFor(
      'trimmed',
      () => readdirSync(segDir).length,
      (x) => x <= 2,
    );
    await sub.stop();
    await bus.close();
  });

  it('refuses a second consumer of one group in the same process', async () => {
    const bus = createLocalBus({ dir: tempDir() });
    const sub = await bus.consume({ groupId: 'g', topics: ['t'], handler: () => Promise.resolve() });
    await expect(bus.consume({ groupId: 'g', topics: ['t'], handler: () => Promise.resolve() })).rejects.toThrow(/already has a consumer/);
    await sub.stop();
    await bus.close();
  });
});

describe('in-process bus on a clock', () => {
  it("stamps each message with the clock's time of its publish", async () => {
    const clock = new ManualClock('2026-06-01T08:00:00Z');
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10, clock });
    await bus.publish('t', msgs(0, 2));
    await clock.advance(90_000);
    await bus.publish('t', msgs(2, 1));
    const stamps: number[] = [];
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      handler: (b) => Promise.resolve(void stamps.push(...b.messages.map((m) => m.timestamp))),
    });
    await waitFor(
      '3 messages',
      () => stamps.length,
      (n) => n === 3,
    );
    await sub.stop();
    await bus.close();
    const t0 = Date.parse('2026-06-01T08:00:00Z');
    expect(stamps).toEqual([t0, t0, t0 + 90_000]);
  });

  it("waits out a failed batch's back-off on the clock, and stops at once in the middle of it", async () => {
    const clock = new ManualClock('2026-06-01T08:00:00Z');
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10, clock });
    await bus.publish('t', msgs(0, 1));
    let calls = 0;
    const sub = await bus.consume({
      groupId: 'g',
      topics: ['t'],
      handler: () => (++calls <= 2 ? Promise.reject(new Error('store down')) : Promise.resolve()),
    });
    await waitFor(
      'the first attempt',
      () => calls,
      (n) => n === 1,
    );
    // The first back-off is 100-200 ms: nothing is tried again until the clock has moved that far.
    await waitFor(
      'the back-off to wait on the clock',
      () => clock.pending,
      (n) => n > 0,
    );
    expect(calls).toBe(1);
    await clock.advance(200);
    await waitFor(
      'the second attempt',
      () => calls,
      (n) => n === 2,
    );
    // In the second back-off: stopping does not wait for the clock.
    await sub.stop();
    expect(calls).toBe(2);
    expect(await bus.lag('g', 't')).toEqual([{ partition: 0, committed: 0, end: 1 }]);
    await bus.close();
  });
});
