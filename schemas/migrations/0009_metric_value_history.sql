-- The changes of every metric value: metric_values merges superseded versions away, so what the store
-- said at a past instant (ptel metrics show --as-of) is read here. A metrics run adds a row for a
-- (metric, scope, period) only when what it writes differs from the version before it here (value,
-- numerator, denominator, sample size, unit, definition version or deletion): a value recomputed
-- unchanged adds nothing, and the latest row at or before an instant is what the store held then.
-- Retractions (is_deleted rows) are changes too.
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

-- The values computed before this table existed start the history: the latest version of each, as
-- computed then (a deletion included).
INSERT INTO metric_value_history
SELECT metric, scope_kind, scope_id, period_kind, period_start, value, numerator, denominator, sample_size, unit,
       definition_version, computed_at, version, is_deleted
FROM metric_values
ORDER BY version DESC
LIMIT 1 BY metric, period_kind, scope_kind, scope_id, period_start;

-- The rows of a metrics run in progress, one partition per run (`run`), dropped when the run ends:
-- from here they go to metric_values, and those that change a value to metric_value_history. Rows a
-- run left behind when its process stopped are removed a day after they were staged.
CREATE TABLE IF NOT EXISTS metric_value_staging
(
    run                 String,
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
    is_deleted          UInt8 DEFAULT 0,
    staged_at           DateTime DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY run
ORDER BY (metric, period_kind, scope_kind, scope_id, period_start)
TTL staged_at + INTERVAL 1 DAY;
