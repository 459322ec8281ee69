/**
 * The intake of facts from outside the trackers (schemas/ingest.ts): rows of readiness checks, survey
 * answers, outcome targets and actuals, adopters and FOCUS cost rows, received on `POST /ingest/<kind>`
 * or read from a file by `ptel import <kind> FILE`, and published as `ingest.<kind>` raw events.
 */
export { INGEST_SOURCES, ingestSource, refusalMessage } from './route.js';
export { describePlace, rowRecord, rowRecords, type PlacedRow, type RowPlace, type RowResult } from './records.js';
export { FILE_EXTENSIONS, formatOfFile, parseCsv, readRows, RowFormatError, ROW_FORMATS, type RowFormat } from './files.js';
