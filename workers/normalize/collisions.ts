import type { Row } from '../../infra/store/batch-writer.js';
import type { MapContext, MapperRegistry, Outcome } from '../../mapping/registry.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import type { RawKey } from './stored-raw.js';

/*
 * Payloads that differ under one event id.
 *
 * The id comes from source, type, subject and entity version, so two payloads share it when a vendor
 * changed an entity without moving its updated time (a Jira issue reassigned and commented on within
 * one millisecond), or when a webhook and a pull of one version carry different field sets. raw_events
 * and the domain tables each keep one row per key, the row inserted last when versions tie, so
 * without a rule the payload that happened to arrive last would win, and the two tables could keep
 * different ones.
 *
 * The rule: of the payloads under one id, the one that ranks highest is kept, ranked by
 *   1. what its mapping gives: rows over a deliberate drop over a dead letter;
 *   2. the version of the first row its mapping gives (the entity's own row): where a mapper ranks
 *      one shape of a version above another (a GitLab issue pulled carries more than its webhook
 *      delivery), the domain table keeps that shape's row whatever the order, so raw_events keeps it too;
 *   3. the greatest digest (payloadDigest), the last tiebreak, which depends on the content alone.
 * The rank depends on nothing but the payload (and the mappers), so every normalizer and every replay
 * picks the same one whatever the order of arrival. The normalizer stores and maps only the payload
 * kept (normalizeDecoded) and, after it wrote, makes sure the kept one was written last
 * (settleCollisions); a replay maps what raw_events kept.
 */

/** The outcome counted for an event whose id holds a payload that ranks higher: neither stored nor mapped. */
export const SUPERSEDED = 'superseded';

/** A raw key and the digest of one of its payloads. */
export type KeyedDigest = RawKey & { digest: string };

/** How a payload ranks among the payloads of its event id (see above). */
export interface PayloadRank {
  outcome: number;
  version: number;
  digest: string;
}

const OUTCOME_RANK: Record<Outcome['kind'], number> = { ok: 2, drop: 1, dead_letter: 0 };

/** The rank of a payload whose mapping gave `outcome`. */
export function rankOf(outcome: Outcome, digest: string): PayloadRank {
  const first = outcome.kind === 'ok' ? outcome.rows.find((t) => t.rows.length > 0)?.rows[0] : undefined;
  const version = first?.['version'];
  return { outcome: OUTCOME_RANK[outcome.kind], version: typeof version === 'number' ? version : 0, digest };
}

/** The rank of a payload, mapping it. */
export const rankPayload = (event: RawEvent, digest: string, registry: MapperRegistry, context: MapContext): PayloadRank =>
  rankOf(registry.apply(event, context), digest);

/** Orders ranks: negative when `a` ranks below `b`, 0 only for one payload. */
export function compareRanks(a: PayloadRank, b: PayloadRank): number {
  return a.outcome - b.outcome || a.version - b.version || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0);
}

/** A raw_event_collisions row: the digests of the payloads seen under one id, noticed at `seenAt`. */
export function collisionRow(key: RawKey, digests: Iterable<string>, seenAt: string): Row {
  return {
    source: key.source,
    type: key.type,
    subject: key.subject,
    id: key.id,
    digests: [...digests].sort(),
    first_seen: seenAt,
    last_seen: seenAt,
  };
}
