/**
 * The store bridge: a process that holds the embedded store (the in-process ClickHouse engine binds
 * its data folder to one process) serves it over ClickHouse's own HTTP protocol on loopback, so other
 * processes read it with any ClickHouse HTTP client: @clickhouse/client (StoreTarget kind 'attached'),
 * curl, a local Grafana with the ClickHouse data source.
 *
 * The protocol subset served:
 * - `GET /ping` (and `HEAD`) answers `Ok.\n` without credentials; `GET /` without a query does too.
 * - A query on any other path: `POST` with the query in the body, or in the `query` URL parameter with
 *   the body as the statement's data (`INSERT ... FORMAT X` + rows, ClickHouse's rule: the body follows
 *   the URL's query after a line feed). `GET` runs with `readonly=2`, as ClickHouse does.
 * - `database` (X-ClickHouse-Database header or URL parameter; default: the store's database),
 *   `default_format` (X-ClickHouse-Format header or URL parameter; default TabSeparated), `query_id`,
 *   `param_<name>` query parameters (URL or multipart/form-data body), and every other URL parameter
 *   as a setting for that query alone.
 * - Credentials as ClickHouse takes them: X-ClickHouse-User/X-ClickHouse-Key headers, HTTP Basic, or
 *   `user`/`password` URL parameters; none means user `default` with an empty password. Only `default`
 *   with the bridge's password is let in; anything else is refused with code 516
 *   (AUTHENTICATION_FAILED) and HTTP 403, the status current ClickHouse gives that code.
 * - Request bodies compressed with Content-Encoding gzip, deflate or br (zstd where Node has it);
 *   responses compressed the same way when `enable_http_compression=1` and Accept-Encoding allow it.
 * - Responses carry X-ClickHouse-Query-Id, X-ClickHouse-Format, X-ClickHouse-Summary and a Content-Type
 *   for the format; errors carry ClickHouse's text (`Code: N. DB::Exception: ... (NAME)`),
 *   X-ClickHouse-Exception-Code and the HTTP status ClickHouse maps that code to, so clients raise
 *   their usual ClickHouseError.
 *
 * Limits: each request runs in a fresh engine session (its own current database, settings and
 * parameters, so one caller's SET never reaches another or the serving process), which means
 * `session_id` is accepted but does not carry SET or temporary tables from one request to the next.
 * Results are computed whole before the first byte is sent (the engine materialises them), so an
 * error is always reported with an error status and a result is held in memory while it is sent.
 * Request bodies are read whole, up to `maxBodyBytes`, and as UTF-8 text: inserts in text formats
 * (JSONEachRow, CSV, TSV, Values ...) work, binary input formats (Native, RowBinary) do not. ClickHouse's
 * own block compression (`compress=1`, `decompress=1`), progress headers, `role`, quotas and TLS are
 * not served. The bridge listens on loopback by default; its password is its only access control.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, pipeline, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { ClickHouseError, type ClickHouseSettings } from '@clickhouse/client';
import { systemClock, type Clock } from '../clock.js';
import type { Logger } from '../observability/logger.js';
import type { Connection, Store } from './client.js';

export const BRIDGE_USER = 'default';

export interface StoreBridgeOptions {
  /** An embedded store: the bridge opens its own sessions on the store's engine. */
  store: Store;
  /** Loopback unless told otherwise. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The password of user `default`; a random one is made when absent. */
  password?: string;
  logger: Logger;
  /** Times the close grace period. */
  clock?: Clock;
  /** Largest request body accepted, after decompression. Default 256 MiB. */
  maxBodyBytes?: number;
  /** How long close() lets running requests finish before it drops their connections. Default 10 s. */
  closeGraceMs?: number;
}

export interface StoreBridge {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly server: Server;
  /** Stops accepting, lets running requests finish (up to the grace period), then returns. */
  close(): Promise<void>;
}

/** A fresh random password for one run of the bridge. */
export function newBridgePassword(): string {
  return randomBytes(24).toString('base64url');
}

export async function createStoreBridge(options: StoreBridgeOptions): Promise<StoreBridge> {
  const { store } = options;
  const openSession = store.openSession;
  if (openSession === undefined) {
    throw new Error(`the store bridge serves the in-process (embedded) store; this store is '${store.kind}'`);
  }
  const log = options.logger.child({ component: 'store-bridge' });
  const clock = options.clock ?? systemClock;
  const password = options.password ?? newBridgePassword();
  if (password === '') throw new Error('the store bridge needs a non-empty password');
  const limits = { maxBodyBytes: options.maxBodyBytes ?? 256 * 1024 * 1024 };
  const inFlight = new Set<Promise<void>>();
  const aborts = new Set<AbortController>();

  const server = createServer((req, res) => {
    const done = handle(req, res, { store, openSession, password, log, limits, aborts }).catch((err: unknown) => {
      // Only a failure to write the response gets here; the request's own errors were answered.
      log.warn({ err }, 'store bridge request failed');
      res.destroy();
    });
    inFlight.add(done);
    void done.finally(() => inFlight.delete(done));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url, database: store.database }, 'store served over the ClickHouse HTTP interface');

  let closing: Promise<void> | undefined;
  return {
    url,
    user: BRIDGE_USER,
    password,
    server,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        let cancelTimer: () => void = () => undefined;
        const grace = new Promise<void>((resolve) => {
          cancelTimer = clock.setTimer(resolve, options.closeGraceMs ?? 10_000);
        });
        await Promise.race([Promise.allSettled([...inFlight]), grace]);
        cancelTimer();
        for (const a of aborts) a.abort(new Error('the store bridge is closing'));
        server.closeAllConnections();
        await stopped;
        log.info({ url }, 'store bridge closed');
      })();
      return closing;
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// One request

interface HandlerContext {
  store: Store;
  openSession: () => Connection;
  password: string;
  log: Logger;
  limits: { maxBodyBytes: number };
  aborts: Set<AbortController>;
}

/** An error answered the way ClickHouse answers it: code, name, message; the status follows the code. */
class BridgeError extends Error {
  constructor(
    readonly code: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/** URL parameters that are part of the protocol, not settings. */
const PROTOCOL_PARAMS = new Set([
  'query',
  'database',
  'query_id',
  'user',
  'password',
  'quota_key',
  'session_id',
  'session_timeout',
  'session_check',
  'compress',
  'decompress',
  'buffer_size',
  'wait_end_of_query',
  'role',
  'add_http_cors_header',
  'stacktrace',
  'enable_http_compression',
  'client_protocol_version',
  'close_session',
]);

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

async function handle(req: IncomingMessage, res: ServerResponse, ctx: HandlerContext): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://bridge');
  const method = req.method ?? 'GET';
  if (url.pathname === '/ping' && (method === 'GET' || method === 'HEAD')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8', 'content-length': 4 });
    res.end(method === 'HEAD' ? undefined : 'Ok.\n');
    return;
  }
  const queryId = url.searchParams.get('query_id') || randomUUID();
  try {
    if (method !== 'GET' && method !== 'POST') {
      throw new BridgeError(36, 'BAD_ARGUMENTS', `HTTP method ${method} is not served; use GET or POST`);
    }
    if (method === 'GET' && !url.searchParams.has('query')) {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/html; charset=UTF-8', 'content-length': 4 });
      res.end('Ok.\n');
      return;
    }
    authenticate(req, url, ctx.password);
    const request = await readRequest(req, url, ctx.limits.maxBodyBytes);
    await runQuery(req, res, ctx, { ...request, method, queryId, url });
  } catch (err) {
    req.resume();
    const answer = asClickHouseError(err);
    if (answer.code === 516) {
      ctx.log.warn({ remote: req.socket.remoteAddress, reason: answer.text }, 'store bridge refused a request');
    } else if (answer.code === 1001) {
      ctx.log.error({ err, queryId }, 'store bridge query failed');
    } else {
      ctx.log.debug({ queryId, code: answer.code }, 'store bridge query refused by the engine');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = `${answer.text}\n`;
    res.writeHead(httpStatus(answer.code), {
      'content-type': 'text/plain; charset=UTF-8',
      'content-length': Buffer.byteLength(body),
      'x-clickhouse-exception-code': String(answer.code),
      'x-clickhouse-query-id': queryId,
    });
    res.end(body);
  }
}

/** ClickHouse's order: X-ClickHouse headers, else HTTP Basic, else URL parameters, else `default` without password. */
function authenticate(req: IncomingMessage, url: URL, password: string): void {
  const fail = (why: string): never => {
    throw new BridgeError(516, 'AUTHENTICATION_FAILED', why);
  };
  const headerUser = header(req, 'x-clickhouse-user');
  const headerKey = header(req, 'x-clickhouse-key');
  const authorization = header(req, 'authorization');
  const inParams = url.searchParams.has('user') || url.searchParams.has('password');
  let user: string;
  let given: string;
  if (headerUser !== '' || headerKey !== '') {
    if (authorization !== '' || inParams)
      fail('Invalid authentication: it is not allowed to use X-ClickHouse HTTP headers and other authentication methods simultaneously');
    if (headerUser === '') fail('Got an empty user name from X-ClickHouse HTTP headers');
    user = headerUser;
    given = headerKey;
  } else if (authorization !== '') {
    if (inParams)
      fail('Invalid authentication: it is not allowed to use Authorization HTTP header and authentication via parameters simultaneously');
    const [scheme, info = ''] = authorization.split(/\s+/, 2);
    if (scheme?.toLowerCase() !== 'basic') fail(`Invalid authentication: '${scheme}' HTTP Authorization scheme is not supported`);
    const decoded = Buffer.from(info, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    user = colon < 0 ? decoded : decoded.slice(0, colon);
    given = colon < 0 ? '' : decoded.slice(colon + 1);
    if (user === '') fail('Got an empty user name from Authorization HTTP header');
  } else {
    user = url.searchParams.get('user') ?? BRIDGE_USER;
    given = url.searchParams.get('password') ?? '';
  }
  if (user !== BRIDGE_USER || !sameSecret(given, password)) {
    fail(`${user}: Authentication failed: password is incorrect, or there is no user with such name`);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

interface ParsedRequest {
  /** The statement, without its data. */
  sql: string;
  /** The statement's data (the body when the statement came in the URL). */
  data: string | undefined;
  /** Multipart parts other than `query`: `param_*` values. */
  parts: Map<string, string>;
}

async function readRequest(req: IncomingMessage, url: URL, maxBodyBytes: number): Promise<ParsedRequest> {
  const body = await readBody(req, maxBodyBytes);
  const parts = new Map<string, string>();
  let bodyText = body.toString('utf8');
  const contentType = header(req, 'content-type');
  if (/^multipart\/form-data/i.test(contentType)) {
    for (const [name, value] of parseMultipart(body, contentType)) parts.set(name, value);
    bodyText = parts.get('query') ?? '';
    parts.delete('query');
  }
  const urlQuery = url.searchParams.get('query');
  if (urlQuery !== null && urlQuery !== '') {
    return { sql: urlQuery, data: bodyText === '' ? undefined : bodyText, parts };
  }
  if (bodyText.trim() === '') throw new BridgeError(62, 'SYNTAX_ERROR', 'Empty query');
  return { sql: bodyText, data: undefined, parts };
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = header(req, 'content-encoding').toLowerCase();
  let source: Readable = req;
  if (encoding !== '' && encoding !== 'identity') {
    const decoder = decompressor(encoding);
    if (decoder === undefined) {
      return Promise.reject(
        new BridgeError(36, 'BAD_ARGUMENTS', `Content-Encoding '${encoding}' is not supported; use gzip, deflate or br`),
      );
    }
    source = pipeline(req, decoder, () => undefined);
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    source.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        source.destroy();
        reject(new BridgeError(229, 'QUERY_IS_TOO_LARGE', `the request body exceeds the bridge's limit of ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    source.on('error', (err) => reject(new BridgeError(36, 'BAD_ARGUMENTS', `cannot read the request body: ${err.message}`)));
    source.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function decompressor(encoding: string): Transform | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip();
    case 'deflate':
      return zlib.createInflate();
    case 'br':
      return zlib.createBrotliDecompress();
    case 'zstd': {
      const z = zlib as unknown as { createZstdDecompress?: () => Transform };
      return z.createZstdDecompress?.();
    }
    default:
      return undefined;
  }
}

function compressor(acceptEncoding: string): { encoding: string; stream: Transform } | undefined {
  const accepted = acceptEncoding
    .split(',')
    .map((e) => e.trim().split(';')[0]!.toLowerCase())
    .filter((e) => e !== '');
  for (const encoding of accepted) {
    if (encoding === 'gzip') return { encoding, stream: zlib.createGzip() };
    if (encoding === 'br') return { encoding, stream: zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }) };
    if (encoding === 'deflate') return { encoding, stream: zlib.createDeflate() };
    if (encoding === 'zstd') {
      const z = zlib as unknown as { createZstdCompress?: () => Transform };
      const stream = z.createZstdCompress?.();
      if (stream !== undefined) return { encoding, stream };
    }
  }
  return undefined;
}

/** The parts of a multipart/form-data body by name, as text. */
function parseMultipart(body: Buffer, contentType: string): Array<[string, string]> {
  const boundary = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const mark = boundary?.[1] ?? boundary?.[2];
  if (mark === undefined) throw new BridgeError(36, 'BAD_ARGUMENTS', 'multipart/form-data body without a boundary');
  const delimiter = Buffer.from(`--${mark}`);
  const out: Array<[string, string]> = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, start);
    if (next < 0) break;
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(headers)?.[1];
      let value = part.subarray(headerEnd + 4);
      if (value.subarray(value.length - 2).toString() === '\r\n') value = value.subarray(0, value.length - 2);
      if (name !== undefined) out.push([name, value.toString('utf8')]);
    }
    at = next;
  }
  return out;
}

interface QueryRequest extends ParsedRequest {
  method: string;
  queryId: string;
  url: URL;
}

async function runQuery(req: IncomingMessage, res: ServerResponse, ctx: HandlerContext, q: QueryRequest): Promise<void> {
  const { url } = q;
  for (const key of ['compress', 'decompress']) {
    if (url.searchParams.get(key) === '1') {
      throw new BridgeError(
        48,
        'NOT_IMPLEMENTED',
        `${key}=1 (ClickHouse's block compression) is not served; use enable_http_compression=1 with Accept-Encoding`,
      );
    }
  }
  const database = header(req, 'x-clickhouse-database') || url.searchParams.get('database') || ctx.store.database;
  if (!NAME.test(database)) throw new BridgeError(81, 'UNKNOWN_DATABASE', `Database '${database}' is not a name the bridge serves`);

  // Values stay the URL's text: the engine converts a SET's quoted value to the setting's type.
  const settings: Record<string, string> = {};
  const params: Record<string, unknown> = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith('param_')) params[key.slice('param_'.length)] = engineParam(value);
    else if (key !== '' && !PROTOCOL_PARAMS.has(key) && !key.startsWith('http_')) {
      if (!NAME.test(key)) throw new BridgeError(115, 'UNKNOWN_SETTING', `Unknown setting '${key}'`);
      settings[key] = value;
    }
  }
  for (const [key, value] of q.parts) {
    if (key.startsWith('param_')) params[key.slice('param_'.length)] = engineParam(value);
  }
  const formatHeader = header(req, 'x-clickhouse-format');
  if (formatHeader !== '') settings['default_format'] = formatHeader;
  settings['default_format'] ??= 'TabSeparated';
  // A GET is read-only, as on a ClickHouse server; readonly=1 asked by the caller is stricter and kept.
  if (q.method === 'GET' && settings['readonly'] !== '1') settings['readonly'] = '2';
  // Settings go to the engine as SET statements in this request's own session, `readonly` last so the
  // others can still be set.
  if ('readonly' in settings) {
    const readonly = settings['readonly'];
    delete settings['readonly'];
    settings['readonly'] = readonly;
  }

  const abort = new AbortController();
  ctx.aborts.add(abort);
  res.once('close', () => {
    if (!res.writableFinished) abort.abort(new Error('the client went away'));
  });
  const insert = q.data !== undefined && INSERT.test(q.sql);
  const base = {
    query: `USE \`${database}\`; ${q.sql}`,
    query_params: params,
    clickhouse_settings: settings as ClickHouseSettings,
    query_id: q.queryId,
    abort_signal: abort.signal,
  };
  const session = ctx.openSession();
  let stream: Readable;
  let summary: Awaited<ReturnType<Connection['exec']>>['summary'];
  try {
    if (insert) {
      const result = await session.insert({ ...base, values: q.data! });
      // The engine reports no row counts for an insert; the summary says what is known, the bytes taken.
      summary = { elapsed_ns: result.summary?.elapsed_ns ?? '0', written_bytes: String(Buffer.byteLength(q.data!)) } as typeof summary;
      stream = Readable.from([]);
    } else {
      // The engine reads the data as one string; a one-chunk stream keeps multi-byte characters whole.
      const result = await session.exec({ ...base, ...(q.data !== undefined ? { values: Readable.from([q.data]) } : {}) });
      summary = result.summary;
      stream = result.stream;
    }
  } finally {
    ctx.aborts.delete(abort);
    await session.close();
  }

  const format = insert ? String(settings['default_format']) : (outputFormat(q.sql) ?? String(settings['default_format']));
  const headers: Record<string, string> = {
    'content-type': contentType(format),
    'x-clickhouse-query-id': q.queryId,
    'x-clickhouse-format': format,
    'x-clickhouse-summary': JSON.stringify(summary ?? {}),
  };
  const packed = url.searchParams.get('enable_http_compression') === '1' ? compressor(header(req, 'accept-encoding')) : undefined;
  if (packed !== undefined) headers['content-encoding'] = packed.encoding;
  res.writeHead(200, headers);
  await new Promise<void>((resolve, reject) => {
    const done = (err: Error | null | undefined): void => (err ? reject(err) : resolve());
    if (packed !== undefined) pipeline(stream, packed.stream, res, done);
    else pipeline(stream, res, done);
  });
  ctx.log.debug({ queryId: q.queryId, database, format, summary }, 'store bridge query answered');
}

/** A statement whose body is its data. Leading comments are skipped. */
const INSERT = /^(?:\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)*INSERT\b/i;

/** The format a query names in its last clause, as the client appends it (`... FORMAT JSONEachRow`). */
function outputFormat(sql: string): string | undefined {
  return /\bFORMAT\s+([A-Za-z][A-Za-z0-9]*)\s*;?\s*$/i.exec(sql)?.[1];
}

function contentType(format: string): string {
  const f = format.toLowerCase();
  if (f.startsWith('tabseparated') || f.startsWith('tsv')) return 'text/tab-separated-values; charset=UTF-8';
  if (f.startsWith('csv')) return `text/csv; charset=UTF-8; header=${f.includes('names') ? 'present' : 'absent'}`;
  if (f.startsWith('json') || f.startsWith('ndjson')) return 'application/json; charset=UTF-8';
  if (/^(native|rowbinary|parquet|arrow|orc|avro|protobuf|msgpack|capnproto|bson)/.test(f)) return 'application/octet-stream';
  if (f === 'xml') return 'application/xml; charset=UTF-8';
  return 'text/plain; charset=UTF-8';
}

/**
 * A `param_<name>` value as the client sends it (ClickHouse's escaped text) turned into what the
 * engine's parameter binding takes: a string it escapes again for the text format, or null for `\N`.
 * The escapes are undone so escaping them again gives back equivalent text; a quote escaped inside
 * a quoted string of a composite value (`['it\'s']`) becomes a doubled quote (`['it''s']`), which
 * the engine reads the same way and which survives that second escaping.
 */
export function engineParam(text: string): string | null {
  if (text === '\\N') return null;
  const composite = hasBareQuote(text);
  const quote = composite ? "''" : "'";
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\' || i === text.length - 1) {
      out += c;
      continue;
    }
    const n = text[++i]!;
    switch (n) {
      case '\\':
        out += '\\';
        break;
      case "'":
        out += quote;
        break;
      case '0':
        out += '\0';
        break;
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        const hex = text.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          const ch = String.fromCharCode(parseInt(hex, 16));
          out += ch === "'" ? quote : ch;
          i += 2;
        } else out += '\\x';
        break;
      }
      default:
        // An escape the text format does not define keeps its backslash.
        out += `\\${n}`;
    }
  }
  return out;
}

/** Whether the text has a single quote that is not escaped: the quoted strings of a composite value. */
function hasBareQuote(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === "'") return true;
  }
  return false;
}

interface Answer {
  code: number;
  text: string;
}

/**
 * The engine's errors arrive as ClickHouseError from the engine's own copy of the client library, so
 * they are recognised by shape rather than by class.
 */
function isClickHouseError(err: unknown): err is Error & { code: string; type: string; cause?: unknown } {
  if (err instanceof ClickHouseError) return true;
  if (!(err instanceof Error)) return false;
  const e = err as Error & { code?: unknown; type?: unknown };
  return typeof e.code === 'string' && /^\d+$/.test(e.code) && typeof e.type === 'string';
}

/** Any failure as ClickHouse's error text and code. */
function asClickHouseError(err: unknown): Answer {
  if (err instanceof BridgeError) return { code: err.code, text: `Code: ${err.code}. DB::Exception: ${err.message}. (${err.type})` };
  if (isClickHouseError(err)) {
    const code = Number(err.code);
    // The engine's own text, when the connection kept it, is exactly what a server would send.
    const original = err.cause instanceof Error ? err.cause.message.trim() : '';
    if (/^Code: \d+\. /.test(original)) return { code, text: original };
    return { code, text: `Code: ${code}. DB::Exception: ${err.message.trim()} (${err.type})` };
  }
  const message = err instanceof Error ? err.message : String(err);
  const embedded = /^Code: (\d+)\. /.exec(message);
  if (embedded) return { code: Number(embedded[1]), text: message.trim() };
  if (err instanceof Error && err.name === 'ChdbBindError')
    return { code: 457, text: `Code: 457. DB::Exception: ${message}. (BAD_QUERY_PARAMETER)` };
  return { code: 1001, text: `Code: 1001. DB::Exception: ${message}. (STD_EXCEPTION)` };
}

// By name: BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP, CANNOT_PARSE_* (TEXT, ESCAPE_SEQUENCE, QUOTED_STRING,
// DATE, DATETIME, NUMBER, DOMAIN_VALUE_FROM_STRING, INPUT_ASSERTION_FAILED, UUID), DUPLICATE_COLUMN,
// ILLEGAL_COLUMN, UNKNOWN_ELEMENT_IN_AST, UNKNOWN_TYPE_OF_AST_NODE, THERE_IS_NO_COLUMN, TOO_DEEP_AST,
// TOO_BIG_AST, UNEXPECTED_AST_STRUCTURE, SYNTAX_ERROR, INCORRECT_DATA, TYPE_MISMATCH,
// VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE.
const BAD_REQUEST = new Set([36, 427, 6, 25, 26, 38, 41, 72, 441, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53, 321]);
// UNKNOWN_ TABLE, FUNCTION, IDENTIFIER, TYPE, STORAGE, DATABASE, SETTING, DIRECTION_OF_SORTING,
// AGGREGATE_FUNCTION, FORMAT, DATABASE_ENGINE, TYPE_OF_QUERY, ROLE.
const NOT_FOUND = new Set([60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511]);

/** The HTTP status ClickHouse answers an error code with (its exceptionCodeToHTTPStatus). */
function httpStatus(code: number): number {
  if (code === 194) return 401; // REQUIRED_PASSWORD
  if (code === 192 || code === 193 || code === 516 || code === 512 || code === 497) return 403; // UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE, ACCESS_DENIED
  if (BAD_REQUEST.has(code)) return 400;
  if (NOT_FOUND.has(code)) return 404;
  if (code === 229) return 413; // QUERY_IS_TOO_LARGE
  if (code === 48) return 501; // NOT_IMPLEMENTED
  if (code === 209 || code === 76 || code === 439) return 503; // SOCKET_TIMEOUT, CANNOT_OPEN_FILE, CANNOT_SCHEDULE_TASK
  if (code === 381) return 411; // HTTP_LENGTH_REQUIRED
  if (code === 159) return 408; // TIMEOUT_EXCEEDED
  return 500;
}
