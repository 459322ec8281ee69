-- Where each pull stream stands. A row per saved cursor; FINAL gives the latest per stream and scope.
-- A cursor is saved only after the bus acknowledged the events read before it.
CREATE TABLE IF NOT EXISTS sync_cursors
(
    source      LowCardinality(String),
    stream      LowCardinality(String),
    scope       String,
    cursor      String,
    updated_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (source, stream, scope);

-- One row per finished pull of a stream and scope: what it read, what it cost, how it ended.
CREATE TABLE IF NOT EXISTS sync_runs
(
    source       LowCardinality(String),
    stream       LowCardinality(String),
    scope        String,
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    status       LowCardinality(String),
    records      UInt64,
    requests     UInt64,
    backfill     UInt8,
    error        String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (source, stream, scope, started_at);
