import { describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import { ManualClock } from '../../test/support/clock.js';
import { tempDir, waitFor } from '../../test/support/harness.js';
import { waitUntilDrained } from './drain.js';

const msgs = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `{"n":${i}}` }));

describe('waiting until a group has drained its topics', () => {
  it('gives up when its time bound passes on the clock, saying how far behind the group is', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    await bus.publish('raw.github', msgs(3));
    let failure: unknown;
    const waiting = waitUntilDrained(bus, 'normalizer', ['raw.github'], { timeoutMs: 60_000, clock }).catch((err: unknown) => {
      failure = err;
    });
    await clock.advance(59_900);
    expect(failure).toBeUndefined();
    await clock.advance(200);
    await waiting;
    expect(String(failure)).toContain('consumer group normalizer is still 3 messages behind after 60000 ms');
    expect(clock.pending).toBe(0);
    await bus.close();
  });

  it('returns once the group has committed everything, looking again on the clock', async () => {
    const clock = new ManualClock('2026-06-01T00:00:00Z');
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    await bus.publish('raw.github', msgs(3));
    let drained = false;
    const waiting = waitUntilDrained(bus, 'normalizer', ['raw.github'], { clock }).then(() => {
      drained = true;
    });
    const sub = await bus.consume({ groupId: 'normalizer', topics: ['raw.github'], handler: () => Promise.resolve() });
    await waitFor(
      'the group to commit',
      () => bus.lag('normalizer', 'raw.github'),
      (parts) => parts.every((p) => p.committed === p.end),
    );
    expect(drained).toBe(false);
    await clock.advance(100);
    await waiting;
    expect(drained).toBe(true);
    expect(clock.pending).toBe(0);
    await sub.stop();
    await bus.close();
  });
});
