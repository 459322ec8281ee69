-- Messages the normalizer could not accept, with the reason, kept byte for byte so they can be
-- inspected and replayed once the cause is fixed. The same message failing again replaces its row.
CREATE TABLE IF NOT EXISTS dead_letters
(
    topic           LowCardinality(String),
    bus_partition   UInt32,
    bus_offset      UInt64,
    message_key     Nullable(String),
    message_value   String CODEC(ZSTD(3)),
    headers         Map(String, String),
    reason_code     LowCardinality(String),
    reason          String,
    event_id        Nullable(String),
    source          LowCardinality(String),
    type            LowCardinality(String),
    failed_at       DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(failed_at)
ORDER BY (topic, bus_partition, bus_offset);
