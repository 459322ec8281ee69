-- The domain model: one table per kind of fact, written by the mappers from RawEvents.
--
-- Conventions shared by every table here:
--   source        the system the fact came from (github, gitlab, jenkins, cdevents, jira, pagerduty)
--   team/program  the owner from the org mapping, '' when the config does not name one
--   raw_event_id  the RawEvent this row version was mapped from: the way back to the vendor payload
--   version       the entity's own updated time in ms * 1000 + a tiebreak (lifecycle rank, payload shape),
--                 so duplicates and out-of-order versions converge on the latest under FINAL
--   is_deleted    1 on the row that records a deletion (FINAL then drops the entity)
-- Times are UTC. Person columns hold the id from the config's people mapping, or a pseudonym
-- (source-prefixed digest of the vendor's account id): no names, e-mail addresses or logins are stored.

CREATE TABLE IF NOT EXISTS repositories
(
    source          LowCardinality(String),
    repo            String,
    name            String,
    url             String,
    default_branch  String,
    created_at      Nullable(DateTime64(3, 'UTC')),
    updated_at      DateTime64(3, 'UTC'),
    team            LowCardinality(String),
    program         LowCardinality(String),
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, repo);

CREATE TABLE IF NOT EXISTS pull_requests
(
    source            LowCardinality(String),
    repo              String,
    number            UInt64,
    pr_id             String,
    title             String,
    author            String,
    state             LowCardinality(String),   -- open | closed | merged
    raw_state         LowCardinality(String),
    draft             UInt8,
    base_branch       String,
    head_branch       String,
    head_sha          String,
    merge_commit_sha  String,
    labels            Array(String),
    created_at        DateTime64(3, 'UTC'),
    updated_at        DateTime64(3, 'UTC'),
    merged_at         Nullable(DateTime64(3, 'UTC')),
    closed_at         Nullable(DateTime64(3, 'UTC')),
    team              LowCardinality(String),
    program           LowCardinality(String),
    url               String,
    raw_event_id      String,
    version           UInt64,
    is_deleted        UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, repo, number);

-- A pull request's commit list as one row (a force push replaces the whole list).
-- fingerprints: digest of (authored time, message), unchanged by a rebase, to match rebased commits.
CREATE TABLE IF NOT EXISTS pull_request_commits
(
    source          LowCardinality(String),
    repo            String,
    number          UInt64,
    head_sha        String,
    shas            Array(String),
    authored_at     Array(DateTime64(3, 'UTC')),
    fingerprints    Array(String),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, repo, number);

CREATE TABLE IF NOT EXISTS reviews
(
    source          LowCardinality(String),
    repo            String,
    number          UInt64,
    review_id       String,
    reviewer        String,
    state           LowCardinality(String),   -- approved | changes_requested | commented | dismissed | pending
    raw_state       LowCardinality(String),
    submitted_at    DateTime64(3, 'UTC'),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, repo, number, review_id);

-- Every commit seen (default branch, pull request lists, pushes). parents_known = 0 when the parents
-- were inferred from a push's order rather than read from the commit itself.
CREATE TABLE IF NOT EXISTS commits
(
    source          LowCardinality(String),
    repo            String,
    sha             String,
    parents         Array(String),
    parents_known   UInt8,
    author          String,
    authored_at     DateTime64(3, 'UTC'),
    committed_at    DateTime64(3, 'UTC'),
    fingerprint     String,
    team            LowCardinality(String),
    program         LowCardinality(String),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, repo, sha);

-- A deployment's own attributes. Its outcome is in deployment_statuses (one row per status change).
CREATE TABLE IF NOT EXISTS deployments
(
    source          LowCardinality(String),
    deployment_id   String,
    repo            String,
    service         LowCardinality(String),
    environment     LowCardinality(String),
    is_production   UInt8,
    sha             String,
    ref             String,
    description     String,
    is_rollback     UInt8,
    created_at      DateTime64(3, 'UTC'),
    team            LowCardinality(String),
    program         LowCardinality(String),
    url             String,
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, deployment_id);

CREATE TABLE IF NOT EXISTS deployment_statuses
(
    source          LowCardinality(String),
    deployment_id   String,
    status_id       String,
    state           LowCardinality(String),   -- queued | in_progress | success | failure | error | cancelled | inactive
    raw_state       LowCardinality(String),
    at              DateTime64(3, 'UTC'),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, deployment_id, status_id);

-- CI: GitHub Actions workflow runs, GitLab pipelines, Jenkins builds, CDEvents pipeline runs.
CREATE TABLE IF NOT EXISTS pipeline_runs
(
    source          LowCardinality(String),
    run_id          String,
    repo            String,
    pipeline        String,                   -- what the org mapping's ci.pipelines names
    name            String,
    sha             String,
    branch          String,
    trigger         LowCardinality(String),
    status          LowCardinality(String),   -- queued | running | done
    result          LowCardinality(String),   -- success | failure | cancelled | skipped | '' while running
    raw_result      LowCardinality(String),
    attempt         UInt32,
    created_at      DateTime64(3, 'UTC'),
    started_at      Nullable(DateTime64(3, 'UTC')),
    finished_at     Nullable(DateTime64(3, 'UTC')),
    service         LowCardinality(String),
    team            LowCardinality(String),
    program         LowCardinality(String),
    url             String,
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, run_id);

CREATE TABLE IF NOT EXISTS pipeline_jobs
(
    source          LowCardinality(String),
    job_id          String,
    run_id          String,
    repo            String,
    pipeline        String,
    name            String,
    sha             String,
    status          LowCardinality(String),
    result          LowCardinality(String),
    raw_result      LowCardinality(String),
    started_at      Nullable(DateTime64(3, 'UTC')),
    finished_at     Nullable(DateTime64(3, 'UTC')),
    team            LowCardinality(String),
    program         LowCardinality(String),
    url             String,
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, job_id);

CREATE TABLE IF NOT EXISTS incidents
(
    source           LowCardinality(String),
    incident_id      String,
    number           String,
    title            String,
    service_id       String,                  -- the vendor's service id (PagerDuty service)
    service          LowCardinality(String),  -- the deployable service from the org mapping, '' if unknown
    urgency          LowCardinality(String),  -- high | low
    severity         LowCardinality(String),  -- sev1 .. sev5, '' when the vendor gives none
    raw_severity     String,
    status           LowCardinality(String),  -- triggered | acknowledged | resolved
    raw_status       LowCardinality(String),
    created_at       DateTime64(3, 'UTC'),
    acknowledged_at  Nullable(DateTime64(3, 'UTC')),
    resolved_at      Nullable(DateTime64(3, 'UTC')),
    description      String,                  -- text searched for explicit deployment references
    team             LowCardinality(String),
    program          LowCardinality(String),
    url              String,
    raw_event_id     String,
    version          UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, incident_id);

-- The timeline of an incident (PagerDuty log entries): first acknowledgement, resolution, notes.
CREATE TABLE IF NOT EXISTS incident_events
(
    source          LowCardinality(String),
    incident_id     String,
    event_id        String,
    kind            LowCardinality(String),   -- trigger | acknowledge | resolve | escalate | assign | annotate | other
    raw_type        LowCardinality(String),
    at              DateTime64(3, 'UTC'),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, incident_id, event_id);

-- Services as the vendors know them (PagerDuty services, CDEvents services), mapped to the org's.
CREATE TABLE IF NOT EXISTS services
(
    source          LowCardinality(String),
    service_id      String,
    name            String,
    service         LowCardinality(String),
    team            LowCardinality(String),
    program         LowCardinality(String),
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, service_id);

CREATE TABLE IF NOT EXISTS releases
(
    source          LowCardinality(String),
    release_id      String,
    repo            String,
    tag             String,
    name            String,
    is_draft        UInt8,
    is_prerelease   UInt8,
    created_at      DateTime64(3, 'UTC'),
    published_at    Nullable(DateTime64(3, 'UTC')),
    service         LowCardinality(String),
    team            LowCardinality(String),
    program         LowCardinality(String),
    url             String,
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, release_id);

CREATE TABLE IF NOT EXISTS work_items
(
    source            LowCardinality(String),
    item_id           String,
    key               String,
    project           LowCardinality(String),
    type              LowCardinality(String),  -- the site's issue type name
    kind              LowCardinality(String),  -- bug | story | task | subtask | epic | risk | decision | action | other
    status            LowCardinality(String),
    status_category   LowCardinality(String),  -- todo | in_progress | done
    priority          LowCardinality(String),
    priority_rank     UInt8,                   -- 1 highest .. 5 lowest, 0 unknown
    assignee          String,
    reporter          String,
    components        Array(String),
    labels            Array(String),
    due_date          Nullable(Date32),
    start_date        Nullable(Date32),
    fix_versions      Array(String),           -- milestone ids
    affects_versions  Array(String),
    sprints           Array(String),           -- milestone ids
    parent_id         String,                  -- epic or parent item id
    story_points      Nullable(Float64),
    severity          String,
    found_in          String,                  -- the configured "found in" field or environment, as text
    created_at        DateTime64(3, 'UTC'),
    updated_at        DateTime64(3, 'UTC'),
    resolved_at       Nullable(DateTime64(3, 'UTC')),
    resolution        String,
    summary           String,
    team              LowCardinality(String),
    program           LowCardinality(String),
    url               String,
    raw_event_id      String,
    version           UInt64,
    is_deleted        UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, item_id);

-- Every field change of a work item (the Jira changelog). Additive: a change never changes.
CREATE TABLE IF NOT EXISTS work_item_history
(
    source          LowCardinality(String),
    item_id         String,
    history_id      String,
    field           LowCardinality(String),
    field_id        LowCardinality(String),
    from_value      String,
    from_string     String,
    to_value        String,
    to_string       String,
    changed_at      DateTime64(3, 'UTC'),
    author          String,
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, item_id, history_id, field, from_value, to_value);

-- Links between work items, oriented: for 'blocks', from = the blocker and to = the blocked item.
-- Keyed by the items' keys so a removal read from the changelog lands on the same row.
CREATE TABLE IF NOT EXISTS work_item_links
(
    source          LowCardinality(String),
    from_key        String,
    to_key          String,
    link_type       LowCardinality(String),   -- blocks | relates | duplicates | clones | other
    raw_type        String,
    link_id         String,
    from_item_id    String,
    to_item_id      String,
    created_at      Nullable(DateTime64(3, 'UTC')),
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, from_key, to_key, link_type);

-- Milestones: Jira versions, sprints, and epics with a due date.
CREATE TABLE IF NOT EXISTS milestones
(
    source          LowCardinality(String),
    milestone_id    String,                   -- 'version/<id>', 'sprint/<id>', 'epic/<item id>'
    kind            LowCardinality(String),   -- version | sprint | epic
    name            String,
    project         LowCardinality(String),
    state           LowCardinality(String),   -- open | active | done | archived
    raw_state       LowCardinality(String),
    start_date      Nullable(Date32),
    committed_date  Nullable(Date32),          -- release date, sprint end, epic due date
    completed_at    Nullable(DateTime64(3, 'UTC')),
    team            LowCardinality(String),
    program         LowCardinality(String),
    url             String,
    raw_event_id    String,
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, milestone_id);

-- Each committed date a milestone was seen with, and when: the history behind on-time rate against
-- the original plan and re-plan frequency. From snapshots (versions, sprints) or the changelog (epics).
CREATE TABLE IF NOT EXISTS milestone_dates
(
    source          LowCardinality(String),
    milestone_id    String,
    committed_date  Nullable(Date32),
    observed_at     DateTime64(3, 'UTC'),
    basis           LowCardinality(String),   -- snapshot | changelog
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, milestone_id, observed_at);
