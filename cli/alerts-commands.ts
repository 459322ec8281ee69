import { stallAlertsNow } from '../app/jobs.js';
import { systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import { createNotifiers } from '../workers/alerts/channels.js';
import { dedupKeyOf, readAlerts, type StallAlertsResult } from '../workers/alerts/stalls.js';
import { newAlert, type StallAlert } from '../workers/alerts/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant, printTable } from './output.js';

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel alerts: ${message}\n`);
  return 2;
}

const day = (ms: number | null): string => (ms === null ? '' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '));

function printAlerts(ctx: CommandContext, alerts: StallAlert[], json: boolean): void {
  if (json) {
    for (const a of alerts) ctx.out.write(`${JSON.stringify(a)}\n`);
    return;
  }
  printTable(
    ctx.out,
    ['status', 'blocker', 'blocked', 'teams', 'days', 'opened', 'told', 'resolved', 'why'],
    alerts.map((a) => [
      a.status,
      a.blocker,
      a.blocked,
      `${a.blockerTeam || '-'} -> ${a.blockedTeam || '-'}${a.crossTeam ? ' (cross-team)' : ''}`,
      a.daysStalled,
      day(a.openedAt),
      a.notifications,
      day(a.resolvedAt),
      a.status === 'resolved' ? a.resolution : a.reason,
    ]),
  );
}

/** Prints what a detector run opened, resolved and delivered. */
export function printStallRun(out: NodeJS.WritableStream, r: StallAlertsResult, config: Pick<Config, 'alerts'>): void {
  const failed = r.deliveries.filter((d) => !d.ok);
  out.write(
    `stall alerts: ${r.stalled} blocking link(s) stalled now; ${r.opened.length} opened, ${r.resolved.length} resolved; ` +
      `${r.deliveries.length - failed.length} message(s) sent${failed.length > 0 ? `, ${failed.length} failed` : ''}` +
      `${Object.keys(config.alerts.channels).length === 0 ? ' (no alert channel is configured)' : ''}\n`,
  );
  for (const f of failed) out.write(`  FAILED ${f.kind} ${f.linkKey} to ${f.channel}: ${f.error}\n`);
}

export const ALERTS_COMMANDS: Record<string, Command> = {
  alerts: {
    summary: 'dependency-stall alerts: list them, run the detector now, or send a test message to the channels',
    usage: [
      'usage: ptel alerts [list] [--all] [--as-of INSTANT] [--format table|json]',
      '                                                          the open stall alerts (--all: resolved ones too;',
      '                                                          --as-of: as the store held them then)',
      '       ptel alerts run                                    detect stalls and deliver what is owed, now',
      '       ptel alerts test [CHANNEL ...]                     send a test message to every (or the named) channel',
      'The detector runs on schedule in `run` and `connect` (alerts.stalls.intervalMinutes); docs/alerts.md explains',
      'the channels, the routes and the lifecycle (opened, notified, renotified, resolved).',
    ].join('\n'),
    options: { all: { type: 'boolean' }, format: { type: 'string' }, 'as-of': { type: 'string' } },
    positionals: true,
    run(ctx) {
      const sub = ctx.positionals[0] ?? 'list';
      const format = typeof ctx.values['format'] === 'string' ? ctx.values['format'] : 'table';
      if (format !== 'table' && format !== 'json') return Promise.resolve(fail(ctx, `--format '${format}': expected table or json`));
      switch (sub) {
        case 'list': {
          const asOf = parseInstant(ctx, 'as-of', 'ptel alerts');
          if (asOf === null) return Promise.resolve(2);
          return withStore(ctx.config, async (rt) => {
            const alerts = await readAlerts(rt.store, {
              ...(ctx.values['all'] === true ? {} : { status: 'open' as const }),
              ...(asOf !== undefined ? { asOf } : {}),
            });
            printAlerts(ctx, alerts, format === 'json');
            return 0;
          });
        }
        case 'run':
          return withStore(ctx.config, async (rt) => {
            const r = await stallAlertsNow(rt);
            printStallRun(ctx.out, r, ctx.config);
            return r.deliveries.some((d) => !d.ok) ? 1 : 0;
          });
        case 'test':
          return sendTest(ctx);
        default:
          return Promise.resolve(fail(ctx, `unknown subcommand '${sub}'; use list, run or test`));
      }
    },
  },
};

/** A made-up stall sent to each channel, so a user can see the routing and the secrets work. */
async function sendTest(ctx: CommandContext): Promise<number> {
  const notifiers = createNotifiers(ctx.config.alerts);
  const wanted = ctx.positionals.slice(1);
  if (notifiers.size === 0) return fail(ctx, 'no channel is configured; add alerts.channels (see docs/alerts.md)');
  const unknown = wanted.filter((w) => !notifiers.has(w));
  if (unknown.length > 0)
    return fail(ctx, `no channel ${unknown.map((u) => `'${u}'`).join(', ')}; configured: ${[...notifiers.keys()].join(', ')}`);
  const now = systemClock.now();
  const alert = newAlert(
    'test:EXAMPLE-1>EXAMPLE-2',
    {
      source: 'jira',
      blocker: 'EXAMPLE-1',
      blocked: 'EXAMPLE-2',
      blockerTeam: 'platform',
      blockedTeam: 'checkout',
      program: 'payments',
      crossTeam: true,
      daysStalled: 6,
      thresholdDays: 5,
      blockerLastActivity: now - 8 * 86_400_000,
      reason: 'idle 6 business days (threshold 5); this is a test message',
      lastSeenAt: now,
    },
    now,
  );
  let failed = 0;
  for (const [id, n] of notifiers) {
    if (wanted.length > 0 && !wanted.includes(id)) continue;
    try {
      const message = {
        kind: 'test' as const,
        alert,
        deliveryId: `test-${now}`,
        dedupKey: dedupKeyOf(alert),
        sentAt: new Date(now),
        links: {},
      };
      const status = await n.send(message);
      // PagerDuty opened an incident for the test: resolve it at once.
      if (n.type === 'pagerduty') await n.send({ ...message, kind: 'resolved', alert: { ...alert, resolution: 'test finished' } });
      ctx.out.write(`${id} (${n.type}): ok, HTTP ${status}\n`);
    } catch (err) {
      failed++;
      ctx.out.write(`${id} (${n.type}): FAILED: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}
