import { stallAlertsNow } from '../app/jobs.js';
import { systemClock } from '../infra/clock.js';
import type { Config } from '../infra/config/schema.js';
import { createNotifiers } from '../workers/alerts/channels.js';
import { dedupKeyOf, listStalls, type StallAlertsResult, type StallListing } from '../workers/alerts/stalls.js';
import { newAlert } from '../workers/alerts/types.js';
import { withStore, type Command, type CommandContext } from './command.js';
import { parseInstant, printTable } from './output.js';

function fail(ctx: CommandContext, message: string): number {
  ctx.err.write(`ptel alerts: ${message}\n`);
  return 2;
}

/** Longest cell of each column of the alerts table; with the blocker's URL a row stays within about 160 characters. */
const WIDTH = { item: 26, owner: 10, program: 10, milestoneName: 11 };

/** `s` cut to `n` characters, an ellipsis marking the cut. */
export const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const itemCell = (key: string, title: string | null): string => clip(title !== null && title !== '' ? `${key} ${title}` : key, WIDTH.item);

const ownerCell = (owner: string | null): string => (owner === null ? '-' : clip(owner, WIDTH.owner));

function milestoneCell(m: StallListing['milestone']): string {
  if (m === null) return '-';
  return `${clip(m.name, WIDTH.milestoneName)} ${m.committedDate ?? 'no date'}`;
}

/** Days as the table shows them, to a tenth. */
const daysCell = (d: number): string => `${d.toFixed(1)}d`;

export type AlertsFormat = 'table' | 'json' | 'jsonl';

function printAlerts(ctx: CommandContext, stalls: StallListing[], format: AlertsFormat, withStatus: boolean): void {
  if (format === 'json') {
    ctx.out.write(`${JSON.stringify(stalls, null, 2)}\n`);
    return;
  }
  if (format === 'jsonl') {
    for (const s of stalls) ctx.out.write(`${JSON.stringify(s)}\n`);
    return;
  }
  const header = ['blocker', 'owner', 'blocked', 'owner', 'program', 'milestone', 'stalled', 'blocker url'];
  printTable(
    ctx.out,
    withStatus ? ['status', ...header] : header,
    stalls.map((s) => {
      const row = [
        itemCell(s.blocker, s.blockerTitle),
        ownerCell(s.blockerOwner),
        itemCell(s.blocked, s.blockedTitle),
        ownerCell(s.blockedOwner),
        s.program === '' ? '-' : clip(s.program, WIDTH.program),
        milestoneCell(s.milestone),
        daysCell(s.stalledDays),
        s.blockerUrl ?? '-',
      ];
      return withStatus ? [s.status, ...row] : row;
    }),
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
      'usage: ptel alerts [list] [--all] [--as-of INSTANT] [--format table|json|jsonl]',
      '       ptel alerts run',
      '       ptel alerts test [CHANNEL ...]',
      '',
      'subcommands:',
      '  list            the open stall alerts: for each, the blocker and the blocked item (key and title), their owners',
      "                  ('-' when unassigned), the program, the blocked item's milestone (fix version, sprint or epic) and",
      '                  its committed date, how long the stall has lasted since it began (the day the blocker had been',
      '                  idle its threshold of business days, or the blocker came due after the blocked item), and the',
      "                  blocker's URL",
      '  run             detect stalls and deliver what is owed to the channels, now',
      '  test [CHANNEL]  send a test message to every channel, or to the named ones',
      '',
      'options of list:',
      '  --all           resolved alerts too (their duration runs to the resolution)',
      '  --as-of INSTANT the alerts as the store held them then (ISO 8601), and their durations as of then; titles,',
      '                  owners and milestones are shown as they are now',
      '  --format F      table (the default; long titles are cut with …), json (one JSON array with every field) or',
      '                  jsonl (one JSON object per line)',
      '',
      'The detector runs on schedule in `run` and `connect` (alerts.stalls.intervalMinutes); docs/alerts.md explains',
      'the channels, the routes and the lifecycle (opened, notified, renotified, resolved).',
    ].join('\n'),
    options: { all: { type: 'boolean' }, format: { type: 'string' }, 'as-of': { type: 'string' } },
    positionals: true,
    run(ctx) {
      const sub = ctx.positionals[0] ?? 'list';
      const format = typeof ctx.values['format'] === 'string' ? ctx.values['format'] : 'table';
      if (format !== 'table' && format !== 'json' && format !== 'jsonl')
        return Promise.resolve(fail(ctx, `--format '${format}': expected table, json or jsonl`));
      switch (sub) {
        case 'list': {
          const asOf = parseInstant(ctx, 'as-of', 'ptel alerts');
          if (asOf === null) return Promise.resolve(2);
          return withStore(ctx.config, async (rt) => {
            const all = ctx.values['all'] === true;
            const stalls = await listStalls(
              rt.store,
              rt.config,
              { ...(all ? {} : { status: 'open' as const }), ...(asOf !== undefined ? { asOf } : {}) },
              rt.clock.now(),
            );
            printAlerts(ctx, stalls, format, all);
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
        about: {
          blockerTitle: 'Example: rotate the payment gateway keys',
          blockerOwner: 'someone',
          blockerUrl: null,
          blockedTitle: 'Example: checkout with saved cards',
          blockedOwner: null,
          blockedUrl: null,
          milestone: { id: 'version/example', kind: 'version', name: 'Example release', committedDate: null },
          beganAt: now - 86_400_000,
        },
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
