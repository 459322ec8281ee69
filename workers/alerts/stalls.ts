import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../../infra/clock.js';
import { createLimiter } from '../../infra/http-retry.js';
import type { Config } from '../../infra/config/schema.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import type { Store } from '../../infra/store/client.js';
import { BLOCKING_LINKS } from '../metrics/definitions/links.js';
import { STALLS_NOW_SQL } from '../metrics/definitions/program-flow.js';
import { metricParams } from '../metrics/engine.js';
import type { MetricParams } from '../metrics/types.js';
import type { Notifier } from './channels.js';
import { aboutOf, alertKeyOf, itemReader, stallContexts, type ItemReader, type StallContext } from './context.js';
import { channelsFor, owed, type ChannelHistory } from './routing.js';
import {
  alertRecord,
  iso,
  MESSAGE_KINDS,
  newAlert,
  type StallFacts,
  type AlertMessage,
  type MessageKind,
  type StallAbout,
  type StallAlert,
} from './types.js';

/**
 * The dependency-stall detector (item 15 of docs/metrics.md) and the alerts' lifecycle. Each run:
 * 1. lists the blocking links stalled now;
 * 2. opens an alert for each one with no open alert, refreshes the open ones still stalled, and
 *    resolves the open ones no longer stalled (saying what ended them);
 * 3. sends each routed channel the message it is owed (routing.ts: opened once, renotified after the
 *    interval, resolved once), records every attempt in alert_notifications, and moves the alert's
 *    status (opened -> notified -> renotified; resolved).
 * The state is written before any message leaves, and what a channel was told is read back from
 * alert_notifications, so a rerun, a retried job or a restart never tells a channel twice; a failed
 * delivery is tried again on the next run. Runs of the job must not overlap (its schedule is exclusive).
 */

export interface StallAlertsOptions {
  store: Store;
  config: Pick<Config, 'model' | 'metrics' | 'alerts'>;
  notifiers: ReadonlyMap<string, Notifier>;
  /** The run's instant; default: the clock's now. */
  now?: Date;
  /** Where "now" comes from when `now` is not given (default: the wall clock). */
  clock?: Clock;
  logger?: Logger;
  metrics?: PipelineMetrics;
}

export interface Delivery {
  linkKey: string;
  openedAt: number;
  channel: string;
  kind: MessageKind;
  ok: boolean;
  httpStatus: number;
  error: string;
}

export interface StallAlertsResult {
  /** Links stalled now. */
  stalled: number;
  opened: StallAlert[];
  resolved: StallAlert[];
  deliveries: Delivery[];
}

/** Resolved alerts whose resolution message is still owed are looked at for this long. */
const RESOLVED_LOOKBACK_MS = 7 * 86_400_000;

type Num = number | string;

/** A link stalled now, as STALLS_NOW_SQL gives it (with the last activity in epoch ms). */
interface StallRow {
  source: string;
  blocker: string;
  blocked: string;
  blocker_team: string;
  blocked_team: string;
  program: string;
  cross_team: Num | boolean;
  days_stalled: Num;
  threshold_days: Num;
  last_activity_ms: Num;
  reason: string;
}

export const linkKeyOf = (source: string, blocker: string, blocked: string): string => `${source}:${blocker}>${blocked}`;

export async function runStallAlerts(options: StallAlertsOptions): Promise<StallAlertsResult> {
  const { store, config } = options;
  const now = options.now?.getTime() ?? (options.clock ?? systemClock).now();
  const stalls = await stalledNow(store, config, now);
  // The open alerts, and the ones resolved lately that a channel may still need to hear of.
  const known = await readAlerts(store, { status: 'open', orResolvedSince: now - RESOLVED_LOOKBACK_MS });
  const openByKey = new Map(known.filter((a) => a.status !== 'resolved').map((a) => [a.linkKey, a]));
  const items = itemReader(store);

  const opened: StallAlert[] = [];
  const changed: StallAlert[] = [];
  for (const s of stalls) {
    const key = linkKeyOf(s.source, s.blocker, s.blocked);
    const facts: StallFacts = {
      source: s.source,
      blocker: s.blocker,
      blocked: s.blocked,
      blockerTeam: s.blocker_team,
      blockedTeam: s.blocked_team,
      program: s.program,
      crossTeam: Number(s.cross_team) === 1 || s.cross_team === true,
      daysStalled: Number(s.days_stalled),
      thresholdDays: Number(s.threshold_days),
      blockerLastActivity: Number(s.last_activity_ms),
      reason: s.reason,
      lastSeenAt: now,
    };
    const current = openByKey.get(key);
    if (current === undefined) {
      const a = newAlert(key, facts, now);
      opened.push(a);
      changed.push(a);
    } else {
      openByKey.delete(key);
      changed.push({ ...current, ...facts });
    }
  }
  const gone = [...openByKey.values()];
  const endings = await resolutions(store, gone, items, metricParams(config));
  const resolved = gone.map((a): StallAlert => ({ ...a, status: 'resolved', resolvedAt: now, resolution: endings.get(a.linkKey) ?? '' }));
  changed.push(...resolved);
  await writeAlerts(store, changed, now);

  // Messages: every open alert, and the alerts resolved this run or lately.
  const candidates = [...changed, ...known.filter((a) => a.status === 'resolved')];
  const deliveries = await deliver(options, candidates, items, now);

  if (opened.length > 0 || resolved.length > 0 || deliveries.some((d) => !d.ok)) {
    options.logger?.info(
      {
        stalled: stalls.length,
        opened: opened.length,
        resolved: resolved.length,
        sent: deliveries.filter((d) => d.ok).length,
        failed: deliveries.filter((d) => !d.ok).map((d) => `${d.channel}: ${d.error}`),
      },
      'stall alerts',
    );
  }
  return { stalled: stalls.length, opened, resolved, deliveries };
}

async function stalledNow(store: Store, config: StallAlertsOptions['config'], now: number): Promise<StallRow[]> {
  const rs = await store.client.query({
    query: `SELECT *, toUnixTimestamp64Milli(blocker_last_activity) AS last_activity_ms FROM (${STALLS_NOW_SQL})`,
    query_params: { ...metricParams(config), now: now / 1000 },
    format: 'JSONEachRow',
  });
  return rs.json<StallRow>();
}

const ALERT_COLUMNS = `link_key, toUnixTimestamp64Milli(opened_at) AS opened_ms, source, blocker, blocked, toString(blocker_team) AS blocker_team,
  toString(blocked_team) AS blocked_team, toString(program) AS program, cross_team, toString(status) AS status, days_stalled, threshold_days,
  toUnixTimestamp64Milli(blocker_last_activity) AS last_activity_ms, reason, toUnixTimestamp64Milli(last_seen_at) AS last_seen_ms,
  toUnixTimestamp64Milli(notified_at) AS notified_ms, toUnixTimestamp64Milli(last_notified_at) AS last_notified_ms, notifications,
  toUnixTimestamp64Milli(resolved_at) AS resolved_ms, resolution, version`;

interface AlertDbRow extends StallRow {
  link_key: string;
  opened_ms: Num;
  status: StallAlert['status'];
  last_seen_ms: Num;
  notified_ms: Num | null;
  last_notified_ms: Num | null;
  notifications: Num;
  resolved_ms: Num | null;
  resolution: string;
  version: Num;
}

const orNull = (v: Num | null): number | null => (v === null ? null : Number(v));

/** Which alerts to read. Every condition given must hold; `orResolvedSince` widens `status: 'open'`. */
export interface AlertFilter {
  /** 'open': every status but resolved; or one status. Default: any. */
  status?: 'open' | StallAlert['status'];
  /** With status 'open': also the alerts resolved at or after this instant (epoch ms). */
  orResolvedSince?: number;
  linkKey?: string;
  /** The alerts as the store held them at this instant: each one's latest version written by then. */
  asOf?: Date;
}

/** The latest version of each alert that matches the filter, oldest first. */
export async function readAlerts(store: Store, filter: AlertFilter = {}): Promise<StallAlert[]> {
  const rs = await store.client.query({
    query: `SELECT ${ALERT_COLUMNS} FROM
            (
                SELECT * FROM stall_alerts
                WHERE {as_of_v:Nullable(UInt64)} IS NULL OR version <= {as_of_v:Nullable(UInt64)}
                ORDER BY version DESC LIMIT 1 BY link_key, opened_at
            )
            WHERE ({status:String} = ''
                   OR ({status:String} = 'open' AND (status != 'resolved'
                        OR ({since:Nullable(DateTime64(3, 'UTC'))} IS NOT NULL AND resolved_at >= {since:Nullable(DateTime64(3, 'UTC'))})))
                   OR status = {status:String})
              AND ({link_key:String} = '' OR link_key = {link_key:String})
            ORDER BY opened_at, link_key`,
    query_params: {
      as_of_v: filter.asOf === undefined ? null : filter.asOf.getTime() * 1000 + 999,
      status: filter.status ?? '',
      since: filter.orResolvedSince === undefined ? null : filter.orResolvedSince / 1000,
      link_key: filter.linkKey ?? '',
    },
    format: 'JSONEachRow',
  });
  return (await rs.json<AlertDbRow>()).map((r) => ({
    linkKey: r.link_key,
    openedAt: Number(r.opened_ms),
    source: r.source,
    blocker: r.blocker,
    blocked: r.blocked,
    blockerTeam: r.blocker_team,
    blockedTeam: r.blocked_team,
    program: r.program,
    crossTeam: Number(r.cross_team) === 1,
    status: r.status,
    daysStalled: Number(r.days_stalled),
    thresholdDays: Number(r.threshold_days),
    blockerLastActivity: Number(r.last_activity_ms),
    reason: r.reason,
    lastSeenAt: Number(r.last_seen_ms),
    notifiedAt: orNull(r.notified_ms),
    lastNotifiedAt: orNull(r.last_notified_ms),
    notifications: Number(r.notifications),
    resolvedAt: orNull(r.resolved_ms),
    resolution: r.resolution,
    version: Number(r.version),
  }));
}

/** A stall as `ptel alerts list` shows it: the alert, what it is about, and how long it has lasted. */
export type StallListing = StallAlert &
  StallAbout & {
    /** Days from when the stall began to its resolution, or to the instant of the listing while it is open. */
    stalledDays: number;
  };

/**
 * The alerts that match the filter, each with its items' titles, owners and links, the milestone the
 * blocked item affects, when the stall began and how long it has lasted as of `now` (the filter's asOf
 * when given). The alerts are as the store held them at asOf; titles, owners and milestones are as they
 * are now.
 */
export async function listStalls(
  store: Store,
  config: Pick<Config, 'model' | 'metrics'>,
  filter: AlertFilter,
  now: number,
): Promise<StallListing[]> {
  const alerts = await readAlerts(store, filter);
  const at = filter.asOf?.getTime() ?? now;
  const contexts = await stallContexts(store, alerts, metricParams(config));
  return alerts.map((a) => {
    const c = contexts.get(alertKeyOf(a));
    const about = c !== undefined ? aboutOf(c) : aboutOf({ blocker: undefined, blocked: undefined, milestone: null, beganAt: a.openedAt });
    const end = a.resolvedAt ?? at;
    return { ...a, ...about, stalledDays: Math.round((Math.max(0, end - about.beganAt) / 86_400_000) * 10) / 10 };
  });
}

/** Writes a new version of each alert: above both its last version and the run's clock. */
async function writeAlerts(store: Store, alerts: StallAlert[], now: number): Promise<void> {
  if (alerts.length === 0) return;
  for (const a of alerts) a.version = Math.max(now * 1000, a.version + 1);
  await store.client.insert({
    table: 'stall_alerts',
    format: 'JSONEachRow',
    values: alerts.map((a) => ({ ...alertRecord(a), version: a.version })),
  });
}

/**
 * What ended each stall: an item done, the link removed, an item gone, or the blocker active again. A link
 * is still there while a live link of a blocking type (model.workItems.blockingLinkTypes, as the
 * detector reads them) joins the two items.
 */
async function resolutions(store: Store, alerts: StallAlert[], read: ItemReader, params: MetricParams): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (alerts.length === 0) return out;
  const items = await read(alerts.flatMap((a) => [a.blocker, a.blocked]));
  const rs = await store.client.query({
    query: `SELECT source, from_item_id, to_item_id FROM ${BLOCKING_LINKS} AS l WHERE from_item_id IN {ids:Array(String)}`,
    query_params: {
      ...params,
      ids: alerts.map((a) => items.get(`${a.source}:${a.blocker}`)?.itemId ?? '').filter((id) => id !== ''),
    },
    format: 'JSONEachRow',
  });
  const links = new Set(
    (await rs.json<{ source: string; from_item_id: string; to_item_id: string }>()).map(
      (l) => `${l.source}:${l.from_item_id}>${l.to_item_id}`,
    ),
  );
  for (const a of alerts) {
    const blocker = items.get(`${a.source}:${a.blocker}`);
    const blocked = items.get(`${a.source}:${a.blocked}`);
    let why: string;
    if (blocker === undefined || blocked === undefined)
      why = `${blocker === undefined ? a.blocker : a.blocked} no longer found (deleted, or moved to another key)`;
    else if (blocked.category === 'done') why = `${a.blocked} done (${blocked.status})`;
    else if (blocker.category === 'done') why = `${a.blocker} done (${blocker.status})`;
    else if (!links.has(`${a.source}:${blocker.itemId}>${blocked.itemId}`)) why = 'link removed';
    else why = `no longer stalled: ${a.blocker} was updated or the due dates changed`;
    out.set(a.linkKey, why);
  }
  return out;
}

interface HistoryRow {
  link_key: string;
  opened_ms: Num;
  channel: string;
  kind: MessageKind;
  sent: Num;
  first_ms: Num;
  last_ms: Num;
}

/** What each channel was told of each alert (successful sends only): alert key -> channel -> history. */
async function histories(store: Store, alerts: StallAlert[]): Promise<Map<string, Map<string, ChannelHistory>>> {
  const out = new Map<string, Map<string, ChannelHistory>>();
  if (alerts.length === 0) return out;
  const rs = await store.client.query({
    query: `SELECT link_key, toUnixTimestamp64Milli(opened_at) AS opened_ms, toString(channel) AS channel, toString(kind) AS kind,
                   count() AS sent, toUnixTimestamp64Milli(min(sent_at)) AS first_ms, toUnixTimestamp64Milli(max(sent_at)) AS last_ms
            FROM alert_notifications
            WHERE link_key IN {keys:Array(String)} AND status = 'sent'
            GROUP BY link_key, opened_at, channel, kind`,
    query_params: { keys: [...new Set(alerts.map((a) => a.linkKey))] },
    format: 'JSONEachRow',
  });
  for (const r of await rs.json<HistoryRow>()) {
    told(out, `${r.link_key}@${Number(r.opened_ms)}`, r.channel).sent[r.kind] = {
      count: Number(r.sent),
      firstAt: Number(r.first_ms),
      lastAt: Number(r.last_ms),
    };
  }
  return out;
}

/** The history of one channel for one alert, created empty when there is none. */
function told(all: Map<string, Map<string, ChannelHistory>>, alertKey: string, channel: string): ChannelHistory {
  const byChannel = all.get(alertKey) ?? new Map<string, ChannelHistory>();
  all.set(alertKey, byChannel);
  const h = byChannel.get(channel) ?? { sent: {} };
  byChannel.set(channel, h);
  return h;
}

/**
 * The alert's status and counters as what the channels were told says: notified once any channel heard
 * of it, renotified once any was reminded; first and last notification (resolutions aside), successful
 * deliveries of every kind. Derived anew each run, so an interrupted run heals on the next.
 */
export function followTold(a: StallAlert, channels: Iterable<ChannelHistory>): StallAlert {
  let notifications = 0;
  let first: number | null = null;
  let last: number | null = null;
  let opened = false;
  let reminded = false;
  for (const h of channels) {
    for (const kind of MESSAGE_KINDS) {
      const s = h.sent[kind];
      if (s === undefined) continue;
      notifications += s.count;
      if (kind === 'resolved') continue;
      first = first === null ? s.firstAt : Math.min(first, s.firstAt);
      last = last === null ? s.lastAt : Math.max(last, s.lastAt);
      if (kind === 'opened') opened = true;
      else reminded = true;
    }
  }
  const status = a.status === 'resolved' ? 'resolved' : reminded ? 'renotified' : opened ? 'notified' : 'opened';
  return { ...a, status, notifications, notifiedAt: first, lastNotifiedAt: last };
}

/** A message's id: the same for every attempt of the same message to the same channel. */
function deliveryIdOf(a: StallAlert, channel: string, kind: MessageKind, seq: number): string {
  const h = createHash('sha256').update(`${a.linkKey}\n${a.openedAt}\n${channel}\n${kind}\n${seq}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** One PagerDuty dedup key per alert: trigger, re-trigger and resolve name the same incident. */
export const dedupKeyOf = (a: Pick<StallAlert, 'linkKey' | 'openedAt'>): string => `ptel-stall/${a.linkKey}/${a.openedAt}`;

/** Deliveries are sent, and recorded, in groups of this many: a crash loses the record of one group at most. */
const DELIVERY_GROUP = 20;

async function deliver(options: StallAlertsOptions, alerts: StallAlert[], read: ItemReader, now: number): Promise<Delivery[]> {
  const { store, config, notifiers } = options;
  const cfg = config.alerts;
  if (notifiers.size === 0 || alerts.length === 0) return [];
  const history = await histories(store, alerts);
  const plans: Array<{ alert: StallAlert; channel: string; kind: MessageKind; seq: number }> = [];
  for (const a of alerts) {
    for (const channel of channelsFor(a, cfg)) {
      const h = history.get(alertKeyOf(a))?.get(channel);
      const kind = owed(a, h, now, cfg);
      if (kind !== undefined) plans.push({ alert: a, channel, kind, seq: h?.sent[kind]?.count ?? 0 });
    }
  }
  const contexts =
    plans.length > 0
      ? await stallContexts(store, [...new Map(plans.map((p) => [alertKeyOf(p.alert), p.alert])).values()], metricParams(config), read)
      : new Map<string, StallContext>();
  const dashboard = cfg.grafanaUrl !== undefined ? `${cfg.grafanaUrl.replace(/\/+$/, '')}/d/ptel-dependencies` : undefined;
  const limit = createLimiter(4);
  const send = async (p: (typeof plans)[number]): Promise<Delivery & { deliveryId: string }> => {
    const notifier = notifiers.get(p.channel);
    const context = contexts.get(alertKeyOf(p.alert));
    const url = (u: string | undefined): string | undefined => (u === undefined || u === '' ? undefined : u);
    const deliveryId = deliveryIdOf(p.alert, p.channel, p.kind, p.seq);
    const message: AlertMessage = {
      kind: p.kind,
      alert: p.alert,
      deliveryId,
      dedupKey: dedupKeyOf(p.alert),
      sentAt: new Date(now),
      links: { blocker: url(context?.blocker?.url), blocked: url(context?.blocked?.url), dashboard },
      ...(context !== undefined ? { about: aboutOf(context) } : {}),
    };
    const base = { linkKey: p.alert.linkKey, openedAt: p.alert.openedAt, channel: p.channel, kind: p.kind, deliveryId };
    if (notifier === undefined) return { ...base, ok: false, httpStatus: 0, error: `no channel '${p.channel}' is configured` };
    try {
      const httpStatus = await notifier.send(message);
      options.metrics?.alertDeliveries.inc({ channel_type: notifier.type, kind: p.kind, outcome: 'sent' });
      return { ...base, ok: true, httpStatus, error: '' };
    } catch (err) {
      options.metrics?.alertDeliveries.inc({ channel_type: notifier.type, kind: p.kind, outcome: 'failed' });
      const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) || 0 : 0;
      return { ...base, ok: false, httpStatus: status, error: err instanceof Error ? err.message : String(err) };
    }
  };
  const deliveries: Delivery[] = [];
  for (let i = 0; i < plans.length; i += DELIVERY_GROUP) {
    const group = await Promise.all(plans.slice(i, i + DELIVERY_GROUP).map((p) => limit(() => send(p))));
    await store.client.insert({
      table: 'alert_notifications',
      format: 'JSONEachRow',
      values: group.map((d) => ({
        link_key: d.linkKey,
        opened_at: iso(d.openedAt),
        channel: d.channel,
        channel_type: notifiers.get(d.channel)?.type ?? '',
        kind: d.kind,
        delivery_id: d.deliveryId,
        sent_at: iso(now),
        status: d.ok ? 'sent' : 'failed',
        http_status: d.httpStatus,
        error: d.error.slice(0, 2_000),
      })),
    });
    for (const { deliveryId: _id, ...d } of group) {
      deliveries.push(d);
      if (!d.ok) continue;
      const s = told(history, alertKeyOf(d), d.channel).sent;
      const was = s[d.kind];
      s[d.kind] = { count: (was?.count ?? 0) + 1, firstAt: was?.firstAt ?? now, lastAt: now };
    }
  }
  // Each alert's status and counters follow what its channels were told, this run and before.
  const changed = alerts
    .map((a) => [a, followTold(a, history.get(alertKeyOf(a))?.values() ?? [])] as const)
    .filter(
      ([a, b]) =>
        a.status !== b.status ||
        a.notifications !== b.notifications ||
        a.notifiedAt !== b.notifiedAt ||
        a.lastNotifiedAt !== b.lastNotifiedAt,
    )
    .map(([, b]) => b);
  await writeAlerts(store, changed, now);
  return deliveries;
}
