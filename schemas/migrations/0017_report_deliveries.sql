-- Every delivery of a scheduled report (the weekly program status, the portfolio view): the files
-- written under the export folder and each send to a channel, with how it ended. The schedule reads it
-- to send each week's report once per program and channel across restarts and processes, and to retry
-- a channel that failed; `ptel status-report --resend` sends again and is recorded as such.
CREATE TABLE IF NOT EXISTS report_deliveries
(
    report        LowCardinality(String),   -- status | portfolio
    scope         String,                   -- the program's id; '' for the portfolio
    week          String,                   -- the ISO week reported, '2026-W44'
    target        String,                   -- 'files', or the channel's id in alerts.channels
    target_type   LowCardinality(String),   -- files | slack | webhook
    delivery_id   String,                   -- sent with the report (X-Ptel-Delivery); the folder for files
    sent_at       DateTime64(3, 'UTC'),
    status        LowCardinality(String),   -- sent | failed
    http_status   UInt16,                   -- 0 for files, and when no response came
    resend        UInt8,                    -- 1 when asked for with --resend
    error         String
)
ENGINE = MergeTree
PARTITION BY toYear(sent_at)
ORDER BY (report, scope, week, target, sent_at);
