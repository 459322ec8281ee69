import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { ALERT_ENV, SCENARIO_T0, seedStallScenario, startAlertReceiver, type AlertReceiver } from '../../test/support/alerts.js';
import { ManualClock } from '../../test/support/clock.js';
import { testStore, waitFor } from '../../test/support/harness.js';
import { createNotifiers, signature } from './channels.js';
import { dedupKeyOf, readAlerts, runStallAlerts } from './stalls.js';
import { newAlert, type AlertMessage } from './types.js';

describe('alert deliveries on a clock', () => {
  let receiver: AlertReceiver;
  beforeAll(async () => {
    receiver = await startAlertReceiver();
  });
  afterAll(() => receiver.close());

  it("sign each attempt with the clock's time, and wait for a retry on the clock", async () => {
    // 0.9 s into a second: the retry, 250-500 ms later, leaves in the next one.
    const t0 = Date.parse('2026-03-20T09:00:00.900Z');
    const clock = new ManualClock(t0);
    const { alerts } = configSchema.parse({
      alerts: { channels: { audit: { type: 'webhook', url: `${receiver.httpUrl}/hook`, secretEnv: 'TEST_HOOK_SECRET' } } },
    });
    const notifier = createNotifiers(alerts, { env: ALERT_ENV, clock }).get('audit')!;
    const alert = newAlert(
      'jira:SRCH-1>CHK-1',
      {
        source: 'jira',
        blocker: 'SRCH-1',
        blocked: 'CHK-1',
        blockerTeam: 'search',
        blockedTeam: 'checkout',
        program: 'payments',
        crossTeam: true,
        daysStalled: 6,
        thresholdDays: 5,
        blockerLastActivity: t0 - 8 * 86_400_000,
        reason: 'idle 6 business days (threshold 5)',
        lastSeenAt: t0,
      },
      t0,
    );
    const message: AlertMessage = {
      kind: 'opened',
      alert,
      deliveryId: 'd-1',
      dedupKey: dedupKeyOf(alert),
      sentAt: clock.date(),
      links: {},
    };
    receiver.failing.add('/hook');
    let status: number | undefined;
    const sending = notifier.send(message).then((s) => (status = s));
    // The first attempt is answered 503; the retry waits on the clock, which has not moved.
    await waitFor(
      'the retry to wait on the clock',
      () => clock.pending,
      (n) => n > 0,
      { timeoutMs: 10_000, intervalMs: 5 },
    );
    expect(status).toBeUndefined();
    receiver.failing.delete('/hook');
    await clock.advance(500);
    await sending;
    expect(status).toBe(200);
    expect(receiver.received).toHaveLength(1);
    const hook = receiver.received[0]!;
    const ts = String(Math.floor(t0 / 1000) + 1);
    expect(hook.headers['x-ptel-timestamp']).toBe(ts);
    expect(hook.headers['x-ptel-signature']).toBe(signature('hook-secret-1', ts, hook.body));
  });
});

describe('the stall detector on a clock', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
    await seedStallScenario(store);
  });
  afterAll(() => store.close());

  it("runs at the clock's instant when no instant is given", async () => {
    const base = configSchema.parse({});
    const clock = new ManualClock(SCENARIO_T0);
    const r = await runStallAlerts({ store, config: base, notifiers: new Map(), clock });
    expect(r.stalled).toBe(3);
    expect(r.opened.map((a) => [a.linkKey, a.openedAt, a.lastSeenAt]).sort()).toEqual([
      ['jira:CHK-2>CHK-3', SCENARIO_T0, SCENARIO_T0],
      ['jira:SRCH-1>CHK-1', SCENARIO_T0, SCENARIO_T0],
      ['jira:SRCH-2>SRCH-3', SCENARIO_T0, SCENARIO_T0],
    ]);
    expect((await readAlerts(store)).map((a) => a.openedAt)).toEqual([SCENARIO_T0, SCENARIO_T0, SCENARIO_T0]);
  });
});
