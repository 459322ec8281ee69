import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Bus } from '../../infra/bus/types.js';
import type { Config } from '../../infra/config/schema.js';
import { sendJson, type RouteHandler } from '../../infra/observability/http.js';
import type { Logger } from '../../infra/observability/logger.js';
import type { PipelineMetrics } from '../../infra/observability/metrics.js';
import { publishRecords } from './publish.js';
import type { WebhookSource } from './types.js';

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

/** `prefix + hex(HMAC-SHA256(secret, body))` against a received signature, in constant time. */
export function hmacMatches(secret: string, body: Buffer, received: string | undefined, prefix = 'sha256='): boolean {
  if (received === undefined || received === '') return false;
  const expected = prefix + createHmac('sha256', secret).update(body).digest('hex');
  return constantTimeEqual(expected, received.trim());
}

class BodyTooLarge extends Error {}

/** Reads the request body, refusing more than `limit` bytes without buffering them. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

export interface WebhookRoutesOptions {
  sources: WebhookSource[];
  config: Config;
  bus: Bus;
  logger: Logger;
  metrics?: PipelineMetrics;
  now?: () => Date;
}

/**
 * `POST /webhooks/<source>` for each webhook source. The order is the contract: size limit (413),
 * signature over the raw bytes (401, nothing published), JSON (400), records (400 when the content
 * lacks what they need), publish, and only then 202. A delivery sent twice gives the same event ids,
 * so it is stored once.
 */
export function webhookRoutes(options: WebhookRoutesOptions): Record<string, RouteHandler> {
  const log = options.logger.child({ component: 'webhooks' });
  const now = options.now ?? (() => new Date());
  const routes: Record<string, RouteHandler> = {};
  for (const source of options.sources) {
    routes[`POST /webhooks/${source.path}`] = async (req: IncomingMessage, res: ServerResponse) => {
      const { config } = options;
      if (!source.enabled(config)) {
        sendJson(res, 404, { error: `the ${source.source} webhook is not configured on this server` });
        req.resume();
        return;
      }
      let rawBody: Buffer;
      try {
        rawBody = await readBody(req, config.webhooks.maxBodyBytes);
      } catch (err) {
        if (err instanceof BodyTooLarge) {
          // Answer, then drop the connection: the rest of the body is not read into memory.
          res.setHeader('connection', 'close');
          sendJson(res, 413, { error: `request body larger than ${config.webhooks.maxBodyBytes} bytes` });
          res.on('finish', () => req.destroy());
          return;
        }
        throw err;
      }
      const receivedAt = now();
      const verdict = source.verify(rawBody, req.headers, config, receivedAt);
      if (!verdict.ok) {
        log.warn({ source: source.source, reason: verdict.reason }, 'webhook refused');
        sendJson(res, 401, { error: verdict.reason });
        return;
      }
      let body: unknown;
      try {
        body = rawBody.length === 0 ? null : JSON.parse(rawBody.toString('utf8'));
      } catch (err) {
        sendJson(res, 400, { error: `the body is not JSON: ${(err as Error).message}` });
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
      try {
        await publishRecords(options.bus, records, `webhook/${source.source}`, {
          topicPrefix: config.kafka.topicPrefix,
          now: () => receivedAt,
          ...(options.metrics !== undefined ? { metrics: options.metrics } : {}),
        });
      } catch (err) {
        log.error({ err, source: source.source }, 'could not publish a webhook delivery');
        sendJson(res, 503, { error: 'the event bus is unavailable; deliver again later' });
        return;
      }
      sendJson(res, 202, { accepted: records.length });
    };
  }
  return routes;
}
