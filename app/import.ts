import { readFile } from 'node:fs/promises';
import { publishRecords } from '../connectors/core/publish.js';
import { FILE_EXTENSIONS, formatOfFile, readRows, rowRecords, RowFormatError, type RowFormat } from '../connectors/ingest/index.js';
import { INGEST_KIND_NAMES, isIngestKind, type IngestKind } from '../schemas/ingest.js';
import type { SourceRecord } from '../schemas/raw-event.js';
import { publishedThenStored } from './roles.js';
import type { Runtime } from './runtime.js';

/** An import that cannot start: an unknown kind, a file that cannot be read or is not rows; nothing was published. */
export class ImportError extends Error {
  override readonly name = 'ImportError';
}

/** The rows of a file checked by their kind's schema: the records of the good ones and the reasons of the bad ones. */
export interface ImportRows {
  kind: IngestKind;
  file: string;
  format: RowFormat;
  rows: number;
  records: SourceRecord[];
  /** 'row 3 (line 4): field 'score': expected a whole number from 1 to 5', one per refused row, in file order. */
  refused: string[];
}

export interface ImportResult extends Omit<ImportRows, 'records'> {
  /** Events published: every row when none was refused, the good rows with skipBad, else none. */
  published: number;
  /** Refused rows kept the whole file out (they were not skipped). */
  heldBack: boolean;
  /** Whether the events are stored too (embedded mode), or on the bus for the normalizers. */
  stored: boolean;
}

/** Reads and checks a file of `kind` rows (CSV, JSON, NDJSON or YAML by its extension). */
export async function readImport(kind: string, file: string): Promise<ImportRows> {
  if (!isIngestKind(kind)) throw new ImportError(`unknown kind '${kind}'; the kinds are ${INGEST_KIND_NAMES.join(', ')}`);
  const format = formatOfFile(file);
  if (format === undefined)
    throw new ImportError(`${file}: the file's form is told by its extension, one of ${FILE_EXTENSIONS.join(', ')}`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not allowed to read it' : (err as Error).message;
    throw new ImportError(`cannot read ${file}: ${why}`, { cause: err });
  }
  let rows;
  try {
    rows = readRows(text, format);
  } catch (err) {
    if (err instanceof RowFormatError) throw new ImportError(`${file}: ${err.message}`, { cause: err });
    throw err;
  }
  if (rows.length === 0) throw new ImportError(`${file}: no ${kind} rows in it`);
  const { records, refused } = rowRecords(kind, rows);
  return { kind, file, format, rows: rows.length, records, refused };
}

/** What an import publishes with: the bus, the configuration (topic prefix), the clock (ingest time) and the metrics. */
export type ImportRuntime = Pick<Runtime, 'bus' | 'config' | 'clock' | 'metrics'>;

/** The records of a read that are published: all of them without a refused row, the good ones with skipBad, else none. */
function recordsToPublish(read: ImportRows, options: { skipBad?: boolean } = {}): SourceRecord[] {
  return read.refused.length > 0 && options.skipBad !== true ? [] : read.records;
}

/**
 * Publishes the checked rows of a file: with any refused row nothing, unless `skipBad`, which publishes
 * the good rows. Resolves once every published event is on the bus. Its events are `ingest.<kind>` from
 * connector `import/<kind>`; the same file imported again gives the same event ids.
 */
export async function publishImport(rt: ImportRuntime, read: ImportRows, options: { skipBad?: boolean } = {}): Promise<ImportResult> {
  const publish = recordsToPublish(read, options);
  if (publish.length > 0)
    await publishRecords(rt.bus, publish, `import/${read.kind}`, {
      topicPrefix: rt.config.kafka.topicPrefix,
      inFlight: rt.config.kafka.publishInFlight,
      clock: rt.clock,
      metrics: rt.metrics,
    });
  return unpublished(read, options, publish.length);
}

/** What an import of `read` says, `published` of its records having been published (none by default). */
function unpublished(read: ImportRows, options: { skipBad?: boolean } = {}, published = 0): ImportResult {
  const { records: _records, ...rest } = read;
  return { ...rest, published, heldBack: rest.refused.length > 0 && options.skipBad !== true, stored: false };
}

/**
 * The result of an import that publishes nothing (refused rows without skipBad, or no row at all), so no
 * runtime need start for it; undefined when it has records to publish.
 */
export function nothingToPublish(read: ImportRows, options: { skipBad?: boolean } = {}): ImportResult | undefined {
  return recordsToPublish(read, options).length === 0 ? unpublished(read, options) : undefined;
}

/** Reads, checks and publishes a file of `kind` rows (see readImport and publishImport). */
export async function importFile(
  rt: ImportRuntime,
  kind: string,
  file: string,
  options: { skipBad?: boolean } = {},
): Promise<ImportResult> {
  return publishImport(rt, await readImport(kind, file), options);
}

/**
 * `ptel import` once the file is read and checked (readImport, before any runtime is started): publishes
 * what it may, and in embedded mode has the events normalized and stored before it resolves.
 */
export async function importAndStore(rt: Runtime, read: ImportRows, options: { skipBad?: boolean } = {}): Promise<ImportResult> {
  // Nothing to publish (refused rows without skipBad): no normalizer is started.
  const none = nothingToPublish(read, options);
  if (none !== undefined) return none;
  const { result, stored } = await publishedThenStored(rt, () => publishImport(rt, read, options));
  return { ...result, stored };
}
