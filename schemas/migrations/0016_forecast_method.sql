-- What a forecast's dates rest on (docs/forecasts.md, "Cadence"): 'throughput', the remaining work
-- simulated against the throughput; 'cadence', the dates the owning team's recent milestones of the
-- same kind finished at, relative to their committed dates. Runs stored before this column read as
-- 'throughput', the only method they had.
ALTER TABLE milestone_forecasts ADD COLUMN IF NOT EXISTS method LowCardinality(String) DEFAULT 'throughput' AFTER band;
