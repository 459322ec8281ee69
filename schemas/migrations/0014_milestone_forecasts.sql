-- Milestone forecasts (docs/metrics.md items 21-23), one row per run and open milestone, kept for their
-- history: a run writes every milestone it forecast with the run's instant (computed_at, also version);
-- the forecasts as of an instant are the rows of the latest run at or before it.
--   as_of          the instant the inputs were read at (the run's instant)
--   committed      the committed date the forecast is measured against (NULL: none)
--   p50, p85, p95  completion dates at those percentiles of the trials (NULL beyond the horizon or no number)
--   confidence     P(done by the committed date); NULL without a committed date or a number
--   band           on track | at risk | off track ('' without a confidence)
--   ok             1 with a number; 0 with the reason there is none
--   drivers        sentences a person reads: why the forecast is what it is
--   critical_path  the blocker chain that sets the date most often, as keys
--   inputs         the ForecastInputs as JSON (a blocker's per-trial finish kept as 21 quantiles)
CREATE TABLE IF NOT EXISTS milestone_forecasts
(
    source         LowCardinality(String),
    milestone_id   String,
    name           String,
    program        LowCardinality(String),
    team           LowCardinality(String),
    as_of          DateTime64(3, 'UTC'),
    computed_at    DateTime64(3, 'UTC'),
    committed      Nullable(Date32),
    p50            Nullable(Date32),
    p85            Nullable(Date32),
    p95            Nullable(Date32),
    confidence     Nullable(Float64),
    band           LowCardinality(String),
    ok             UInt8,
    reason         String,
    drivers        Array(String),
    critical_path  Array(String),
    inputs         String,
    trials         UInt32,
    seed           UInt32,
    version        UInt64
)
ENGINE = MergeTree
ORDER BY (source, milestone_id, computed_at);
