import { createHash } from 'node:crypto';
import type { DomainTable, DomainTables } from '../schemas/domain.js';
import type { ModelConfig } from '../infra/config/schema.js';
import type { Ownership } from './org-index.js';
import { MappingError, type TableRows } from './registry.js';

/** Rows for one domain table, typed by the table. */
export function rowsOf<T extends DomainTable>(table: T, rows: Array<DomainTables[T]>): TableRows {
  return { table, rows: rows as unknown as TableRows['rows'] };
}

/**
 * A row version: the entity's own time in ms, times 1000, plus a tiebreak (0..999) for versions within
 * one millisecond: a lifecycle rank (queued < running < done), or which payload shape is richer.
 */
export function rowVersion(at: string | Date, tiebreak = 0): number {
  const ms = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (Number.isNaN(ms)) throw new MappingError('invalid_time', `not a valid timestamp: ${String(at)}`);
  if (!Number.isInteger(tiebreak) || tiebreak < 0 || tiebreak > 999) throw new RangeError(`tiebreak ${tiebreak} is outside 0..999`);
  return Math.max(ms, 0) * 1000 + tiebreak;
}

/**
 * The version of a fact that never changes but arrives in several events (a commit in a push, in a pull
 * request's list and on its own): the richer shape first (`rank`, 0..899), then the later event, so
 * which event a row cites is the same on every replay.
 */
export function rankedVersion(rank: number, eventTime: string): number {
  if (!Number.isInteger(rank) || rank < 0 || rank >= 900) throw new RangeError(`rank ${rank} is outside 0..899`);
  const ms = Date.parse(eventTime);
  if (Number.isNaN(ms)) throw new MappingError('invalid_time', `not a valid timestamp: ${eventTime}`);
  // 1e13 ms reaches the year 2286; rank * 1e13 + ms stays below 2^53.
  return rank * 1e13 + ms;
}

/** An ISO-8601 UTC time from a vendor timestamp; `field` names it in the error when it is not one. */
export function iso(value: string | number | Date, field: string): string {
  const d = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(d.getTime())) throw new MappingError('invalid_time', `field '${field}': not a valid timestamp: ${String(value)}`);
  return d.toISOString();
}

/** Like iso(), for optional times: null stays null. */
export function isoOrNull(value: string | number | Date | null | undefined, field: string): string | null {
  return value === null || value === undefined || value === '' ? null : iso(value, field);
}

/** A calendar date 'YYYY-MM-DD' from a date or a timestamp (the UTC day), or null. */
export function isoDate(value: string | null | undefined, field: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return value;
  return iso(value, field).slice(0, 10);
}

/** The owner columns of a row: '' when the org mapping names no owner. */
export const ownerColumns = (o: Ownership | undefined): { team: string; program: string } => ({
  team: o?.team ?? '',
  program: o?.program ?? '',
});

/**
 * A commit's identity across a rebase or a cherry-pick: its authored time and message, which a rebase
 * keeps while the sha, parents and committer time change.
 */
export function commitFingerprint(authoredAt: string, message: string): string {
  return createHash('sha256')
    .update(`${iso(authoredAt, 'authored_at')}\n${message.trim()}`)
    .digest('hex')
    .slice(0, 24);
}

/** Whether a deployment environment counts as production (the configured set, case-insensitive). */
export function isProduction(environment: string | null | undefined, model: ModelConfig): boolean {
  if (environment === null || environment === undefined) return false;
  const e = environment.trim().toLowerCase();
  return model.productionEnvironments.some((p) => p.toLowerCase() === e);
}
