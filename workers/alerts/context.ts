import type { Store } from '../../infra/store/client.js';
import { BLOCKING_LINKS } from '../metrics/definitions/links.js';
import type { MetricParams } from '../metrics/types.js';
import type { StallAbout, StallAlert } from './types.js';

/**
 * What a stall is about, beyond the facts the detector stores with the alert: the two items' titles,
 * owners and links, the milestone the blocked item affects, and when the stall began. Read from the
 * store as it is now (titles and owners are today's, also for an alert read as of an earlier instant).
 */

/** A work item as a stall names it. */
export interface StallItem {
  key: string;
  itemId: string;
  /** The item's summary. */
  title: string;
  /** The assignee ('' when unassigned). */
  owner: string;
  url: string;
  status: string;
  category: string;
  createdAt: number;
  dueDate: string | null;
  fixVersions: string[];
  sprints: string[];
  parentId: string;
}

/** A milestone (a Jira version, a sprint, or an epic with a committed date). */
export interface StallMilestone {
  id: string;
  kind: string;
  name: string;
  /** Release date, sprint end or epic due date (YYYY-MM-DD); null when the milestone has none. */
  committedDate: string | null;
}

export interface StallContext {
  blocker: StallItem | undefined;
  blocked: StallItem | undefined;
  /** The blocked item's milestone: its fix version, else its sprint, else its parent epic; null when none is known. */
  milestone: StallMilestone | null;
  /** When the stall began (epoch ms); see stallBegan. */
  beganAt: number;
}

type Num = number | string;

interface ItemDbRow {
  source: string;
  key: string;
  item_id: string;
  summary: string;
  assignee: string;
  url: string;
  status: string;
  category: string;
  created_ms: Num;
  due: string | null;
  fix_versions: string[];
  sprints: string[];
  parent_id: string;
}

/** Reads work items by key (`source:key` in the map it gives), each key at most once. */
export type ItemReader = (keys: string[]) => Promise<ReadonlyMap<string, StallItem>>;

export function itemReader(store: Store): ItemReader {
  const items = new Map<string, StallItem>();
  const asked = new Set<string>();
  return async (keys) => {
    const missing = [...new Set(keys)].filter((k) => !asked.has(k));
    if (missing.length === 0) return items;
    for (const k of missing) asked.add(k);
    const rs = await store.client.query({
      query: `SELECT source, key, item_id, summary, assignee, url, toString(status) AS status, toString(status_category) AS category,
                     toUnixTimestamp64Milli(created_at) AS created_ms, toString(due_date) AS due, fix_versions, sprints, parent_id
              FROM work_items FINAL WHERE key IN {keys:Array(String)}`,
      query_params: { keys: missing },
      format: 'JSONEachRow',
    });
    for (const r of await rs.json<ItemDbRow>()) {
      items.set(`${r.source}:${r.key}`, {
        key: r.key,
        itemId: r.item_id,
        title: r.summary,
        owner: r.assignee,
        url: r.url,
        status: r.status,
        category: r.category,
        createdAt: Number(r.created_ms),
        dueDate: r.due === null || r.due === '' ? null : r.due,
        fixVersions: r.fix_versions,
        sprints: r.sprints,
        parentId: r.parent_id,
      });
    }
    return items;
  };
}

export const alertKeyOf = (a: Pick<StallAlert, 'linkKey' | 'openedAt'>): string => `${a.linkKey}@${a.openedAt}`;

/** The context of each alert, by alertKeyOf. */
export async function stallContexts(
  store: Store,
  alerts: readonly StallAlert[],
  params: MetricParams,
  read: ItemReader = itemReader(store),
): Promise<Map<string, StallContext>> {
  const out = new Map<string, StallContext>();
  if (alerts.length === 0) return out;
  const items = await read(alerts.flatMap((a) => [a.blocker, a.blocked]));
  const itemOf = (a: StallAlert, key: string): StallItem | undefined => items.get(`${a.source}:${key}`);
  const [milestones, dues, links, idle] = await Promise.all([
    readMilestones(
      store,
      alerts.flatMap((a) => milestoneCandidates(itemOf(a, a.blocked))),
    ),
    readDueChanges(
      store,
      alerts.flatMap((a) => [itemOf(a, a.blocker)?.itemId, itemOf(a, a.blocked)?.itemId]).filter((x): x is string => x !== undefined),
    ),
    readLinkCreations(store, alerts, params),
    idleBegan(store, alerts, params.tz),
  ]);
  alerts.forEach((a, i) => {
    const blocker = itemOf(a, a.blocker);
    const blocked = itemOf(a, a.blocked);
    const linkCreated =
      links.get(a.linkKey) ?? (blocker !== undefined && blocked !== undefined ? Math.max(blocker.createdAt, blocked.createdAt) : null);
    out.set(alertKeyOf(a), {
      blocker,
      blocked,
      milestone: pickMilestone(blocked, a.source, milestones),
      beganAt: stallBegan(a, {
        idleBeganAt: idle[i] ?? null,
        dueAfterSince: dueAfterSince(blocker, blocked, a.source, dues, a.lastSeenAt),
        linkCreatedAt: linkCreated,
      }),
    });
  });
  return out;
}

/**
 * When a stall began:
 * - idle: the start of the day (metrics time zone) on which the blocker's idle business days reached the
 *   threshold, the day after the threshold-th weekday that followed its last activity (the detector counts
 *   whole weekdays after the day of the last activity and before today);
 * - blocker due after the blocked item: when the due dates last became so (from the due date changes), or
 *   the link's creation when they always were;
 * the earlier of the two when both hold. Never before the link existed (its creation, or when both items
 * existed when the changelog does not show it), nor after ptel first found it stalled (opened_at).
 */
export function stallBegan(
  a: Pick<StallAlert, 'daysStalled' | 'thresholdDays' | 'reason' | 'openedAt'>,
  facts: { idleBeganAt: number | null; dueAfterSince: number | null; linkCreatedAt: number | null },
): number {
  const idle = a.daysStalled >= a.thresholdDays && facts.idleBeganAt !== null;
  const dueAfter = a.reason.includes('blocker due ');
  const starts: number[] = [];
  if (idle && facts.idleBeganAt !== null) starts.push(facts.idleBeganAt);
  if (dueAfter) {
    const since = facts.dueAfterSince ?? facts.linkCreatedAt;
    if (since !== null) starts.push(since);
  }
  if (starts.length === 0) return a.openedAt;
  let began = Math.min(...starts);
  if (facts.linkCreatedAt !== null) began = Math.max(began, facts.linkCreatedAt);
  return Math.min(began, a.openedAt);
}

/** The milestone ids an item may affect, in the order they are preferred. */
function milestoneCandidates(item: StallItem | undefined): string[] {
  if (item === undefined) return [];
  return [...item.fixVersions, ...item.sprints, ...(item.parentId !== '' ? [`epic/${item.parentId}`] : [])];
}

/**
 * The blocked item's milestone: of its fix versions the one committed earliest (an undated one last), else
 * its latest sprint (the one it is in now), else its parent epic when that is a milestone.
 */
function pickMilestone(item: StallItem | undefined, source: string, all: ReadonlyMap<string, StallMilestone>): StallMilestone | null {
  if (item === undefined) return null;
  const known = (ids: string[]): StallMilestone[] =>
    ids.map((id) => all.get(`${source}:${id}`)).filter((m): m is StallMilestone => m !== undefined);
  const versions = known(item.fixVersions).sort((x, y) => (x.committedDate ?? '9999').localeCompare(y.committedDate ?? '9999'));
  if (versions.length > 0) return versions[0]!;
  const sprints = known(item.sprints);
  if (sprints.length > 0) return sprints[sprints.length - 1]!;
  return known(item.parentId !== '' ? [`epic/${item.parentId}`] : [])[0] ?? null;
}

async function readMilestones(store: Store, ids: string[]): Promise<Map<string, StallMilestone>> {
  const out = new Map<string, StallMilestone>();
  if (ids.length === 0) return out;
  const rs = await store.client.query({
    query: `SELECT source, milestone_id, toString(kind) AS kind, name, toString(committed_date) AS committed
            FROM milestones FINAL WHERE milestone_id IN {ids:Array(String)}`,
    query_params: { ids: [...new Set(ids)] },
    format: 'JSONEachRow',
  });
  for (const r of await rs.json<{ source: string; milestone_id: string; kind: string; name: string; committed: string | null }>()) {
    out.set(`${r.source}:${r.milestone_id}`, {
      id: r.milestone_id,
      kind: r.kind,
      name: r.name,
      committedDate: r.committed === null || r.committed === '' ? null : r.committed,
    });
  }
  return out;
}

interface DueChange {
  at: number;
  from: string | null;
  to: string | null;
}

/** Each item's due date changes (`source:item_id`), oldest first. */
async function readDueChanges(store: Store, itemIds: string[]): Promise<Map<string, DueChange[]>> {
  const out = new Map<string, DueChange[]>();
  if (itemIds.length === 0) return out;
  const rs = await store.client.query({
    query: `SELECT source, item_id, toUnixTimestamp64Milli(changed_at) AS at_ms, from_value, to_value
            FROM work_item_history FINAL
            WHERE item_id IN {ids:Array(String)} AND (field_id = 'duedate' OR (field_id = '' AND lower(field) = 'duedate'))
            ORDER BY changed_at`,
    query_params: { ids: [...new Set(itemIds)] },
    format: 'JSONEachRow',
  });
  const day = (v: string): string | null => (/^\d{4}-\d{2}-\d{2}/.test(v) ? v.slice(0, 10) : null);
  for (const r of await rs.json<{ source: string; item_id: string; at_ms: Num; from_value: string; to_value: string }>()) {
    const key = `${r.source}:${r.item_id}`;
    const list = out.get(key) ?? [];
    list.push({ at: Number(r.at_ms), from: day(r.from_value), to: day(r.to_value) });
    out.set(key, list);
  }
  return out;
}

/** An item's due date at instant `t`: after every change before t; before the first change, that change's old value. */
function dueAt(current: string | null, changes: readonly DueChange[], t: number): string | null {
  let last: DueChange | undefined;
  for (const c of changes) if (c.at < t) last = c;
  if (last !== undefined) return last.to;
  return changes.length > 0 ? changes[0]!.from : current;
}

/**
 * Since when the blocker's due date has been after the blocked item's, as of `at` (the last run that
 * found the stall): the last due date change before which it was not. Null when it was so before every
 * change, or is not so at `at`.
 */
function dueAfterSince(
  blocker: StallItem | undefined,
  blocked: StallItem | undefined,
  source: string,
  dues: ReadonlyMap<string, DueChange[]>,
  at: number,
): number | null {
  if (blocker === undefined || blocked === undefined) return null;
  const b = dues.get(`${source}:${blocker.itemId}`) ?? [];
  const d = dues.get(`${source}:${blocked.itemId}`) ?? [];
  const after = (t: number): boolean => {
    const bd = dueAt(blocker.dueDate, b, t);
    const dd = dueAt(blocked.dueDate, d, t);
    return bd !== null && dd !== null && bd > dd;
  };
  if (!after(at + 1)) return null;
  const times = [...new Set([...b, ...d].map((c) => c.at).filter((t) => t <= at))].sort((x, y) => y - x);
  for (const t of times) if (!after(t)) return t;
  return null;
}

/** The creation of each alert's live blocking link (by link key), where the link and its creation are known. */
async function readLinkCreations(store: Store, alerts: readonly StallAlert[], params: MetricParams): Promise<Map<string, number>> {
  const rs = await store.client.query({
    query: `SELECT source, from_key, to_key, toUnixTimestamp64Milli(min(assumeNotNull(created_at))) AS created_ms
            FROM ${BLOCKING_LINKS} AS l
            WHERE from_key IN {keys:Array(String)} AND created_at IS NOT NULL
            GROUP BY source, from_key, to_key`,
    query_params: { ...params, keys: [...new Set(alerts.map((a) => a.blocker))] },
    format: 'JSONEachRow',
  });
  const out = new Map<string, number>();
  for (const r of await rs.json<{ source: string; from_key: string; to_key: string; created_ms: Num }>()) {
    out.set(`${r.source}:${r.from_key}>${r.to_key}`, Number(r.created_ms));
  }
  return out;
}

/**
 * For each alert, the instant its blocker's idle business days reached the threshold: the start (in
 * `tz`) of the day after the threshold-th weekday following the day of its last activity.
 */
async function idleBegan(store: Store, alerts: readonly StallAlert[], tz: string): Promise<Array<number | null>> {
  const rs = await store.client.query({
    query: `SELECT arrayMap(p -> toUnixTimestamp64Milli(toDateTime64(addDays(
                       arrayFilter(x -> toDayOfWeek(x) <= 5,
                                   arrayMap(k -> addDays(toDate(fromUnixTimestamp64Milli(p.1), {tz:String}), k + 1), range(toUInt32(p.2 * 2 + 7))))[p.2],
                       1), 3, {tz:String})),
                     arrayZip({last:Array(Int64)}, {threshold:Array(UInt32)})) AS began_ms`,
    query_params: { tz, last: alerts.map((a) => a.blockerLastActivity), threshold: alerts.map((a) => Math.max(1, a.thresholdDays)) },
    format: 'JSONEachRow',
  });
  return ((await rs.json<{ began_ms: Num[] }>())[0]?.began_ms ?? []).map(Number);
}

const orNull = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);

/** A context as messages and listings carry it. */
export function aboutOf(c: StallContext): StallAbout {
  return {
    blockerTitle: c.blocker?.title ?? null,
    blockerOwner: orNull(c.blocker?.owner),
    blockerUrl: orNull(c.blocker?.url),
    blockedTitle: c.blocked?.title ?? null,
    blockedOwner: orNull(c.blocked?.owner),
    blockedUrl: orNull(c.blocked?.url),
    milestone: c.milestone,
    beganAt: c.beganAt,
  };
}
