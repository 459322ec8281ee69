-- Every RawEvent exactly as it arrived: the audit trail behind each number, and the input of replay.
-- One row per event id after merges; the id is deterministic from source, type, subject and entity
-- version, so a re-delivered or re-pulled event collapses onto the row it already has.
CREATE TABLE IF NOT EXISTS raw_events
(
    id              String,
    source          LowCardinality(String),
    type            LowCardinality(String),
    subject         String,
    entity_version  String,
    time            DateTime64(3, 'UTC'),
    partition_key   String,
    connector       LowCardinality(String),
    ingest_time     DateTime64(3, 'UTC'),
    data            String CODEC(ZSTD(3)),
    topic           LowCardinality(String),
    bus_partition   UInt32,
    bus_offset      UInt64,
    stored_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(stored_at)
PARTITION BY toYYYYMM(time)
ORDER BY (source, type, subject, id);
