-- Payloads that differ under one event id. The id comes from source, type, subject and entity version,
-- so a vendor that changes an entity without moving its updated time (or a webhook and a pull of one
-- version with different field sets) sends two payloads under one id. Of those, one is kept, by a rank
-- that depends on the payload alone (workers/normalize/collisions.ts; its last tiebreak is the greatest
-- digest): raw_events stores it, the domain rows are mapped from it, and a replay maps it again,
-- whatever order the payloads arrived in.
--
-- digest: SHA-256 (lower-case hex) of `data` as stored, the JSON text of the payload. The normalizer
-- writes it; rows stored before this migration compute it from their data when read (the same value
-- the normalizer would have written), and keep it once their parts merge. No row is rewritten.
ALTER TABLE raw_events ADD COLUMN IF NOT EXISTS digest String DEFAULT lower(hex(SHA256(data)));

-- Each event id that arrived with more than one payload: one row per id after merges, holding the
-- digests of every payload seen under it, when the difference was first
-- and last noticed. Identical re-deliveries add nothing: they have the digest already listed.
CREATE TABLE IF NOT EXISTS raw_event_collisions
(
    source      LowCardinality(String),
    type        LowCardinality(String),
    subject     String,
    id          String,
    digests     SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    first_seen  SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen   SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (source, type, subject, id);
