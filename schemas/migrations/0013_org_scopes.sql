-- The organisation's scopes as its configuration names them, for the dashboards' variables: a Program
-- picker shows "Checkout modernization", not checkout-modernization, and a Team picker lists the teams
-- of the chosen program. The metrics job writes every scope of the org config on each run (version = the
-- run's instant, in ms * 1000) and a deletion row for each scope a later configuration no longer names,
-- so FINAL reads the organisation as it is configured now.
--   kind     org | program | team | service | repo (the scope kinds of metric_values)
--   id       the scope id metric_values and the domain tables use
--   name     the configured name of a program or team; a service's or repository's own name
--   program  the program the scope belongs to (a program's own id; '' for the org)
--   team     the team the scope belongs to (a team's own id; '' for the org and a program)
CREATE TABLE IF NOT EXISTS org_scopes
(
    kind         LowCardinality(String),
    id           String,
    name         String,
    program      LowCardinality(String),
    team         LowCardinality(String),
    computed_at  DateTime64(3, 'UTC'),
    version      UInt64,
    is_deleted   UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (kind, id);
