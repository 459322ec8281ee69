import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { configSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import {
  deliveryLines,
  item,
  scenarioAlertsConfig,
  SCENARIO_T0,
  seedStallScenario,
  startAlertReceiver,
  type AlertReceiver,
} from '../../test/support/alerts.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { blocksLinkRow } from '../../test/support/rows.js';
import { createNotifiers, signature } from './channels.js';
import { readAlerts, runStallAlerts, type StallAlertsResult } from './stalls.js';

const HOUR = 3_600_000;

describe('stall alerts: detection, routing, delivery, lifecycle', () => {
  let store: Store;
  let receiver: AlertReceiver;
  let run: (at: number) => Promise<StallAlertsResult>;

  beforeAll(async () => {
    store = await testStore();
    receiver = await startAlertReceiver();
    await seedStallScenario(store);
    const { alerts, env } = scenarioAlertsConfig(receiver);
    const base = configSchema.parse({});
    // one attempt per run, so a failing receiver shows as a failed delivery at once
    const notifiers = createNotifiers(alerts, { env, retry: { attempts: 1 } });
    run = (at) => runStallAlerts({ store, config: { model: base.model, metrics: base.metrics, alerts }, notifiers, now: new Date(at) });
  });
  afterAll(async () => {
    await receiver.close();
    await store.close();
  });
  beforeEach(() => {
    receiver.received.length = 0;
    receiver.failing.clear();
  });

  it('opens an alert per stalled link and tells each routed channel once; a channel that fails is retried on the next run', async () => {
    receiver.failing.add('/slack');
    const first = await run(SCENARIO_T0);
    expect(first.stalled).toBe(3);
    expect(first.opened.map((a) => a.linkKey).sort()).toEqual(['jira:CHK-2>CHK-3', 'jira:SRCH-1>CHK-1', 'jira:SRCH-2>SRCH-3']);
    // Slack answered 503: only the webhook and PagerDuty got theirs.
    expect(deliveryLines(receiver.received)).toEqual(['hook stall.opened jira:SRCH-2>SRCH-3', 'pagerduty trigger jira:SRCH-1>CHK-1']);
    expect(
      first.deliveries
        .filter((d) => !d.ok)
        .map((d) => [d.channel, d.linkKey, d.httpStatus])
        .sort(),
    ).toEqual([
      ['checkout-slack', 'jira:CHK-2>CHK-3', 503],
      ['checkout-slack', 'jira:SRCH-1>CHK-1', 503],
    ]);
    const afterFirst = await readAlerts(store);
    expect(Object.fromEntries(afterFirst.map((a) => [a.linkKey, a.status]))).toEqual({
      'jira:CHK-2>CHK-3': 'opened', // told no channel yet
      'jira:SRCH-1>CHK-1': 'notified', // PagerDuty has it
      'jira:SRCH-2>SRCH-3': 'notified',
    });

    receiver.received.length = 0;
    receiver.failing.clear();
    const second = await run(SCENARIO_T0 + HOUR);
    expect(second.opened).toEqual([]);
    // Only what was owed: Slack's two. Nothing again to the webhook or PagerDuty.
    expect(deliveryLines(receiver.received)).toEqual([
      'slack :warning: *Cross-team dependency stalled: SRCH-1 (team search) blocks CHK-1 (team checkout), idle 13 business days*',
      'slack :warning: *Dependency stalled: CHK-2 (team checkout) blocks CHK-3 (team checkout), idle 13 business days*',
    ]);
    // The retry carried the failed attempt's delivery id.
    const ids = await queryRows<{ status: string; delivery_id: string }>(
      store,
      "SELECT status, delivery_id FROM alert_notifications WHERE link_key = 'jira:CHK-2>CHK-3' AND channel = 'checkout-slack' ORDER BY sent_at",
    );
    expect(ids.map((r) => r.status)).toEqual(['failed', 'sent']);
    expect(ids[0]!.delivery_id).toBe(ids[1]!.delivery_id);

    receiver.received.length = 0;
    const third = await run(SCENARIO_T0 + 2 * HOUR);
    expect(third.deliveries).toEqual([]);
    expect(receiver.received).toEqual([]);
    expect((await readAlerts(store, { status: 'notified' })).length).toBe(3);
  });

  it('sends messages each channel can use: signed JSON, Slack text with links, PagerDuty events with one dedup key', async () => {
    // 25 hours after the first run, every channel is owed a reminder.
    await run(SCENARIO_T0 + 25 * HOUR);
    const hook = receiver.received.find((r) => r.path === '/hook')!;
    expect(hook.headers['x-ptel-event']).toBe('stall.renotified');
    const ts = String(hook.headers['x-ptel-timestamp']);
    expect(hook.headers['x-ptel-signature']).toBe(signature('hook-secret-1', ts, hook.body));
    expect(hook.headers['x-ptel-signature']).not.toBe(signature('another-secret', ts, hook.body));
    expect(hook.json).toMatchObject({
      event: 'stall.renotified',
      alert: {
        link_key: 'jira:SRCH-2>SRCH-3',
        blocker: 'SRCH-2',
        blocked: 'SRCH-3',
        blocker_team: 'search',
        cross_team: false,
        status: 'notified',
        days_stalled: 14,
        threshold_days: 5,
        opened_at: '2026-03-20T09:00:00.000Z',
        links: { blocker: 'https://acme.atlassian.net/browse/SRCH-2', dashboard: 'https://grafana.example.com/d/ptel-dependencies' },
      },
    });
    expect(String((hook.json['alert'] as { reason: string }).reason)).toMatch(/^idle 14 business days since 2026-03-02/);

    const slack = receiver.received.find((r) => r.path === '/slack' && r.body.includes('SRCH-1'))!;
    const text = (slack.json as { text: string }).text;
    expect(text).toContain(
      '*Still stalled: SRCH-1 (team search) blocks CHK-1 (team checkout), idle 14 business days, open since 2026-03-20*',
    );
    expect(text).toContain(
      '<https://acme.atlassian.net/browse/SRCH-1|SRCH-1> (team search) blocks <https://acme.atlassian.net/browse/CHK-1|CHK-1>',
    );
    expect(text).toContain('<https://grafana.example.com/d/ptel-dependencies|Dependencies dashboard>');

    const pd = receiver.received.find((r) => r.path === '/v2/enqueue')!;
    expect(pd.json).toMatchObject({
      routing_key: 'R0UTINGKEY0123456789ABCDEFGHIJKL',
      event_action: 'trigger',
      payload: { source: 'ptel', severity: 'warning', component: 'SRCH-1', group: 'checkout', class: 'dependency stall' },
    });
    const opened = (await readAlerts(store, { linkKey: 'jira:SRCH-1>CHK-1' }))[0]!;
    expect(pd.json['dedup_key']).toBe(`ptel-stall/jira:SRCH-1>CHK-1/${opened.openedAt}`);
    expect(opened).toMatchObject({ status: 'renotified', daysStalled: 14 });
    // Four reminders (two to Slack, one to PagerDuty, one to the webhook), and no more the next hour.
    expect(deliveryLines(receiver.received)).toHaveLength(4);
    receiver.received.length = 0;
    await run(SCENARIO_T0 + 26 * HOUR);
    expect(receiver.received).toEqual([]);
  });

  it('resolves an alert when its stall ends, says why, and tells the channels that heard of it once', async () => {
    // SRCH-1 is done; the CHK-2 -> CHK-3 link is removed.
    await insertTables(store, {
      work_items: [
        item('SRCH-1', 'search', { status: 'Done', status_category: 'done', updated_at: '2026-03-21T12:00:00.000Z', version: 2 }),
      ],
      work_item_links: [blocksLinkRow('CHK-2', 'CHK-3', null, { version: 2, is_deleted: 1 })],
    });
    const r = await run(SCENARIO_T0 + 27 * HOUR);
    expect(Object.fromEntries(r.resolved.map((a) => [a.linkKey, a.resolution]))).toEqual({
      'jira:SRCH-1>CHK-1': 'SRCH-1 done (Done)',
      'jira:CHK-2>CHK-3': 'link removed',
    });
    expect(deliveryLines(receiver.received)).toEqual([
      'pagerduty resolve jira:SRCH-1>CHK-1',
      'slack :white_check_mark: *Stall resolved: CHK-2 blocks CHK-3: link removed*',
      'slack :white_check_mark: *Stall resolved: SRCH-1 blocks CHK-1: SRCH-1 done (Done)*',
    ]);
    const pd = receiver.received.find((x) => x.path === '/v2/enqueue')!;
    expect(pd.json['dedup_key']).toBe(`ptel-stall/jira:SRCH-1>CHK-1/${SCENARIO_T0}`);
    receiver.received.length = 0;
    const again = await run(SCENARIO_T0 + 28 * HOUR);
    expect(again.resolved).toEqual([]);
    expect(receiver.received).toEqual([]);
    const final = await readAlerts(store, { status: 'resolved' });
    expect(final.map((a) => a.linkKey).sort()).toEqual(['jira:CHK-2>CHK-3', 'jira:SRCH-1>CHK-1']);
    // Each alert's row kept its whole story: opened, told, reminded, resolved.
    expect(final.find((a) => a.linkKey === 'jira:SRCH-1>CHK-1')).toMatchObject({
      openedAt: SCENARIO_T0,
      notifiedAt: SCENARIO_T0,
      lastNotifiedAt: SCENARIO_T0 + 25 * HOUR,
      resolvedAt: SCENARIO_T0 + 27 * HOUR,
      notifications: 6, // pager opened, slack opened, both reminded, both resolved
    });
  });

  it('opens a new alert when a resolved link stalls again, with its own dedup key', async () => {
    // SRCH-1 is reopened and then left idle: stalled again a week later.
    await insertTables(store, {
      work_items: [item('SRCH-1', 'search', { updated_at: '2026-03-23T09:00:00.000Z', version: 3 })],
    });
    const later = SCENARIO_T0 + 11 * 24 * HOUR; // Tuesday 03-31: 03-24 .. 03-27 and 03-30 idle
    const r = await run(later);
    // SRCH-4, idle since 03-19, has stalled by now too.
    expect(r.opened.map((a) => a.linkKey).sort()).toEqual(['jira:SRCH-1>CHK-1', 'jira:SRCH-4>CHK-4']);
    const pd = receiver.received.find((x) => x.path === '/v2/enqueue' && x.body.includes('SRCH-1>CHK-1'))!;
    expect(pd.json).toMatchObject({ event_action: 'trigger', dedup_key: `ptel-stall/jira:SRCH-1>CHK-1/${later}` });
    const episodes = await readAlerts(store, { linkKey: 'jira:SRCH-1>CHK-1' });
    expect(episodes.map((a) => a.status)).toEqual(['resolved', 'notified']);
  });

  it('records a delivery that cannot leave because its secret is unset, and heals the state of an interrupted run', async () => {
    const { alerts } = scenarioAlertsConfig(receiver);
    const notifiers = createNotifiers(alerts, { env: {}, retry: { attempts: 1 } });
    const other = await testStore();
    try {
      await seedStallScenario(other);
      const base = configSchema.parse({});
      const r = await runStallAlerts({ store: other, config: { ...base, alerts }, notifiers, now: new Date(SCENARIO_T0) });
      expect(r.deliveries.every((d) => !d.ok)).toBe(true);
      expect(r.deliveries.find((d) => d.channel === 'checkout-slack')!.error).toBe(
        "channel 'checkout-slack': TEST_SLACK_URL is not set; it must hold the incoming webhook URL",
      );
      expect(receiver.received).toEqual([]);
      const failed = await queryRows<{ n: string }>(other, "SELECT count() AS n FROM alert_notifications WHERE status = 'failed'");
      expect(Number(failed[0]!.n)).toBe(r.deliveries.length);
      // A run that delivered and recorded a message but stopped before the alert's state was written: the
      // next run takes the state from the record, and does not send that message again.
      const alert = (await readAlerts(other, { linkKey: 'jira:CHK-2>CHK-3' }))[0]!;
      expect(alert.status).toBe('opened');
      await insertTables(other, {
        alert_notifications: [
          {
            link_key: alert.linkKey,
            opened_at: new Date(alert.openedAt).toISOString(),
            channel: 'checkout-slack',
            channel_type: 'slack',
            kind: 'opened',
            delivery_id: 'd-1',
            sent_at: new Date(SCENARIO_T0 + 60_000).toISOString(),
            status: 'sent',
            http_status: 200,
            error: '',
          },
        ],
      });
      const next = await runStallAlerts({ store: other, config: { ...base, alerts }, notifiers, now: new Date(SCENARIO_T0 + 3_600_000) });
      expect(next.deliveries.filter((d) => d.linkKey === alert.linkKey)).toEqual([]);
      expect((await readAlerts(other, { linkKey: 'jira:CHK-2>CHK-3' }))[0]).toMatchObject({
        status: 'notified',
        notifications: 1,
        notifiedAt: SCENARIO_T0 + 60_000,
        lastNotifiedAt: SCENARIO_T0 + 60_000,
      });
    } finally {
      await other.close();
    }
  });
});

/*
 * A Jira link type of the site's own, 'Depends' (the product's kind 'other'), between two items idle since
 * Monday 03-02: by Friday 03-20 the blocker DEP-1 has been idle 13 business days. It blocks only where
 * model.workItems.blockingLinkTypes names it.
 */
describe('stall alerts follow the configured blocking link types', () => {
  let store: Store;
  const depends = blocksLinkRow('DEP-1', 'DEP-2', '2026-03-02T10:00:00.000Z', { link_type: 'other', raw_type: 'Depends' });
  const configWith = (blockingLinkTypes?: string[]) => {
    const base = configSchema.parse(blockingLinkTypes === undefined ? {} : { model: { workItems: { blockingLinkTypes } } });
    return { model: base.model, metrics: base.metrics, alerts: base.alerts };
  };
  const run = (blockingLinkTypes: string[] | undefined, at: number) =>
    runStallAlerts({ store, config: configWith(blockingLinkTypes), notifiers: new Map(), now: new Date(at) });

  beforeAll(async () => {
    store = await testStore();
    await insertTables(store, { work_items: [item('DEP-1', 'search'), item('DEP-2', 'checkout')], work_item_links: [depends] });
  });
  afterAll(() => store.close());

  it('opens no alert for the link under the default types, one once its type is configured as blocking, and says why it ends', async () => {
    expect(configWith().model.workItems.blockingLinkTypes).toEqual(['blocks']);
    const byDefault = await run(undefined, SCENARIO_T0);
    expect([byDefault.stalled, byDefault.opened]).toEqual([0, []]);
    expect(await readAlerts(store)).toEqual([]);

    const custom = await run(['Depends'], SCENARIO_T0 + HOUR);
    expect(custom.stalled).toBe(1);
    expect(custom.opened.map((a) => [a.linkKey, a.blockerTeam, a.blockedTeam, a.crossTeam, a.daysStalled])).toEqual([
      ['jira:DEP-1>DEP-2', 'search', 'checkout', true, 13],
    ]);

    // The blocker moves: the stall ends, and the link of that type is still there, so it was not removed.
    await insertTables(store, { work_items: [item('DEP-1', 'search', { updated_at: '2026-03-20T09:30:00.000Z', version: 2 })] });
    const r = await run(['Depends'], SCENARIO_T0 + 2 * HOUR);
    expect(r.resolved.map((a) => [a.linkKey, a.resolution])).toEqual([
      ['jira:DEP-1>DEP-2', 'no longer stalled: DEP-1 was updated or the due dates changed'],
    ]);
  });
});
