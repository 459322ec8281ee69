-- Fields the normalizer could not read: the entity's row was written with that column empty (or a
-- stated stand-in), and the note counted here per source, entity type, field and problem. Rows add
-- up as they merge: the count, when it was first and last noted, and one event that shows it.
CREATE TABLE IF NOT EXISTS data_quality_notes
(
    source            LowCardinality(String),
    entity            LowCardinality(String),
    field             String,
    problem           String,
    notes             SimpleAggregateFunction(sum, UInt64),
    first_seen        SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen         SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    example_event_id  SimpleAggregateFunction(anyLast, String)
)
ENGINE = AggregatingMergeTree
ORDER BY (source, entity, field, problem);
