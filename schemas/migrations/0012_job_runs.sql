-- One row per run of a job of the job table (the linker, the metrics, the stall detector, the monthly
-- export, the pulls), scheduled or asked for, whatever it changed: a run that found nothing to do is a
-- run all the same, and `ptel status` says when each job last ran from here. The instants come from the
-- runtime's clock.
CREATE TABLE IF NOT EXISTS job_runs
(
    job          LowCardinality(String),   -- link | metrics | stall-alerts | export | pull
    started_at   DateTime64(3, 'UTC'),
    finished_at  DateTime64(3, 'UTC'),
    outcome      LowCardinality(String),   -- ok | failed
    detail       String                    -- what the run did, or why it failed
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (job, started_at);
