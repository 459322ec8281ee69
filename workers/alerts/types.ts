/** A dependency-stall alert: one episode of one stalled blocking link (table stall_alerts). */
export interface StallAlert {
  /** 'jira:B-1>D-1': the source, the blocker's key and the blocked item's key. */
  linkKey: string;
  /** When the detector first found the link stalled (epoch ms); with linkKey, the alert's identity. */
  openedAt: number;
  source: string;
  blocker: string;
  blocked: string;
  blockerTeam: string;
  blockedTeam: string;
  /** The blocked item's program. */
  program: string;
  crossTeam: boolean;
  status: AlertStatus;
  daysStalled: number;
  thresholdDays: number;
  blockerLastActivity: number;
  reason: string;
  lastSeenAt: number;
  notifiedAt: number | null;
  lastNotifiedAt: number | null;
  notifications: number;
  resolvedAt: number | null;
  resolution: string;
  version: number;
}

export type AlertStatus = 'opened' | 'notified' | 'renotified' | 'resolved';

/** What a message tells a channel: a stall opened, is still open after the re-notify interval, or resolved. */
export type MessageKind = 'opened' | 'renotified' | 'resolved';

export const MESSAGE_KINDS: readonly MessageKind[] = ['opened', 'renotified', 'resolved'];

export interface AlertMessage {
  kind: MessageKind | 'test';
  alert: StallAlert;
  /** Stable for one message to one channel: a retry after a failure carries the same id. */
  deliveryId: string;
  /** The PagerDuty dedup key of the alert (one per alert, for trigger and resolve alike). */
  dedupKey: string;
  sentAt: Date;
  links: { blocker?: string; blocked?: string; dashboard?: string };
  /** What the stall is about (titles, owners, milestone, when it began), when the items are known. */
  about?: StallAbout;
}

/** The items of a stall as people know them, the milestone the blocked item affects, and when the stall began. */
export interface StallAbout {
  blockerTitle: string | null;
  /** The assignee; null when unassigned or the item is not found. */
  blockerOwner: string | null;
  blockerUrl: string | null;
  blockedTitle: string | null;
  blockedOwner: string | null;
  blockedUrl: string | null;
  /** The blocked item's fix version, sprint or parent epic; null when it has none. */
  milestone: { id: string; kind: string; name: string; committedDate: string | null } | null;
  /** When the stall began (epoch ms), not when it was first found. */
  beganAt: number;
}

/** An epoch-ms time in ISO 8601, null kept. */
export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** An alert as a stall_alerts row and as the webhook's JSON carries it: snake_case, times in ISO 8601. */
export function alertRecord(a: StallAlert): Record<string, string | number | boolean | null> {
  return {
    link_key: a.linkKey,
    opened_at: iso(a.openedAt),
    source: a.source,
    blocker: a.blocker,
    blocked: a.blocked,
    blocker_team: a.blockerTeam,
    blocked_team: a.blockedTeam,
    program: a.program,
    cross_team: a.crossTeam,
    status: a.status,
    days_stalled: a.daysStalled,
    threshold_days: a.thresholdDays,
    blocker_last_activity: iso(a.blockerLastActivity),
    reason: a.reason,
    last_seen_at: iso(a.lastSeenAt),
    notified_at: iso(a.notifiedAt),
    last_notified_at: iso(a.lastNotifiedAt),
    notifications: a.notifications,
    resolved_at: iso(a.resolvedAt),
    resolution: a.resolution,
  };
}

/** The facts the detector finds of a stalled link. */
export type StallFacts = Omit<
  StallAlert,
  'linkKey' | 'openedAt' | 'status' | 'notifiedAt' | 'lastNotifiedAt' | 'notifications' | 'resolvedAt' | 'resolution' | 'version'
>;

/** A new alert, opened at `now`, told to no channel yet. */
export function newAlert(linkKey: string, facts: StallFacts, now: number): StallAlert {
  return {
    linkKey,
    openedAt: now,
    ...facts,
    status: 'opened',
    notifiedAt: null,
    lastNotifiedAt: null,
    notifications: 0,
    resolvedAt: null,
    resolution: '',
    version: 0,
  };
}
