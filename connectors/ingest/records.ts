import type { z } from 'zod';
import { INGEST_KINDS, ingestRecord, type IngestKind, type IngestPayload } from '../../schemas/ingest.js';
import type { SourceRecord } from '../../schemas/raw-event.js';

/** Where a row stands in what it came in: its number from 1, and its line or its index in a JSON array when known. */
export interface RowPlace {
  row: number;
  /** The line the row starts on (CSV, NDJSON, YAML, a JSON array read from text). */
  line?: number;
  /** Its index in a JSON array. */
  index?: number;
}

/** A row as read from a body or a file, before its kind's schema checked it. */
export interface PlacedRow {
  row: unknown;
  place: RowPlace;
  /** Why the row could not even be read (a CSV row with too many cells, an NDJSON line that is not JSON). */
  problem?: string;
}

/** 'row 3 (line 4)', 'row 3 (index 2, line 9)', 'row 1'. */
export function describePlace(place: RowPlace): string {
  const at = [place.index !== undefined ? `index ${place.index}` : undefined, place.line !== undefined ? `line ${place.line}` : undefined];
  const where = at.filter((x) => x !== undefined).join(', ');
  return `row ${place.row}${where !== '' ? ` (${where})` : ''}`;
}

export type RowResult = { ok: true; record: SourceRecord } | { ok: false; error: string };

/** The columns of a kind, for the message refusing one it does not have. */
function columnsOf(kind: IngestKind): string[] {
  let schema = INGEST_KINDS[kind].schema as z.ZodType;
  // A kind whose schema transforms the row (survey answers hash their id) checks the row with its input side.
  while (schema.def.type === 'pipe') schema = (schema as unknown as { in: z.ZodType }).in;
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape !== undefined ? Object.keys(shape) : [];
}

const ANONYMITY =
  'a survey response carries no names, e-mail addresses or comment texts, only the score and how many comments came with it';

/** What is wrong with a row, one clause per problem, each naming its field. */
function problems(kind: IngestKind, row: unknown, error: z.ZodError): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.path.length === 0 && issue.code === 'invalid_type') {
      out.push(`expected an object of ${kind} fields, got ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row}`);
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const why = kind === 'survey_response' ? ANONYMITY : `the fields of ${kind} are ${columnsOf(kind).join(', ')}`;
        out.push(`field '${key}': not accepted (${why})`);
      }
      continue;
    }
    const field = issue.path.map(String).join('.');
    const value = issue.path.length === 1 ? (row as Record<string, unknown>)[String(issue.path[0])] : null;
    // A required field left out: zod says "expected string, received undefined".
    out.push(`field '${field}': ${value === undefined && issue.code === 'invalid_type' ? 'missing' : issue.message}`);
  }
  return out;
}

/**
 * One row of `kind` checked by its schema and turned into its record, or the reason it is refused:
 * "row 3 (line 4): field 'score': expected a whole number from 1 to 5". Both intake paths (the HTTP
 * route and `ptel import`) take rows through here.
 */
export function rowRecord(kind: IngestKind, row: unknown, place: RowPlace): RowResult {
  const where = describePlace(place);
  const parsed = INGEST_KINDS[kind].schema.safeParse(row);
  if (!parsed.success) return { ok: false, error: `${where}: ${problems(kind, row, parsed.error).join('; ')}` };
  try {
    return { ok: true, record: ingestRecord(kind, parsed.data as IngestPayload<typeof kind>) };
  } catch (err) {
    // An instant the schema let through that the record cannot be timed by.
    return { ok: false, error: `${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** The records of the rows that pass, and the reasons of those that do not, in the rows' order. */
export function rowRecords(kind: IngestKind, rows: Iterable<PlacedRow>): { records: SourceRecord[]; refused: string[] } {
  const records: SourceRecord[] = [];
  const refused: string[] = [];
  for (const r of rows) {
    const result: RowResult =
      r.problem !== undefined ? { ok: false, error: `${describePlace(r.place)}: ${r.problem}` } : rowRecord(kind, r.row, r.place);
    if (result.ok) records.push(result.record);
    else refused.push(result.error);
  }
  return { records, refused };
}
