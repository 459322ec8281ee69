import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '../../infra/bus/types.js';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import { sendJson, type RouteHandler } from '../../infra/observability/http.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { publishRecords } from './publish.js';
import type { VerifyResult, WebhookSource } from './types.js';

/** A delivery whose content lacks or garbles what its records need; answered 400 with this message. */
export class WebhookPayloadError extends Error {
  override readonly name = 'WebhookPayloadError';
}

/** Equal strings, compared in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  // Equal-length digests: neither where the strings differ nor the secret's length shows in the timing.
  const ha = createHmac('sha256', 'ptel-compare').update(a, 'utf8').digest();
  const hb = createHmac('sha256', 'ptel-compare').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** `prefix + hex(HMAC-SHA256(secret, body))` against a received signature, in constant time. */
export function hmacMatches(secret: string, body: Buffer, received: string | undefined, prefix = 'sha256='): boolean {
  if (received === undefined) return false;
  const text = received.trim();
  // The signature's form is public (prefix and 64 hex digits); only its digits are compared in constant time.
  if (!text.startsWith(prefix) || !HEX_SHA256.test(text.slice(prefix.length))) return false;
  return timingSafeEqual(createHmac('sha256', secret).update(body).digest(), Buffer.from(text.slice(prefix.length), 'hex'));
}

/** A body over the limit; `received` is how much of it was read before that showed. */
export class BodyTooLarge extends Error {
  constructor(readonly received: number) {
    super('request body too large');
  }
}

/**
 * Reads the request body, refusing more than `limit` bytes without buffering them: a declared
 * length over the limit is refused before reading, a longer body as soon as it passes the limit.
 * On refusal the request is left paused, for `refuseOversizedBody` to drain.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (req.headers['content-length'] !== undefined && Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge(0));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        stop();
        req.pause();
        reject(new BodyTooLarge(size));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      stop();
      // A body that came in one chunk is that chunk: no copy.
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      stop();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** A refused body is still read and dropped up to this many times the limit... */
export const DRAIN_LIMIT_FACTOR = 8;
/** ...and for at most this long after the answer, so the sender gets to read the 413. */
export const DRAIN_MS = 15_000;

/**
 * Answers 413 at once, then reads and drops the rest of the body before closing the connection:
 * closing it while the sender is still sending resets it, and the sender never reads the answer.
 * The drain is bounded: past `maxBytes` read in all, or `maxMs` after the answer, the connection is
 * cut off.
 */
export function refuseOversizedBody(
  req: IncomingMessage,
  res: ServerResponse,
  options: { limit: number; received: number; maxBytes: number; maxMs: number; clock?: Clock },
): void {
  const text = JSON.stringify({ error: `request body larger than ${options.limit} bytes` });
  res.writeHead(413, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    connection: 'close',
  });
  // The whole answer goes out now; the response ends (and the connection closes) once the body is drained.
  res.write(text);
  let read = options.received;
  let done = false;
  const finish = (drained: boolean): void => {
    if (done) return;
    done = true;
    cancelTimer();
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    res.end();
    if (!drained) {
      // Cut off: the answer is flushed first, then the connection closes whatever the sender still sends.
      const socket = req.socket;
      socket.end(() => socket.destroy());
    }
  };
  const onData = (chunk: Buffer): void => {
    read += chunk.length;
    if (read > options.maxBytes) finish(false);
  };
  const onEnd = (): void => finish(true);
  const onError = (): void => finish(false);
  const cancelTimer = (options.clock ?? systemClock).setTimer(() => finish(false), options.maxMs);
  if (req.readableEnded) {
    finish(true);
    return;
  }
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('error', onError);
  req.resume();
}

/** Seconds a sender is asked to wait before it delivers a refused webhook again. */
export const WEBHOOK_RETRY_AFTER_S = 30;

/**
 * 503 for a delivery the bus did not take: nothing of it was accepted, so the sender delivers it
 * again (its event ids are the same, so it is stored once). The body names the dependency.
 */
function refuseUnpublished(res: ServerResponse, bus: Bus, err: unknown): void {
  const dependency = bus.kind === 'kafka' ? 'kafka' : 'event log';
  const text = JSON.stringify({
    error: `the event bus (${dependency}) did not take the delivery: ${err instanceof Error ? err.message : String(err)}; deliver it again later`,
    dependency,
    retryAfterSeconds: WEBHOOK_RETRY_AFTER_S,
  });
  res.writeHead(503, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'retry-after': String(WEBHOOK_RETRY_AFTER_S),
  });
  res.end(text);
}

export interface WebhookRoutesOptions {
  sources: WebhookSource[];
  config: Config;
  bus: Bus;
  logger: Logger;
  metrics?: PipelineMetrics;
  /** When a delivery is received (its signature check and its events' ingest time), and the refused-body drain's timer (default: the wall clock). */
  clock?: Clock;
}

/**
 * Checks `Authorization: Bearer <token>` against the expected token, in constant time; `say` words the
 * refusals: no token configured, no bearer token sent, a token that does not match.
 */
export function verifyBearer(
  headers: IncomingHttpHeaders,
  expected: string | undefined,
  say: { unset: string; missing: string; mismatch: string },
): VerifyResult {
  if (expected === undefined) return { ok: false, reason: say.unset };
  const auth = headers.authorization;
  const m = auth !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  if (m === null) return { ok: false, reason: say.missing };
  return constantTimeEqual(expected, m[1]!) ? { ok: true } : { ok: false, reason: say.mismatch };
}

/**
 * `POST /webhooks/<source>` for each webhook source (or its own route, as the intake's /ingest/<kind>).
 * The order is the contract: size limit (413), signature over the raw bytes (401, nothing published),
 * JSON or the source's own body form (400), records (400 when the content
 * lacks what they need), what each record's entity cannot exist without (400 naming the field),
 * publish, and only then 202. A delivery sent twice gives the same event ids,
 * so it is stored once.
 */
export function webhookRoutes(options: WebhookRoutesOptions): Record<string, RouteHandler> {
  const log = options.logger.child({ component: 'webhooks' });
  const clock = options.clock ?? systemClock;
  const routes: Record<string, RouteHandler> = {};
  for (const source of options.sources) {
    routes[`POST ${source.route ?? `/webhooks/${source.path}`}`] = async (req: IncomingMessage, res: ServerResponse) => {
      const { config } = options;
      if (!source.enabled(config)) {
        sendJson(res, 404, { error: source.notEnabled?.(config) ?? `the ${source.source} webhook is not configured on this server` });
        req.resume();
        return;
      }
      let rawBody: Buffer;
      try {
        rawBody = await readBody(req, config.webhooks.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          const limit = config.webhooks.maxBodyBytes;
          refuseOversizedBody(req, res, { limit, received: err.received, maxBytes: limit * DRAIN_LIMIT_FACTOR, maxMs: DRAIN_MS, clock });
          return;
        }
        throw err;
      }
      const receivedAt = clock.date();
      const verdict = source.verify(rawBody, req.headers, config, receivedAt);
      if (!verdict.ok) {
        log.warn({ source: source.source, reason: verdict.reason }, 'webhook refused');
        sendJson(res, 401, { error: verdict.reason });
        return;
      }
      let body: unknown;
      const text = rawBody.toString('utf8');
      try {
        body = source.parse !== undefined ? source.parse(rawBody, req.headers) : rawBody.length === 0 ? null : JSON.parse(text);
      } catch (err) {
        if (source.parse !== undefined && !(err instanceof WebhookPayloadError)) throw err;
        sendJson(res, 400, { error: err instanceof WebhookPayloadError ? err.message : `the body is not JSON: ${(err as Error).message}` });
        return;
      }
      let records;
      try {
        records = source.records({ headers: req.headers, rawBody, body, receivedAt }, config);
      } catch (err) {
        if (err instanceof WebhookPayloadError) {
          sendJson(res, 400, { error: err.message });
          return;
        }
        throw err;
      }
      // What the entities cannot exist without is checked now, while the sender can still be told.
      for (const record of records) {
        const missing = source.check?.(record);
        if (missing !== undefined) {
          log.warn({ source: source.source, type: record.type, reason: missing }, 'webhook delivery refused');
          sendJson(res, 400, { error: missing });
          return;
        }
      }
      try {
        // The Kafka bus gives up after kafka.publishTimeoutMs, so the sender hears back well within its own timeout.
        await publishRecords(options.bus, records, source.connector ?? `webhook/${source.source}`, {
          topicPrefix: config.kafka.topicPrefix,
          inFlight: config.kafka.publishInFlight,
          now: () => receivedAt,
          // A record whose payload is the whole body goes on the bus with the body's text, not serialized again.
          payloadJson: (payload) => (payload === body ? text : undefined),
          ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
        });
      } catch (err) {
        log.error({ err, source: source.source }, 'could not publish a webhook delivery');
        refuseUnpublished(res, options.bus, err);
        return;
      }
      sendJson(res, 202, { accepted: records.length });
    };
  }
  return routes;
}
