-- The demo organisation's anchor: the settings its history is generated from (seed, months, teams) and
-- the instant that history ends. Kept in the store, so every process of a deployment, on any host,
-- generates the same entity versions and so the same event ids. The first use of a seed and size
-- writes the day it ran; processes that start together may each write one, and every reader takes the
-- earliest `now` written for its settings, so they converge on one anchor (connectors/demo/source.ts).
CREATE TABLE IF NOT EXISTS demo_anchors
(
    seed        Int64,
    months      UInt32,
    teams       UInt32,
    now         DateTime64(3, 'UTC'),
    written_at  DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (seed, months, teams, now);
