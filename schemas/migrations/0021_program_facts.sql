-- The facts a program is judged on that live outside the trackers (docs/metrics.md items 24-30), from
-- the `ingest` source: rows posted to /ingest/<kind>, imported with `ptel import`, published from the
-- configuration (outcome targets, planned adopters) or pulled from a query endpoint (outcome actuals).
-- One row per entity (the raw event's subject), the latest arrival winning: `version` is built from the
-- raw event's ingest time, so a corrected row replaces the one before it.

-- Readiness checks of a release or milestone at its go/no-go (item 24).
CREATE TABLE IF NOT EXISTS readiness_checks
(
    program         LowCardinality(String),
    release_name    String,                    -- the fix version's or milestone's name
    check_name      String,
    status          LowCardinality(String),    -- pass | fail | waived
    go_no_go        Date32,
    checked_at      DateTime64(3, 'UTC'),
    rationale       String,                    -- why a waived check was waived
    owner           String,
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (program, release_name, check_name);

-- Survey answers (items 25 and 26): no names and no comment texts, the answer's id only as a hash.
CREATE TABLE IF NOT EXISTS survey_responses
(
    survey          LowCardinality(String),    -- stakeholder_satisfaction | engineering_sentiment
    program         LowCardinality(String),
    response        String,                    -- hash of the survey tool's answer id
    submitted_at    DateTime64(3, 'UTC'),
    score           UInt8,                     -- 1 to 5
    comment_count   UInt32,
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (survey, program, response);

-- Outcome targets with their revisions (item 27): every version of a target is kept, ordered by set_at.
CREATE TABLE IF NOT EXISTS outcome_targets
(
    program         LowCardinality(String),
    outcome         String,
    target          Float64,
    direction       LowCardinality(String),    -- at_least | at_most
    due             Date32,
    unit            String,
    set_at          DateTime64(3, 'UTC'),
    rationale       String,                    -- why the target was revised ('' for the first)
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (program, outcome, set_at);

-- Observed values of the outcomes (item 27).
CREATE TABLE IF NOT EXISTS outcome_actuals
(
    program         LowCardinality(String),
    outcome         String,
    observed_at     DateTime64(3, 'UTC'),
    value           Float64,
    origin          LowCardinality(String),    -- import | prometheus | clickhouse
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (program, outcome, observed_at);

-- Planned adopters of a program and when each was enabled (item 28).
CREATE TABLE IF NOT EXISTS adopters
(
    program         LowCardinality(String),
    adopter         String,
    adopter_kind    LowCardinality(String),    -- team | customer
    target_date     Date32,
    enabled_at      Nullable(DateTime64(3, 'UTC')),  -- as imported; else from jira_issue or jira_label
    jira_issue      String,                    -- a Jira issue whose resolution enables the adopter
    jira_label      String,                    -- a label on Jira issues: the first one done enables it
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (program, adopter);

-- Cloud cost rows in the FinOps FOCUS format (item 29): allocated to programs when the metrics run, by
-- the configured tag or account mapping, so a changed mapping applies to all history.
CREATE TABLE IF NOT EXISTS cost_rows
(
    row_id              String,                -- hash of the row's content: a FOCUS row has no id
    charge_period_start DateTime64(3, 'UTC'),
    charge_period_end   DateTime64(3, 'UTC'),
    billed_cost         Float64,
    effective_cost      Nullable(Float64),
    currency            LowCardinality(String),
    charge_category     LowCardinality(String),
    provider            LowCardinality(String),
    sub_account_id      String,
    sub_account_name    String,
    service_name        String,
    resource_id         String,
    tags                Map(String, String),
    raw_event_id        String,
    version             UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(charge_period_start)
ORDER BY (charge_period_start, row_id);
