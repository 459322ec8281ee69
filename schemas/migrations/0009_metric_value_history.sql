-- Every version of every metric value ever written, kept: metric_values merges superseded versions away,
-- so what the store said at a past instant (ptel metrics show --as-of) is read here. Each insert into
-- metric_values (values and deletion rows alike) is copied by the view below.
CREATE TABLE IF NOT EXISTS metric_value_history
(
    metric              LowCardinality(String),
    scope_kind          LowCardinality(String),
    scope_id            String,
    period_kind         LowCardinality(String),
    period_start        Date,
    value               Nullable(Float64),
    numerator           Nullable(Float64),
    denominator         Nullable(Float64),
    sample_size         UInt64,
    unit                LowCardinality(String),
    definition_version  UInt16,
    computed_at         DateTime64(3, 'UTC'),
    version             UInt64,
    is_deleted          UInt8 DEFAULT 0
)
ENGINE = MergeTree
PARTITION BY toYear(period_start)
ORDER BY (metric, period_kind, scope_kind, scope_id, period_start, version);

CREATE MATERIALIZED VIEW IF NOT EXISTS metric_value_history_copy TO metric_value_history AS
SELECT metric, scope_kind, scope_id, period_kind, period_start, value, numerator, denominator, sample_size, unit,
       definition_version, computed_at, version, is_deleted
FROM metric_values;
