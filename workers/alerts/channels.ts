import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { event as pagerdutyEvent } from '@pagerduty/pdjs';
import { systemClock, type Clock } from '../../infra/clock.js';
import { classifyHttpFailure, withRetries, type RetryOptions } from '../../infra/http-retry.js';
import { channelSecretOf, type AlertsConfig, type ChannelConfig } from '../../infra/config/schema.js';
import { alertRecord, type AlertMessage, type StallAlert } from './types.js';

export type ChannelType = ChannelConfig['type'];

/** A channel ready to send: its secret resolved, its transport built. */
export interface Notifier {
  readonly id: string;
  readonly type: ChannelType;
  /** Sends one message; resolves with the HTTP status of the accepted delivery, throws a SourceError otherwise. */
  send(message: AlertMessage): Promise<number>;
  /**
   * Sends a report: a Slack channel posts its message, a webhook its signed JSON body. A PagerDuty
   * channel pages people about incidents and takes no report: the promise rejects and says so.
   */
  sendReport(report: ReportMessage): Promise<number>;
}

/** A report as the channels take it (the weekly status, the portfolio view). */
export interface ReportMessage {
  /** The webhook's event name (X-Ptel-Event), e.g. 'status_report.weekly'. */
  event: string;
  /** Stable for one report to one channel: a retry after a failure carries the same id. */
  deliveryId: string;
  /** What a Slack channel posts. */
  slack: { text: string; blocks: unknown[] };
  /** What a webhook channel POSTs, signed. */
  body: Record<string, unknown>;
}

export interface NotifierOptions {
  /** Each channel's secret by channel id, as loaded and checked with the configuration (`config.secrets.alertChannels`). */
  secrets?: Readonly<Record<string, string>>;
  /** Where a channel's secret is read from when `secrets` lacks it (default: the process environment). */
  env?: NodeJS.ProcessEnv;
  retry?: RetryOptions;
  /** When each attempt leaves (a signed webhook's timestamp) and whose timers the retries wait on (default: the wall clock). */
  clock?: Clock;
}

/** A channel whose secret is missing: every send fails and says which variable to set. */
class MissingSecret extends Error {}

/**
 * The notifiers of every configured channel, each with its secret resolved now. Configuration loading
 * already refuses a channel whose variable is unset; one built around that check (an alerts section
 * parsed on its own) still gets a notifier, whose deliveries fail with an error naming the variable
 * and are recorded like any failure.
 */
export function createNotifiers(config: AlertsConfig, options: NotifierOptions = {}): Map<string, Notifier> {
  const env = options.env ?? process.env;
  const ca = config.caFile !== undefined ? readFileSync(config.caFile) : undefined;
  const agent = ca !== undefined ? new Agent({ ca, keepAlive: false }) : undefined;
  const out = new Map<string, Notifier>();
  for (const [id, channel] of Object.entries(config.channels)) {
    const secret = options.secrets?.[id] ?? secretOf(env, channel, id);
    out.set(
      id,
      createNotifier(id, channel, secret, {
        agent,
        timeoutMs: config.timeoutMs,
        retry: options.retry,
        clock: options.clock ?? systemClock,
      }),
    );
  }
  return out;
}

interface Transport {
  agent: Agent | undefined;
  timeoutMs: number;
  retry: RetryOptions | undefined;
  clock: Clock;
}

/** A channel's secret from its variable, or the error every one of its deliveries fails with. */
function secretOf(env: NodeJS.ProcessEnv, channel: ChannelConfig, id: string): string | MissingSecret {
  const { variable, what } = channelSecretOf(channel);
  const v = env[variable];
  if (v === undefined || v.trim() === '') return new MissingSecret(`channel '${id}': ${variable} is not set; it must hold the ${what}`);
  return v.trim();
}

function createNotifier(id: string, channel: ChannelConfig, resolved: string | MissingSecret, t: Transport): Notifier {
  const retried = (fn: () => Promise<number>): Promise<number> =>
    withRetries(fn, { attempts: 3, maxRateLimitWaitMs: 30_000, clock: t.clock, ...t.retry });
  const secret = (): string => {
    if (resolved instanceof MissingSecret) throw resolved;
    return resolved;
  };
  /** POSTs a body to the webhook, signed per attempt: the timestamp says when this attempt left. */
  const signed = (url: string, event: string, deliveryId: string, body: string): Promise<number> => {
    const key = secret();
    return retried(() => {
      const timestamp = String(Math.floor(t.clock.now() / 1000));
      const headers = {
        'x-ptel-event': event,
        'x-ptel-delivery': deliveryId,
        'x-ptel-timestamp': timestamp,
        'x-ptel-signature': signature(key, timestamp, body),
      };
      return postJson(url, body, headers, t, `channel '${id}' (webhook)`);
    });
  };
  switch (channel.type) {
    case 'slack': {
      const post = (body: unknown): Promise<number> => {
        const url = secret();
        const text = JSON.stringify(body);
        return retried(() => postJson(url, text, {}, t, `channel '${id}' (slack)`));
      };
      return { id, type: channel.type, send: (m) => post(slackBody(m)), sendReport: (r) => post(r.slack) };
    }
    case 'webhook':
      return {
        id,
        type: channel.type,
        send: (m) => signed(channel.url, `stall.${m.kind}`, m.deliveryId, JSON.stringify(webhookBody(m))),
        sendReport: (r) => signed(channel.url, r.event, r.deliveryId, JSON.stringify(r.body)),
      };
    case 'pagerduty':
      return {
        id,
        type: channel.type,
        send: (m) => {
          const routingKey = secret();
          return retried(() => sendPagerduty(channel.server, routingKey, channel.severity, m, t, `channel '${id}' (pagerduty)`));
        },
        sendReport: (r) =>
          Promise.reject(new Error(`channel '${id}' is a PagerDuty channel, which takes alerts, not reports (${r.event} not sent)`)),
      };
  }
}

/** X-Ptel-Signature: "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>" under the channel's secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** POSTs a JSON body; resolves with the status of a 2xx answer, throws a classified SourceError otherwise. */
function postJson(url: string, body: string, headers: Record<string, string>, t: Transport, what: string): Promise<number> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<number>((resolve, reject) => {
    const req = request(
      u,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'ptel-alerts',
          ...headers,
        },
        ...(u.protocol === 'https:' && t.agent !== undefined ? { agent: t.agent } : {}),
        timeout: t.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => {
          if (chunks.length < 16) chunks.push(c);
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(status);
          else
            reject(
              classifyHttpFailure(
                status,
                res.headers,
                `POST to ${what}`,
                Buffer.concat(chunks).toString('utf8').slice(0, 300).trim(),
                t.clock.now(),
              ),
            );
        });
        res.on('error', (err) => reject(classifyHttpFailure(undefined, undefined, `POST to ${what}`, err.message)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${t.timeoutMs} ms`)));
    req.on('error', (err) => reject(classifyHttpFailure(undefined, undefined, `POST to ${what}`, err.message)));
    req.end(body);
  });
}

/** Trigger (opened, renotified, test) or resolve through the Events API v2, with the alert's dedup key. */
async function sendPagerduty(
  server: string,
  routingKey: string,
  severity: 'critical' | 'error' | 'warning' | 'info',
  m: AlertMessage,
  t: Transport,
  what: string,
): Promise<number> {
  const a = m.alert;
  const links = Object.entries(m.links)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([name, href]) => ({
      href,
      text: name === 'dashboard' ? 'Dependencies dashboard' : `${name} ${name === 'blocker' ? a.blocker : a.blocked}`,
    }));
  let response: Awaited<ReturnType<typeof pagerdutyEvent>>;
  try {
    response = await pagerdutyEvent({
      server,
      // pdjs hands these to its fetch (node-fetch), which honours an https agent
      ...(t.agent !== undefined ? { agent: t.agent } : {}),
      signal: AbortSignal.timeout(t.timeoutMs),
      // pdjs waits this long between its own 429 retries
      retryTimeout: 1_000,
      data: {
        routing_key: routingKey,
        event_action: m.kind === 'resolved' ? 'resolve' : 'trigger',
        dedup_key: m.dedupKey,
        payload: {
          summary: truncate(headline(m), 1024),
          source: 'ptel',
          severity,
          timestamp: m.sentAt.toISOString(),
          component: a.blocker,
          group: a.blockedTeam !== '' ? a.blockedTeam : a.program,
          class: 'dependency stall',
          custom_details: { ...alertDetails(a), ...aboutDetails(m) },
        },
        links,
      },
    });
  } catch (err) {
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) : undefined;
    throw classifyHttpFailure(status, undefined, `POST to ${what}`, err instanceof Error ? err.message : String(err));
  }
  if (response.status >= 200 && response.status < 300) return response.status;
  const data = response.data as { message?: unknown; errors?: unknown } | undefined;
  const detail = [data?.message, Array.isArray(data?.errors) ? data.errors.join('; ') : undefined]
    .filter((x) => typeof x === 'string')
    .join(': ');
  throw classifyHttpFailure(response.status, response.headers, `POST to ${what}`, detail, t.clock.now());
}

const truncate = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const team = (t: string): string => (t === '' ? 'no team' : `team ${t}`);

/** One line that says what happened, for a chat line, a PagerDuty summary or an e-mail subject. */
export function headline(m: AlertMessage): string {
  const a = m.alert;
  const pair = `${a.blocker} (${team(a.blockerTeam)}) blocks ${a.blocked} (${team(a.blockedTeam)})`;
  switch (m.kind) {
    case 'opened':
      return `${a.crossTeam ? 'Cross-team dependency stalled' : 'Dependency stalled'}: ${pair}, idle ${a.daysStalled} business days`;
    case 'renotified':
      return `Still stalled: ${pair}, idle ${a.daysStalled} business days, open since ${day(a.openedAt)}`;
    case 'resolved':
      return `Stall resolved: ${a.blocker} blocks ${a.blocked}: ${a.resolution !== '' ? a.resolution : 'no longer stalled'}`;
    case 'test':
      return `Test message from ptel: stall alerts reach this channel (example: ${pair})`;
  }
}

const day = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** The alert's facts, as the generic webhook and PagerDuty's custom details carry them (no bookkeeping). */
export function alertDetails(a: StallAlert): Record<string, unknown> {
  const { last_seen_at: _seen, notified_at: _first, last_notified_at: _last, notifications: _count, ...facts } = alertRecord(a);
  return facts;
}

/** What the stall is about, as the generic webhook and PagerDuty's custom details carry it (nothing when unknown). */
export function aboutDetails(m: AlertMessage): Record<string, unknown> {
  const x = m.about;
  if (x === undefined) return {};
  return {
    blocker_title: x.blockerTitle,
    blocker_owner: x.blockerOwner,
    blocked_title: x.blockedTitle,
    blocked_owner: x.blockedOwner,
    milestone:
      x.milestone === null
        ? null
        : { id: x.milestone.id, kind: x.milestone.kind, name: x.milestone.name, committed_date: x.milestone.committedDate },
    stall_began_at: new Date(x.beganAt).toISOString(),
  };
}

/** A milestone in a line of text: its name and committed date. */
export const milestoneText = (m: NonNullable<NonNullable<AlertMessage['about']>['milestone']>): string =>
  `${m.name} (${m.committedDate !== null ? `due ${m.committedDate}` : 'no date'})`;

/** The generic webhook's JSON body (docs/alerts.md). */
export function webhookBody(m: AlertMessage): Record<string, unknown> {
  return {
    event: `stall.${m.kind}`,
    delivery_id: m.deliveryId,
    sent_at: m.sentAt.toISOString(),
    summary: headline(m),
    alert: { ...alertDetails(m.alert), ...aboutDetails(m), links: m.links },
  };
}

/** Slack mrkdwn needs &, < and > escaped; everything else is text. */
export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const linked = (key: string, url: string | undefined): string => (url === undefined ? esc(key) : `<${url}|${esc(key)}>`);

/** A Slack-compatible incoming-webhook body: `text` for every client, blocks for Slack's layout. */
export function slackBody(m: AlertMessage): { text: string; blocks: unknown[] } {
  const a = m.alert;
  const icon = m.kind === 'resolved' ? ':white_check_mark:' : m.kind === 'test' ? ':information_source:' : ':warning:';
  const lines = [
    `${icon} *${esc(headline(m))}*`,
    `${linked(a.blocker, m.links.blocker)} (${esc(team(a.blockerTeam))}) blocks ${linked(a.blocked, m.links.blocked)} (${esc(team(a.blockedTeam))})` +
      (a.program !== '' ? `, program ${esc(a.program)}` : ''),
  ];
  const x = m.about;
  if (x !== undefined) {
    const item = (key: string, title: string | null, owner: string | null): string =>
      `${esc(key)}: ${title !== null && title !== '' ? esc(title) : '(title unknown)'} (owner ${owner !== null ? esc(owner) : 'unassigned'})`;
    lines.push(`Blocker ${item(a.blocker, x.blockerTitle, x.blockerOwner)}`, `Blocked ${item(a.blocked, x.blockedTitle, x.blockedOwner)}`);
    if (x.milestone !== null) lines.push(`Milestone: ${esc(milestoneText(x.milestone))}`);
  }
  lines.push(
    m.kind === 'resolved'
      ? `Open from ${day(x?.beganAt ?? a.openedAt)} to ${day(a.resolvedAt ?? m.sentAt.getTime())}`
      : `${x !== undefined ? `Stalled since ${day(x.beganAt)}. ` : ''}Why: ${esc(a.reason)}`,
  );
  if (m.links.dashboard !== undefined) lines.push(`<${m.links.dashboard}|Dependencies dashboard>`);
  return {
    text: lines.join('\n'),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } }],
  };
}
