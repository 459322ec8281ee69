-- Every computed metric value: one row per metric, scope and period. A recompute of a period replaces
-- its rows (a higher version); a scope that no longer has data in a recomputed period gets is_deleted.
CREATE TABLE IF NOT EXISTS metric_values
(
    metric              LowCardinality(String),
    scope_kind          LowCardinality(String),   -- org | program | team | service | repo
    scope_id            String,
    period_kind         LowCardinality(String),   -- day | week | month
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
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYear(period_start)
ORDER BY (metric, period_kind, scope_kind, scope_id, period_start);

-- DORA performance tiers by report year, kept as data: a value is in a tier when lower <= value < upper
-- (NULL bounds are open). `better` says which way is good, so a reader can tell a tier's neighbour.
CREATE TABLE IF NOT EXISTS dora_benchmarks
(
    report_year  UInt16,
    metric       LowCardinality(String),
    tier         LowCardinality(String),   -- elite | high | medium | low
    lower        Nullable(Float64),
    upper        Nullable(Float64),
    unit         LowCardinality(String),
    label        String,                   -- the report's own words for the tier
    version      UInt32
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (report_year, metric, tier);

-- Anomaly-based risk signals per scope, indicator and week, with what was expected and why it fired.
CREATE TABLE IF NOT EXISTS risk_signals
(
    scope_kind      LowCardinality(String),
    scope_id        String,
    indicator       LowCardinality(String),
    week_start      Date,
    observed        Float64,
    expected        Float64,
    lower           Float64,
    upper           Float64,
    score           Float64,                  -- robust z-score (0.6745 * (x - median) / MAD), signed
    active          UInt8,                    -- past the threshold in the harmful direction
    method          LowCardinality(String),   -- robust_z | seasonal
    history_weeks   UInt16,
    explanation     String,
    computed_at     DateTime64(3, 'UTC'),
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (scope_kind, scope_id, indicator, week_start);

-- The risk score of a scope per week, combining its active signals.
CREATE TABLE IF NOT EXISTS risk_scores
(
    scope_kind      LowCardinality(String),
    scope_id        String,
    week_start      Date,
    score           Float64,
    active_signals  UInt16,
    top_indicator   LowCardinality(String),
    computed_at     DateTime64(3, 'UTC'),
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (scope_kind, scope_id, week_start);

-- One row per metrics job run: what it recomputed, how long it took, how it ended.
CREATE TABLE IF NOT EXISTS metric_runs
(
    job           LowCardinality(String),
    started_at    DateTime64(3, 'UTC'),
    finished_at   DateTime64(3, 'UTC'),
    period_from   Date,
    period_to     Date,
    metrics       UInt32,
    rows_written  UInt64,
    status        LowCardinality(String),   -- ok | failed
    error         String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (job, started_at);
