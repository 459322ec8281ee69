import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../../infra/config/schema.js';
import { createBullScheduler } from '../../infra/scheduler/bullmq.js';
import type { Scheduler } from '../../infra/scheduler/types.js';
import type { Store } from '../../infra/store/client.js';
import { createNotifiers } from '../../workers/alerts/channels.js';
import { runStallAlerts } from '../../workers/alerts/stalls.js';
import {
  deliveryLines,
  item,
  scenarioAlertsConfig,
  SCENARIO_T0,
  seedStallScenario,
  startAlertReceiver,
  type AlertReceiver,
} from '../support/alerts.js';
import { insertTables } from '../support/mapping.js';
import { queryRows, quietLogger, uniqueName, waitFor } from '../support/harness.js';
import { STORES } from '../support/stores.js';

const HOUR = 3_600_000;

/**
 * The stall alert job on the real Redis: two workers (as two `ptel connect` processes would) share
 * the schedule, which fires every 200 ms while a slow receiver makes some runs outlast the interval.
 * Each channel hears of each stall once, again after the re-notify interval, and of its end once; with
 * the alert state on either store.
 */
describe.each(STORES)('stall alerts on the real Redis schedules, state on $title', (target) => {
  let store: Store;
  let receiver: AlertReceiver;
  const schedulers: Scheduler[] = [];
  let clock = SCENARIO_T0;
  let runs = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  /** Waits until `n` more runs have finished (each sees the clock as set before it). */
  const runsMore = async (n: number): Promise<void> => {
    const target = runs + n;
    await waitFor(
      `${n} more stall alert runs`,
      () => runs,
      (r) => r >= target,
      { timeoutMs: 30_000 },
    );
  };

  beforeAll(async () => {
    store = await target.fresh('stalls');
    await seedStallScenario(store);
    receiver = await startAlertReceiver();
    receiver.delayMs = 300;
    const { alerts, env } = scenarioAlertsConfig(receiver);
    const base = configSchema.parse({});
    const notifiers = createNotifiers(alerts, { env });
    const handler = async (): Promise<void> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await runStallAlerts({ store, config: { model: base.model, metrics: base.metrics, alerts }, notifiers, now: new Date(clock) });
      } finally {
        inFlight--;
      }
      runs++;
    };
    const queueName = uniqueName('alerts');
    for (let i = 0; i < 2; i++) {
      const s = createBullScheduler({
        schedules: [{ id: 'stall-alerts', job: 'stall-alerts', everyMs: 200, attempts: 1, exclusive: true }],
        handlers: { 'stall-alerts': handler },
        redisUrl: inject('redisUrl'),
        queueName,
        logger: quietLogger(),
      });
      await s.start();
      schedulers.push(s);
    }
  }, 60_000);

  afterAll(async () => {
    for (const s of schedulers) await s.stop();
    await receiver?.close();
    await store?.close();
  });

  const opened = [
    'hook stall.opened jira:SRCH-2>SRCH-3',
    'pagerduty trigger jira:SRCH-1>CHK-1',
    'slack :warning: *Cross-team dependency stalled: SRCH-1 (team search) blocks CHK-1 (team checkout), idle 13 business days*',
    'slack :warning: *Dependency stalled: CHK-2 (team checkout) blocks CHK-3 (team checkout), idle 13 business days*',
  ];

  it('tells each routed channel of each stall once, however many runs follow', async () => {
    await runsMore(1);
    expect(deliveryLines(receiver.received)).toEqual(opened);
    await runsMore(4);
    expect(deliveryLines(receiver.received)).toEqual(opened);
    expect(maxInFlight).toBe(1);
  });

  it('reminds each channel once after the re-notify interval', async () => {
    receiver.received.length = 0;
    clock = SCENARIO_T0 + 25 * HOUR;
    await runsMore(4);
    expect(deliveryLines(receiver.received)).toEqual([
      'hook stall.renotified jira:SRCH-2>SRCH-3',
      'pagerduty trigger jira:SRCH-1>CHK-1',
      'slack :warning: *Still stalled: CHK-2 (team checkout) blocks CHK-3 (team checkout), idle 14 business days, open since 2026-03-20*',
      'slack :warning: *Still stalled: SRCH-1 (team search) blocks CHK-1 (team checkout), idle 14 business days, open since 2026-03-20*',
    ]);
  });

  it('resolves a stall once its blocker is done and tells the channels that heard of it, once', async () => {
    receiver.received.length = 0;
    await insertTables(store, {
      work_items: [
        item('SRCH-1', 'search', { status: 'Done', status_category: 'done', updated_at: '2026-03-21T11:00:00.000Z', version: 2 }),
      ],
    });
    clock = SCENARIO_T0 + 26 * HOUR;
    await waitFor(
      'the resolution messages',
      () => receiver.received.length,
      (n) => n >= 2,
      { timeoutMs: 30_000 },
    );
    await runsMore(4);
    expect(deliveryLines(receiver.received)).toEqual([
      'pagerduty resolve jira:SRCH-1>CHK-1',
      'slack :white_check_mark: *Stall resolved: SRCH-1 blocks CHK-1: SRCH-1 done (Done)*',
    ]);
    // Every message went out once: one successful delivery per alert, channel and kind.
    const sent = await queryRows<{ link_key: string; channel: string; kind: string; n: string }>(
      store,
      `SELECT link_key, toString(channel) AS channel, toString(kind) AS kind, count() AS n FROM alert_notifications
       WHERE status = 'sent' GROUP BY link_key, opened_at, channel, kind ORDER BY link_key, channel, kind`,
    );
    expect(sent.every((r) => Number(r.n) === 1)).toBe(true);
    expect(sent.length).toBe(10); // 4 opened, 4 renotified, 2 resolved
    const states = await queryRows<{ link_key: string; status: string }>(
      store,
      'SELECT link_key, toString(status) AS status FROM stall_alerts FINAL ORDER BY link_key',
    );
    expect(states).toEqual([
      { link_key: 'jira:CHK-2>CHK-3', status: 'renotified' },
      { link_key: 'jira:SRCH-1>CHK-1', status: 'resolved' },
      { link_key: 'jira:SRCH-2>SRCH-3', status: 'renotified' },
    ]);
    expect(maxInFlight).toBe(1);
  });
});
