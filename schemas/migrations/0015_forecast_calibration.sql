-- Forecast calibration (docs/metrics.md items 21-22): each backtest run re-forecasts every milestone as of
-- each past week start with only what was known then, and scores the forecasts against what happened as
-- known at the run's instant (run_at, also version).
--
-- forecast_calibration: one row per run, scope and throughput basis.
--   from_day, to_day  the week starts covered (Mondays 00:00 in metrics.timeZone, both ends included)
--   scope_kind        org | program; scope_id 'org' for the organisation, else the program's id
--   basis             milestone | team share; '' for every forecast of the scope
--   forecasts         forecasts with a number, scored
--   resolved          forecasts whose P85 outcome is known: finished, or not finished with P85 passed
--   p85_hits          resolved forecasts done by their P85 date; p85_hit_rate = p85_hits / resolved
--                     (well calibrated: 0.8 to 0.9; NULL with none resolved)
--   brier             mean (confidence - done by the committed date)^2 over brier_forecasts forecasts
--                     whose committed outcome is known (NULL with none)
--   mae_days          mean |done day - P50| in days over mae_forecasts finished milestones; bias_days the
--                     mean of (done day - P50): above 0 the P50 came too early, below 0 too late
--   unresolved        forecasts whose P85 outcome is not known yet (left out of the hit rate)
CREATE TABLE IF NOT EXISTS forecast_calibration
(
    run_at           DateTime64(3, 'UTC'),
    from_day         Date32,
    to_day           Date32,
    scope_kind       LowCardinality(String),
    scope_id         String,
    basis            LowCardinality(String),
    forecasts        UInt32,
    resolved         UInt32,
    p85_hits         UInt32,
    p85_hit_rate     Nullable(Float64),
    brier            Nullable(Float64),
    brier_forecasts  UInt32,
    mae_days         Nullable(Float64),
    bias_days        Nullable(Float64),
    mae_forecasts    UInt32,
    unresolved       UInt32,
    version          UInt64
)
ENGINE = MergeTree
ORDER BY (run_at, scope_kind, scope_id, basis);

-- forecast_backtest_scores: one row per run, week start and milestone forecast with a number.
--   as_of            the week start's instant the forecast was made at
--   done_day         the day the milestone finished, as known at run_at (a version: its release date)
--   p85_hit          done by P85 (NULL: not known yet); on_time: done by the committed date (NULL: not known
--                    yet, or no committed date)
--   brier            (confidence - on_time)^2, NULL when either is NULL
--   p50_error_days   done_day - P50 in days (NULL: not finished, or no P50 within the horizon)
CREATE TABLE IF NOT EXISTS forecast_backtest_scores
(
    run_at          DateTime64(3, 'UTC'),
    as_of           DateTime64(3, 'UTC'),
    source          LowCardinality(String),
    milestone_id    String,
    name            String,
    program         LowCardinality(String),
    team            LowCardinality(String),
    basis           LowCardinality(String),
    committed       Nullable(Date32),
    p50             Nullable(Date32),
    p85             Nullable(Date32),
    confidence      Nullable(Float64),
    done_day        Nullable(Date32),
    p85_hit         Nullable(UInt8),
    on_time         Nullable(UInt8),
    brier           Nullable(Float64),
    p50_error_days  Nullable(Int32),
    version         UInt64
)
ENGINE = MergeTree
ORDER BY (run_at, source, milestone_id, as_of);
