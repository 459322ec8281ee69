-- The registers (ptel list: milestones, risks, decisions, actions, dependencies) as their last run took
-- them, for the dashboards. A run writes every row it lists (version = the run's instant, in ms * 1000)
-- and a deletion row for each row an earlier run listed that it no longer lists, so FINAL reads the
-- registers as they stand. `fields` holds the whole row as `ptel list --format json` gives it.
CREATE TABLE IF NOT EXISTS register_rows
(
    register        LowCardinality(String),
    row_key         String,
    position        UInt32,                   -- its place in the register's order (1 first)
    program         LowCardinality(String),
    team            LowCardinality(String),
    item            String,                   -- what a person calls it: a key (PAY-12), a milestone's name, 'B-1 blocks D-1'
    title           String,
    owner           String,
    status          LowCardinality(String),
    flag            LowCardinality(String),   -- red | amber | green: how a dashboard colours the row
    why             String,
    due             Nullable(Date32),         -- the date it is due by: committed date, due date, decision target
    milestone       String,
    milestone_date  Nullable(Date32),
    url             String,
    fields          String,
    computed_at     DateTime64(3, 'UTC'),
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (register, row_key);
