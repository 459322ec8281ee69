import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import type { PlacedRow } from './records.js';

/** The forms rows come in: CSV with a header row, a JSON object or array, NDJSON, a YAML list. */
export const ROW_FORMATS = ['csv', 'json', 'ndjson', 'yaml'] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

/** A body or file that cannot be read as rows at all (not one row of it is taken); the message names the line. */
export class RowFormatError extends Error {
  override readonly name = 'RowFormatError';
}

const EXTENSIONS: Record<string, RowFormat> = {
  '.csv': 'csv',
  '.json': 'json',
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.yaml': 'yaml',
  '.yml': 'yaml',
};

/** The form of a file by its extension; undefined for another one. */
export function formatOfFile(file: string): RowFormat | undefined {
  const m = /\.[a-z]+$/i.exec(file);
  return m !== null ? EXTENSIONS[m[0].toLowerCase()] : undefined;
}

export const FILE_EXTENSIONS = Object.keys(EXTENSIONS);

const CONTENT_TYPES: Record<string, RowFormat> = {
  'application/json': 'json',
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/csv': 'csv',
  'application/yaml': 'yaml',
  'application/x-yaml': 'yaml',
  'text/yaml': 'yaml',
};

export const ACCEPTED_CONTENT_TYPES = Object.keys(CONTENT_TYPES);

/** The form of a body by its Content-Type (JSON when none is given); undefined for another type. */
export function formatOfContentType(contentType: string | undefined): RowFormat | undefined {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === '' ? 'json' : CONTENT_TYPES[type];
}

/** The rows of a text in `format`, each with its place; throws RowFormatError when the text as a whole cannot be read. */
export function readRows(text: string, format: RowFormat): PlacedRow[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  switch (format) {
    case 'csv':
      return csvRows(body);
    case 'json':
      return jsonRows(body);
    case 'ndjson':
      return ndjsonRows(body);
    case 'yaml':
      return yamlRows(body);
  }
}

/** One CSV record: its cells and the line it starts on. */
export interface CsvRecord {
  cells: string[];
  line: number;
}

const countNewlines = (s: string): number => {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return n;
};

/**
 * RFC 4180 records: fields separated by commas, records by CRLF or LF; a field in double quotes may hold
 * commas, line breaks and quotes (written twice). A leading BOM is dropped. Blank lines are skipped.
 */
export function parseCsv(input: string): CsvRecord[] {
  const text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  const out: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const cells: string[] = [];
    for (;;) {
      if (text[i] === '"') {
        const opened = line;
        let value = '';
        i++;
        for (;;) {
          const q = text.indexOf('"', i);
          if (q === -1)
            throw new RowFormatError(`line ${opened}: a quoted field is never closed (a quote inside one is written twice: "")`);
          const part = text.slice(i, q);
          value += part;
          line += countNewlines(part);
          if (text[q + 1] === '"') {
            value += '"';
            i = q + 2;
            continue;
          }
          i = q + 1;
          break;
        }
        const next = text[i];
        if (i < n && next !== ',' && next !== '\n' && next !== '\r')
          throw new RowFormatError(
            `line ${line}: text after a quoted field's closing quote (a quote inside a quoted field is written twice: "")`,
          );
        cells.push(value);
      } else {
        let j = i;
        while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
        cells.push(text.slice(i, j));
        i = j;
      }
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (cells.length === 1 && cells[0] === '') continue;
    out.push({ cells, line: start });
  }
  return out;
}

function csvRows(text: string): PlacedRow[] {
  const [head, ...records] = parseCsv(text);
  if (head === undefined) throw new RowFormatError('line 1: no header row (the first line names the columns)');
  const columns = head.cells.map((c) => c.trim());
  const seen = new Set<string>();
  columns.forEach((c, i) => {
    if (c === '') throw new RowFormatError(`line ${head.line}: column ${i + 1} of the header row has no name`);
    if (seen.has(c)) throw new RowFormatError(`line ${head.line}: the header row names column '${c}' twice`);
    seen.add(c);
  });
  return records.map(({ cells, line }, i) => {
    const place = { row: i + 1, line };
    if (cells.length !== columns.length)
      return { row: undefined, place, problem: `${cells.length} cells where the header row has ${columns.length} columns` };
    return { row: Object.fromEntries(columns.map((c, k) => [c, cells[k]!])), place };
  });
}

/** The line of a character offset. */
const lineAt = (text: string, offset: number): number => countNewlines(text.slice(0, offset)) + 1;

/** Why JSON.parse refused a text, with the line when its message gives the position. */
function jsonProblem(err: unknown, text: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const position = /position (\d+)/.exec(message);
  return position !== null ? `line ${lineAt(text, Number(position[1]))}: not JSON: ${message}` : `not JSON: ${message}`;
}

/** The offsets where the elements of a top-level JSON array start (the text is valid JSON). */
function elementOffsets(text: string): number[] {
  const out: number[] = [];
  let depth = 0;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === ' ' || ch === '\n' || ch === '\r' || ch === '\t') continue;
    if (depth === 1 && expecting && ch !== ']') {
      out.push(i);
      expecting = false;
    }
    if (ch === '"') {
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (ch === '[' || ch === '{') {
      depth++;
      if (depth === 1) expecting = true;
    } else if (ch === ']' || ch === '}') depth--;
    else if (ch === ',' && depth === 1) expecting = true;
  }
  return out;
}

function jsonRows(text: string): PlacedRow[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new RowFormatError(jsonProblem(err, text));
  }
  if (Array.isArray(body)) {
    const offsets = elementOffsets(text);
    return body.map((row: unknown, index) => ({ row, place: { row: index + 1, index, line: lineAt(text, offsets[index] ?? 0) } }));
  }
  if (body !== null && typeof body === 'object') return [{ row: body, place: { row: 1 } }];
  throw new RowFormatError('expected a JSON object (one row) or an array of rows');
}

function ndjsonRows(text: string): PlacedRow[] {
  const out: PlacedRow[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    const place = { row: out.length + 1, line: i + 1 };
    try {
      out.push({ row: JSON.parse(line) as unknown, place });
    } catch (err) {
      out.push({ row: undefined, place, problem: `not JSON: ${err instanceof Error ? err.message : String(err)}` });
    }
  });
  return out;
}

/**
 * A YAML list of rows (or one mapping, one row). Every scalar is read as text, as a CSV cell is, so a
 * release named 2026.10 stays '2026.10' and a date stays the date written.
 */
function yamlRows(text: string): PlacedRow[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, schema: 'failsafe', prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    const at = lines.linePos(first.pos[0]);
    throw new RowFormatError(`line ${at.line}: not YAML: ${first.message.split('\n')[0] ?? ''}`);
  }
  const lineOf = (node: unknown): number | undefined => {
    const range = (node as Node | null)?.range;
    return range !== undefined && range !== null ? lines.linePos(range[0]).line : undefined;
  };
  const contents = doc.contents;
  if (isSeq(contents))
    return contents.items.map((item, i) => ({
      row: (item as Node | null)?.toJSON() as unknown,
      place: { row: i + 1, ...(lineOf(item) !== undefined ? { line: lineOf(item)! } : {}) },
    }));
  if (isMap(contents)) return [{ row: contents.toJSON() as unknown, place: { row: 1, line: lineOf(contents) ?? 1 } }];
  throw new RowFormatError('expected a YAML list of rows (or one mapping, one row)');
}
