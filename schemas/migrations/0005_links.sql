-- Links between facts, computed by the linker from the domain tables. Every link row says how it was
-- made (method: explicit, inferred or none; rule: which rule; evidence: what matched), so a number can be
-- audited down to the facts behind it. The linker recomputes links on every run: a link that no longer
-- holds gets an is_deleted row. version = the linker run's time (ms * 1000), linked_at the same instant.

-- A deployment with its outcome (from its statuses) and its place in its service's history.
CREATE TABLE IF NOT EXISTS deployment_facts
(
    source                  LowCardinality(String),
    deployment_id           String,
    repo                    String,
    service                 LowCardinality(String),
    environment             LowCardinality(String),
    is_production           UInt8,
    sha                     String,
    ref                     String,
    result                  LowCardinality(String),   -- success | failure | cancelled | running | unknown
    raw_result              LowCardinality(String),
    created_at              DateTime64(3, 'UTC'),
    started_at              DateTime64(3, 'UTC'),
    finished_at             Nullable(DateTime64(3, 'UTC')),
    previous_deployment_id  String,                   -- the previous successful deployment of the service and environment
    is_rollback             UInt8,                    -- deploys an ancestor of what the previous one deployed
    rolled_back_by          String,                   -- the deployment that rolled this one back
    is_hotfix               UInt8,
    hotfix_rule             LowCardinality(String),   -- incident_reference | ref_pattern | text_pattern | label | ''
    hotfix_for              String,                   -- the deployment a hotfix repaired: its incident's deployment, else the previous one
    commit_count            UInt32,
    team                    LowCardinality(String),
    program                 LowCardinality(String),
    raw_event_id            String,
    linked_at               DateTime64(3, 'UTC'),
    version                 UInt64,
    is_deleted              UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, deployment_id);

-- The commits each deployment shipped: reachable from its sha and not from the previous successful
-- deployment of the same service and environment. method: explicit (walked the commit graph),
-- inferred (the graph had holes: parents guessed from a push, or missing), none (the deployed sha is unknown).
CREATE TABLE IF NOT EXISTS deployment_commits
(
    deployment_source       LowCardinality(String),
    deployment_id           String,
    repo                    String,
    sha                     String,
    service                 LowCardinality(String),
    environment             LowCardinality(String),
    method                  LowCardinality(String),
    rule                    LowCardinality(String),   -- graph | graph_incomplete | unknown_sha | first_deployment
    previous_deployment_id  String,
    linked_at               DateTime64(3, 'UTC'),
    version                 UInt64,
    is_deleted              UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (deployment_source, deployment_id, sha);

-- Which pull request each commit belongs to. explicit: the commit is in the PR's commit list, or is its
-- merge commit (merge and squash merges); inferred: a default-branch commit with the fingerprint of one
-- of the PR's commits (a rebase merge rewrites shas but keeps authored time and message).
CREATE TABLE IF NOT EXISTS commit_pull_requests
(
    source          LowCardinality(String),
    repo            String,
    sha             String,
    number          UInt64,
    method          LowCardinality(String),
    rule            LowCardinality(String),   -- pr_commit | merge_commit | fingerprint
    evidence        String,
    linked_at       DateTime64(3, 'UTC'),
    version         UInt64,
    is_deleted      UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, repo, sha, number);

-- Which deployment an incident is attributed to. explicit: the incident names the deployment, its sha,
-- pull request, release tag or ref; inferred: it started within the window after the service's latest
-- production deployment finished; none: neither (one row, deployment_id '').
CREATE TABLE IF NOT EXISTS incident_deployments
(
    incident_source     LowCardinality(String),
    incident_id         String,
    deployment_source   LowCardinality(String),
    deployment_id       String,
    service             LowCardinality(String),
    method              LowCardinality(String),
    rule                LowCardinality(String),   -- deployment_id | sha | pull_request | ref | time_window | no_match
    evidence            String,
    linked_at           DateTime64(3, 'UTC'),
    version             UInt64,
    is_deleted          UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (incident_source, incident_id, deployment_source, deployment_id);

-- Hotfix deployments and the incident each one fixed. explicit: the deployment or one of its pull
-- requests names the incident; inferred: a hotfix by the configured rule, matched to the incident of its
-- service that was open when it was deployed; none: a hotfix by rule with no open incident.
CREATE TABLE IF NOT EXISTS deployment_incident_fixes
(
    deployment_source   LowCardinality(String),
    deployment_id       String,
    incident_source     LowCardinality(String),
    incident_id         String,
    service             LowCardinality(String),
    method              LowCardinality(String),
    rule                LowCardinality(String),
    evidence            String,
    linked_at           DateTime64(3, 'UTC'),
    version             UInt64,
    is_deleted          UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (deployment_source, deployment_id, incident_source, incident_id);

-- Whether each bug was found in production, and by which rule: found_in (the found-in field or
-- environment names a production environment), label, incident_reference (the bug and an incident name
-- each other). A bug no rule matches has found_in_production 0 and method none.
CREATE TABLE IF NOT EXISTS work_item_production
(
    source               LowCardinality(String),
    item_id              String,
    found_in_production  UInt8,
    method               LowCardinality(String),
    rule                 LowCardinality(String),
    evidence             String,
    incident_source      LowCardinality(String),
    incident_id          String,
    linked_at            DateTime64(3, 'UTC'),
    version              UInt64,
    is_deleted           UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, item_id);
