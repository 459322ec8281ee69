-- Each step of an entity's lifecycle as reported by event-per-step sources (CDEvents: a run queued,
-- started, finished; a change created, merged; an incident detected, resolved; a ticket created, closed).
-- The entity's own row holds its latest state; the times of earlier steps are kept here.
CREATE TABLE IF NOT EXISTS lifecycle_events
(
    source          LowCardinality(String),
    entity          LowCardinality(String),   -- pipeline_run | pipeline_job | pull_request | incident | work_item
    entity_id       String,                   -- run_id, job_id, '<repo>#<number>', incident_id, item_id
    step            LowCardinality(String),   -- the source's own word: queued, started, finished, detected, ...
    at              DateTime64(3, 'UTC'),
    raw_event_id    String,
    version         UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (source, entity, entity_id, step, at);

-- Incidents with the times the metrics read, from every place that knows them: the incident's own
-- latest version, its timeline (PagerDuty log entries) and its lifecycle events (CDEvents). Written by
-- the linker. created_at: the earliest trigger; acknowledged_at: the first acknowledgement; resolved_at:
-- when it was resolved, null while it is open (a reopened incident is open again).
CREATE TABLE IF NOT EXISTS incident_facts
(
    source           LowCardinality(String),
    incident_id      String,
    number           String,
    title            String,
    service          LowCardinality(String),
    urgency          LowCardinality(String),
    severity         LowCardinality(String),
    status           LowCardinality(String),
    created_at       DateTime64(3, 'UTC'),
    acknowledged_at  Nullable(DateTime64(3, 'UTC')),
    resolved_at      Nullable(DateTime64(3, 'UTC')),
    team             LowCardinality(String),
    program          LowCardinality(String),
    raw_event_id     String,
    linked_at        DateTime64(3, 'UTC'),
    version          UInt64,
    is_deleted       UInt8 DEFAULT 0
)
ENGINE = ReplacingMergeTree(version, is_deleted)
ORDER BY (source, incident_id);
