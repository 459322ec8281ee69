import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.js';
import type { PipelineMetrics } from './metrics.js';

export type ReadinessCheck = () => Promise<void>;

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface HttpServerOptions {
  host: string;
  port: number;
  metrics: PipelineMetrics;
  logger: Logger;
  /** Named checks behind /readyz; each throws when its dependency is not usable. */
  readiness: Record<string, ReadinessCheck>;
  /** What each check's server is called in a message, e.g. `Kafka (broker:9092)`, for a check that does not answer in time (default: the check's name). */
  readinessServers?: Record<string, string>;
  /** How long a readiness check may take before /readyz reports its server as not answering (default 5,000 ms). */
  readinessTimeoutMs?: number;
  /** More routes by "METHOD /path" (webhooks). */
  routes?: Record<string, RouteHandler>;
  /** How to choose another port, said when this one cannot be used (e.g. "set PTEL_HTTP_PORT"). */
  portHint?: string;
}

/** The server could not listen: the port is taken or not allowed; the message says how to choose another. */
export class ListenError extends Error {
  override readonly name = 'ListenError';
}

export interface RunningServer {
  server: Server;
  url: string;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
}

/** /healthz: the process serves. /readyz: its dependencies answer. /metrics: Prometheus text. */
export async function startHttpServer(options: HttpServerOptions): Promise<RunningServer> {
  const log = options.logger.child({ component: 'http' });
  const routes: Record<string, RouteHandler> = {
    'GET /healthz': (_req, res) => Promise.resolve(sendJson(res, 200, { status: 'ok' })),
    'GET /readyz': async (_req, res) => {
      const results = await Promise.all(
        Object.entries(options.readiness).map(async ([name, check]) => {
          try {
            await withTimeout(check(), options.readinessTimeoutMs ?? 5_000, options.readinessServers?.[name] ?? name);
            return [name, 'ok'] as const;
          } catch (err) {
            return [name, err instanceof Error ? err.message : String(err)] as const;
          }
        }),
      );
      const ready = results.every(([, r]) => r === 'ok');
      sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) });
    },
    'GET /metrics': async (_req, res) => {
      const body = await options.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': options.metrics.registry.contentType });
      res.end(body);
    },
    ...options.routes,
  };
  const server = createServer((req, res) => {
    const pathOnly = (req.url ?? '/').split('?')[0];
    const handler = routes[`${req.method ?? 'GET'} ${pathOnly}`];
    if (handler === undefined) {
      unrouted(routes, req.method ?? 'GET', pathOnly ?? '/', res);
      return;
    }
    handler(req, res).catch((err: unknown) => {
      log.error({ err, path: pathOnly }, 'request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException): void => reject(listenError(err, options));
    server.once('error', refused);
    server.listen(options.port, options.host, () => {
      server.off('error', refused);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  log.info({ url }, 'http server listening');
  return {
    server,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * The answer to a request no route takes: 405 with Allow when the path is served for other methods,
 * else 404 naming the routes of the method under the path's first segment (the intake's kinds, the
 * webhook sources), so a mistyped path says what is served.
 */
function unrouted(routes: Record<string, RouteHandler>, method: string, pathOnly: string, res: ServerResponse): void {
  const keys = Object.keys(routes).map((k) => {
    const at = k.indexOf(' ');
    return { method: k.slice(0, at), path: k.slice(at + 1) };
  });
  const allowed = keys.filter((k) => k.path === pathOnly).map((k) => k.method);
  if (allowed.length > 0) {
    res.setHeader('allow', allowed.join(', '));
    sendJson(res, 405, { error: `${pathOnly} takes ${allowed.join(', ')}, not ${method}` });
    return;
  }
  const first = pathOnly.split('/')[1] ?? '';
  const near = keys
    .filter((k) => k.method === method && first !== '' && k.path.split('/')[1] === first)
    .map((k) => k.path)
    .sort();
  const served = near.length > 0 ? `; served under /${first}/: ${near.join(', ')}` : '';
  sendJson(res, 404, { error: `no route for ${method} ${pathOnly}${served}` });
}

/** Why the server could not listen, in words, with the address and how to choose another port. */
function listenError(err: NodeJS.ErrnoException, options: Pick<HttpServerOptions, 'host' | 'port' | 'portHint'>): Error {
  const where = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is already in use by another process'
      : err.code === 'EACCES'
        ? 'this process may not use the port (ports below 1024 need privileges)'
        : err.code === 'EADDRNOTAVAIL'
          ? `no network interface of this host has the address ${options.host}`
          : undefined;
  if (why === undefined) return err;
  const hint = err.code === 'EADDRNOTAVAIL' ? 'set http.host or PTEL_HTTP_HOST to an address of this host' : options.portHint;
  return new ListenError(`cannot listen on ${where}: ${why}${hint !== undefined ? `; ${hint}` : ''}`, { cause: err });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}
