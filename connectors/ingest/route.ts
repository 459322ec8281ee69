import type { IncomingHttpHeaders } from 'node:http';
import { ingestTokenEnv, type Config } from '../../infra/config/schema.js';
import { INGEST_KIND_NAMES, type IngestKind } from '../../schemas/ingest.js';
import type { WebhookSource } from '../core/types.js';
import { verifyBearer, WebhookPayloadError } from '../core/webhooks.js';
import { ACCEPTED_CONTENT_TYPES, formatOfContentType, readRows, RowFormatError } from './files.js';
import { rowRecords, type PlacedRow } from './records.js';

/** Refused rows named in one 400 answer at most; the answer says how many more there were. */
export const MAX_REFUSALS_NAMED = 20;

const header = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

const intakeOn = (config: Config): boolean => config.sources.ingest?.enabled !== false;

/** The refusals of a body, the first MAX_REFUSALS_NAMED of them named. */
export function refusalMessage(refused: string[], total: number): string {
  const named = refused.slice(0, MAX_REFUSALS_NAMED).join('; ');
  const more = refused.length > MAX_REFUSALS_NAMED ? `; and ${refused.length - MAX_REFUSALS_NAMED} more rows refused` : '';
  return `${refused.length} of ${total} rows refused, nothing of the body was taken: ${named}${more}`;
}

/**
 * `POST /ingest/<kind>`: rows of one kind as a JSON object (one row), a JSON array, NDJSON
 * (application/x-ndjson), CSV with a header row (text/csv) or a YAML list. Served by the webhook route,
 * so it has the webhooks' order and answers: 413 over the size limit, the bearer token of the kind checked
 * in constant time before anything is parsed (401), every row checked (400 naming each refused row and
 * field, nothing published), and 202 {accepted: N} only once every row is on the bus.
 */
export function ingestSource(kind: IngestKind): WebhookSource {
  const variable = ingestTokenEnv(kind);
  return {
    source: 'ingest',
    path: `ingest/${kind}`,
    route: `/ingest/${kind}`,
    connector: `ingest/${kind}`,
    enabled: (config) => intakeOn(config) && config.secrets.ingestTokens[kind] !== undefined,
    notEnabled: (config) =>
      intakeOn(config)
        ? `the ${kind} intake is not configured on this server: set ${variable} to the token its senders use`
        : 'the intake is turned off on this server (sources.ingest.enabled is false)',
    verify: (_rawBody, headers, config) =>
      verifyBearer(headers, config.secrets.ingestTokens[kind], {
        unset: `no token is configured for ${kind}: set ${variable}`,
        missing: `missing Authorization: Bearer token (the token of ${kind}, ${variable})`,
        mismatch: `the bearer token is not the token of ${kind} (${variable})`,
      }),
    parse(rawBody, headers): PlacedRow[] {
      const contentType = header(headers, 'content-type');
      const format = formatOfContentType(contentType);
      if (format === undefined)
        throw new WebhookPayloadError(`Content-Type ${contentType ?? ''} is not taken; send one of ${ACCEPTED_CONTENT_TYPES.join(', ')}`);
      let rows: PlacedRow[];
      try {
        rows = readRows(rawBody.toString('utf8'), format);
      } catch (err) {
        if (err instanceof RowFormatError) throw new WebhookPayloadError(`the ${format} body cannot be read: ${err.message}`);
        throw err;
      }
      if (rows.length === 0) throw new WebhookPayloadError(`the body holds no ${kind} rows`);
      return rows;
    },
    records(request) {
      const rows = request.body as PlacedRow[];
      const { records, refused } = rowRecords(kind, rows);
      if (refused.length > 0) throw new WebhookPayloadError(refusalMessage(refused, rows.length));
      return records;
    },
  };
}

/** The intake's endpoint of every kind. */
export const INGEST_SOURCES: WebhookSource[] = INGEST_KIND_NAMES.map(ingestSource);
