import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../infra/config/schema.js';
import { ALERT_ENV, scenarioAlertsConfig, startAlertReceiver, type AlertReceiver } from '../../test/support/alerts.js';
import { ManualClock } from '../../test/support/clock.js';
import { observedStore, queryRows, tempDir } from '../../test/support/harness.js';
import { scenarioReport, statusScenario, type StatusScenario } from '../../test/support/status-report.js';
import { createNotifiers, signature, type Notifier } from '../alerts/channels.js';
import { programChannels } from '../alerts/routing.js';
import {
  deliverStatusReports,
  dueWeek,
  MAX_FAILED_ATTEMPTS,
  PORTFOLIO_FOLDER,
  reportFolder,
  STATUS_EVENT,
  type DeliveryResult,
  type DeliverySettings,
} from './delivery.js';
import { statusMarkdown } from './markdown.js';
import { portfolioReport } from './portfolio.js';
import { statusReport, type StatusReport } from './status.js';
import { reportWeek } from './week.js';

/**
 * The weekly status reports on schedule, on the real engine with the hand-built scenario (programs
 * payments and growth) and a real HTTP receiver: payments' report goes to the Slack channel its team's
 * route names, growth's (no route) to the default signed webhook, none to PagerDuty; each once per week
 * and channel, a failed channel again on the next run, all of them again on a resend.
 */
let s: StatusScenario;
let receiver: AlertReceiver;
let config: DeliverySettings;
let notifiers: Map<string, Notifier>;
const clock = new ManualClock('2026-11-02T08:05:00Z');

beforeAll(async () => {
  s = await statusScenario();
  receiver = await startAlertReceiver();
  const { alerts, env } = scenarioAlertsConfig(receiver);
  const base = configSchema.parse({ dataDir: tempDir('ptel-reports-') });
  config = { ...base, ...s.config, alerts, configPath: undefined };
  // One attempt per run: a failed channel is tried again by the next run, not by waiting here.
  notifiers = createNotifiers(alerts, { env, clock, retry: { attempts: 1 } });
}, 60_000);

afterAll(async () => {
  await receiver?.close();
  await s?.store.close();
});

const deliver = (options: { resend?: boolean; programs?: string[] } = {}): Promise<DeliveryResult> =>
  deliverStatusReports({ store: s.store, config, notifiers, clock, ...options });

const bodies = (p: string): Array<Record<string, unknown>> => receiver.received.filter((r) => r.path === p).map((r) => r.json);

describe('the weekly status reports on schedule', () => {
  it('owes the last whole week before the latest firing of the cron, in the time zone', () => {
    const tz = { ...config, metrics: { ...config.metrics, timeZone: 'Europe/Berlin' } };
    // Monday 08:00 in Berlin is 07:00 UTC in winter: at 07:30 UTC W45 has fallen due, at 06:59 W44 still is.
    expect(dueWeek(tz, new Date('2026-11-09T07:30:00Z')).week.id).toBe('2026-W45');
    expect(dueWeek(tz, new Date('2026-11-09T06:59:00Z')).week.id).toBe('2026-W44');
    expect(dueWeek(tz, new Date('2026-11-09T07:00:00Z')).dueAt.toISOString()).toBe('2026-11-09T07:00:00.000Z');
    const friday = { ...config, reports: { status: { ...config.reports.status, cron: '0 16 * * 5' } } };
    expect(dueWeek(friday, new Date('2026-11-06T16:00:00Z')).week.id).toBe('2026-W44');
  });

  it('routes a report by program and team, never to PagerDuty', () => {
    expect(programChannels('payments', ['checkout', 'ledger'], config.alerts)).toEqual(['checkout-slack']);
    expect(programChannels('growth', ['web'], config.alerts)).toEqual(['audit']);
    const named = {
      ...config.alerts,
      routes: [{ teams: [], programs: ['growth'], side: 'both' as const, crossTeamOnly: false, channels: ['pager', 'audit'] }],
    };
    expect(programChannels('growth', ['web'], named)).toEqual(['audit']);
    expect(programChannels('payments', ['checkout'], named)).toEqual(['audit']);
  });

  it('writes each program once and sends it to its routed channels, the webhook signed', { timeout: 120_000 }, async () => {
    receiver.failing.add('/hook');
    const first = await deliver();
    expect(first.week).toBe('2026-W44');
    expect(first.dueAt).toBe('2026-11-02T08:00:00Z');
    const payments = first.scopes.find((x) => x.scope === 'payments')!;
    expect(payments.outcomes.map((o) => [o.target, o.type, o.ok])).toEqual([
      ['files', 'files', true],
      ['checkout-slack', 'slack', true],
    ]);
    const growth = first.scopes.find((x) => x.scope === 'growth')!;
    expect(growth.outcomes.map((o) => [o.target, o.ok])).toEqual([
      ['files', true],
      ['audit', false],
    ]);
    expect(growth.outcomes[1]!.error).toMatch(/503/);

    // The files are the report of the week as of its end, whenever the run is.
    const dir = reportFolder(config, '2026-W44', 'payments');
    expect(dir).toBe(path.join(config.dataDir, 'exports', 'status', '2026-W44', 'payments'));
    const expected: StatusReport = await scenarioReport(s, 'payments');
    expect(readFileSync(path.join(dir, 'report.md'), 'utf8')).toBe(statusMarkdown(expected));
    expect(JSON.parse(readFileSync(path.join(dir, 'report.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(readFileSync(path.join(dir, 'report.html'), 'utf8')).toMatch(/^<!DOCTYPE html>/i);
    const slackFile = JSON.parse(readFileSync(path.join(dir, 'slack.json'), 'utf8')) as { blocks: unknown[] };
    const [slack] = bodies('/slack');
    expect(slack).toEqual(slackFile);
    expect(slack!['text']).toContain('Payments status, week 2026-W44');
    expect(existsSync(path.join(reportFolder(config, '2026-W44', 'growth'), 'report.md'))).toBe(true);
    expect(receiver.received.filter((r) => r.path === '/v2/enqueue')).toEqual([]);

    // The webhook that failed is tried again by the next run; nothing else is sent again.
    receiver.failing.delete('/hook');
    await clock.advance(15 * 60_000);
    const second = await deliver();
    expect(second.scopes.find((x) => x.scope === 'payments')!.outcomes).toEqual([]);
    expect(second.scopes.find((x) => x.scope === 'payments')!.skipped).toEqual([
      { target: 'files', why: 'sent' },
      { target: 'checkout-slack', why: 'sent' },
    ]);
    expect(second.scopes.find((x) => x.scope === 'growth')!.outcomes.map((o) => [o.target, o.ok])).toEqual([['audit', true]]);
    const hook = receiver.received.filter((r) => r.path === '/hook');
    expect(hook).toHaveLength(1);
    const h = hook[0]!;
    expect(h.headers['x-ptel-event']).toBe(STATUS_EVENT);
    expect(h.headers['x-ptel-signature']).toBe(signature(ALERT_ENV.TEST_HOOK_SECRET, String(h.headers['x-ptel-timestamp']), h.body));
    expect(h.json['delivery_id']).toBe(h.headers['x-ptel-delivery']);
    expect(h.json).toMatchObject({ event: STATUS_EVENT, program: { id: 'growth', name: 'Growth' }, week: { id: '2026-W44' } });
    expect((h.json['report'] as StatusReport).program.id).toBe('growth');
    expect(h.json['markdown']).toBe(readFileSync(path.join(reportFolder(config, '2026-W44', 'growth'), 'report.md'), 'utf8'));
    expect(String(h.json['html'])).not.toMatch(/<(link|script|img)\b|url\(/i);
    // The portfolio of every program is written beside them; no portfolio channel is configured.
    expect(first.scopes.find((x) => x.report === 'portfolio')!.outcomes.map((o) => o.target)).toEqual(['files']);
    expect(readFileSync(path.join(reportFolder(config, '2026-W44', PORTFOLIO_FOLDER), 'report.md'), 'utf8')).toMatch(/^# Portfolio/);

    // A third run finds nothing owed.
    const before = receiver.received.length;
    const third = await deliver();
    expect(third.scopes.every((x) => x.outcomes.length === 0)).toBe(true);
    expect(receiver.received.length).toBe(before);

    const recorded = await queryRows<{ scope: string; target: string; status: string; n: string }>(
      s.store,
      `SELECT scope, target, status, count() AS n FROM report_deliveries WHERE week = '2026-W44' GROUP BY scope, target, status ORDER BY scope, target, status`,
    );
    expect(recorded.map((r) => `${r.scope} ${r.target} ${r.status} ${r.n}`)).toEqual([
      ' files sent 1',
      'growth audit failed 1',
      'growth audit sent 1',
      'growth files sent 1',
      'payments checkout-slack sent 1',
      'payments files sent 1',
    ]);
  });

  it('sends again on a resend, with a new delivery id, and only the programs asked for', async () => {
    const firstId = receiver.received.find((r) => r.path === '/hook')!.headers['x-ptel-delivery'];
    const resent = await deliver({ resend: true, programs: ['growth'] });
    expect(resent.scopes.map((x) => x.scope)).toEqual(['growth']);
    expect(resent.scopes[0]!.outcomes.map((o) => [o.target, o.ok])).toEqual([
      ['files', true],
      ['audit', true],
    ]);
    const hook = receiver.received.filter((r) => r.path === '/hook');
    expect(hook).toHaveLength(2);
    expect(hook[1]!.headers['x-ptel-delivery']).not.toBe(firstId);
    const flagged = await queryRows<{ n: string }>(s.store, `SELECT count() AS n FROM report_deliveries WHERE resend = 1`);
    expect(Number(flagged[0]!.n)).toBe(2);
  });

  it('makes each program report once in a run, for its own delivery and for the portfolio', async () => {
    // Every read the reports make goes through client.query: count them on a store that wraps the real one.
    let reads = 0;
    const counted = observedStore(s.store, (call) => {
      if (call.method === 'query') reads++;
    });
    const week = reportWeek('2026-10-26', 'UTC');
    const readsOf = async (run: () => Promise<unknown>): Promise<number> => {
      reads = 0;
      await run();
      return reads;
    };
    const oneProgram = await readsOf(() => statusReport({ store: counted, config, program: 'payments', week, until: clock.date() }));
    const portfolioAlone = await readsOf(() => portfolioReport({ store: counted, config, week, until: clock.date() }));
    const everything = await readsOf(() =>
      deliverStatusReports({ store: counted, config, notifiers: new Map(), clock, week, resend: true }),
    );
    expect(oneProgram).toBeGreaterThan(0);
    // The portfolio alone makes both programs' reports; a delivery of both and the portfolio adds only
    // the delivery history to that, not two more reports.
    expect(everything).toBeLessThan(portfolioAlone + oneProgram);
    expect(everything - portfolioAlone).toBeLessThanOrEqual(2);
  }, 120_000);

  it('gives up on a channel after the failed attempts allowed, until a resend', async () => {
    const week = reportWeek('2026-10-19', 'UTC');
    const rows = Array.from({ length: MAX_FAILED_ATTEMPTS }, (_, i) => ({
      report: 'status',
      scope: 'growth',
      week: week.id,
      target: 'audit',
      target_type: 'webhook',
      delivery_id: 'x',
      sent_at: `2026-10-26 08:${String(i).padStart(2, '0')}:00.000`,
      status: 'failed',
      http_status: 503,
      resend: 0,
      error: 'unavailable',
    }));
    await s.store.client.insert({ table: 'report_deliveries', values: rows, format: 'JSONEachRow' });
    const r = await deliverStatusReports({ store: s.store, config, notifiers, clock, week, programs: ['growth'] });
    expect(r.scopes[0]!.skipped).toEqual([{ target: 'audit', why: 'gave_up' }]);
    expect(r.scopes[0]!.outcomes.map((o) => o.target)).toEqual(['files']);
  }, 60_000);

  it('owes the next week once the cron fires again, and says which configured programs do not exist', async () => {
    const count = receiver.received.length;
    await clock.set('2026-11-09T07:59:00Z');
    expect((await deliver()).scopes.every((x) => x.outcomes.length === 0)).toBe(true);
    await clock.set('2026-11-09T08:00:00Z');
    config = { ...config, reports: { status: { ...config.reports.status, programs: ['payments', 'nope'], portfolioChannels: ['audit'] } } };
    const next = await deliver();
    expect(next.week).toBe('2026-W45');
    expect(next.unknownPrograms).toEqual(['nope']);
    expect(next.scopes.map((x) => [x.report, x.scope, x.outcomes.map((o) => o.target)])).toEqual([
      ['status', 'payments', ['files', 'checkout-slack']],
      ['portfolio', '', ['files', 'audit']],
    ]);
    expect(receiver.received.length).toBe(count + 2);
    const portfolio = receiver.received[receiver.received.length - 1]!;
    expect(portfolio.headers['x-ptel-event']).toBe('portfolio_report.weekly');
    expect(portfolio.json).toMatchObject({ event: 'portfolio_report.weekly', week: { id: '2026-W45' } });
    expect(String(portfolio.json['markdown'])).toMatch(/^# Portfolio status, week 2026-W45/);
  }, 120_000);
});
