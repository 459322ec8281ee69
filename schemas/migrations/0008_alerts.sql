-- Dependency-stall alerts. An alert is one episode of one stalled blocking link: it opens when the
-- detector first finds the link stalled and resolves on the first run that no longer does; a link that
-- stalls again later opens a new alert (a new opened_at). Every change writes a new version of the row.
--   status: opened (no channel told yet) -> notified -> renotified (told again after the interval)
--           -> resolved
CREATE TABLE IF NOT EXISTS stall_alerts
(
    link_key               String,                   -- 'jira:B-1>D-1': source, blocker key, blocked key
    opened_at              DateTime64(3, 'UTC'),
    source                 LowCardinality(String),
    blocker                String,
    blocked                String,
    blocker_team           LowCardinality(String),
    blocked_team           LowCardinality(String),
    program                LowCardinality(String),   -- the blocked item's program
    cross_team             UInt8,
    status                 LowCardinality(String),   -- opened | notified | renotified | resolved
    days_stalled           UInt32,                   -- business days the blocker has been idle, at the last run that saw it
    threshold_days         UInt32,
    blocker_last_activity  DateTime64(3, 'UTC'),
    reason                 String,                   -- why it is stalled, as the detector explains it
    last_seen_at           DateTime64(3, 'UTC'),     -- the last run that found it stalled
    notified_at            Nullable(DateTime64(3, 'UTC')),
    last_notified_at       Nullable(DateTime64(3, 'UTC')),
    notifications          UInt32,                   -- deliveries that succeeded, every channel and kind
    resolved_at            Nullable(DateTime64(3, 'UTC')),
    resolution             String,                   -- what ended it: blocker done, blocked item done, link removed, blocker active again
    version                UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (link_key, opened_at);

-- Every delivery attempt of a stall alert to a channel: what was sent, when, and how it ended. The
-- detector reads it to send each message once per channel, retry the ones that failed, and re-notify
-- after the interval.
CREATE TABLE IF NOT EXISTS alert_notifications
(
    link_key      String,
    opened_at     DateTime64(3, 'UTC'),
    channel       LowCardinality(String),   -- the channel's id in alerts.channels
    channel_type  LowCardinality(String),   -- slack | webhook | pagerduty
    kind          LowCardinality(String),   -- opened | renotified | resolved
    delivery_id   String,                   -- sent with the message (X-Ptel-Delivery, PagerDuty dedup key for PagerDuty)
    sent_at       DateTime64(3, 'UTC'),
    status        LowCardinality(String),   -- sent | failed
    http_status   UInt16,                   -- 0 when no response came
    error         String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(sent_at)
ORDER BY (link_key, opened_at, channel, sent_at);
