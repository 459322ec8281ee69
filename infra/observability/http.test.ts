import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { ListenError, startHttpServer, type RunningServer } from './http.js';
import { PipelineMetrics } from './metrics.js';

const started: RunningServer[] = [];
afterEach(async () => {
  while (started.length > 0) await started.pop()!.close();
});

const serve = async (host: string, port: number, portHint?: string): Promise<RunningServer> => {
  const server = await startHttpServer({
    host,
    port,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
    logger: createLogger({ level: 'silent' }),
    readiness: {},
    ...(portHint !== undefined ? { portHint } : {}),
  });
  started.push(server);
  return server;
};

describe('the HTTP server that cannot listen', () => {
  it('says the port is in use, where, and how to choose another', async () => {
    const first = await serve('127.0.0.1', 0);
    const port = Number(new URL(first.url).port);
    const second = serve('127.0.0.1', port, 'set PTEL_HTTP_PORT to choose another');
    await expect(second).rejects.toThrow(ListenError);
    await expect(second).rejects.toThrow(
      `cannot listen on 127.0.0.1:${port}: the port is already in use by another process; set PTEL_HTTP_PORT to choose another`,
    );
    await expect(second).rejects.toMatchObject({ cause: { code: 'EADDRINUSE' } });
    // The first one still serves.
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);
  });

  it('names the host setting when the address is not one of this host', async () => {
    // 192.0.2.0/24 is reserved for documentation: no interface has it.
    await expect(serve('192.0.2.1', 0, 'not this hint')).rejects.toThrow(
      'cannot listen on 192.0.2.1:0: no network interface of this host has the address 192.0.2.1; set http.host or PTEL_HTTP_HOST to an address of this host',
    );
  });
});

describe('/readyz', () => {
  it('names the server of a check that does not answer in time, and the others stay ok', async () => {
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
      readiness: { store: () => Promise.resolve(), redis: () => new Promise<void>(() => undefined) },
      readinessServers: { store: 'ClickHouse at http://127.0.0.1:8123', redis: 'redis at redis://127.0.0.1:6379' },
      readinessTimeoutMs: 50,
    });
    started.push(server);
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: 'not ready',
      checks: { store: 'ok', redis: 'redis at redis://127.0.0.1:6379 did not answer within 50 ms' },
    });
  });
});

describe('a request no route takes', () => {
  it('is 404 naming the routes served under its first segment, or 405 with Allow for a path served for another method', async () => {
    const ok = (): Promise<void> => Promise.resolve();
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger: createLogger({ level: 'silent' }),
      readiness: {},
      routes: { 'POST /ingest/adopter': ok, 'POST /ingest/cost_row': ok, 'POST /webhooks/github': ok },
    });
    started.push(server);
    const typo = await fetch(`${server.url}/ingest/adopters`, { method: 'POST', body: '{}' });
    expect(typo.status).toBe(404);
    expect(await typo.json()).toEqual({
      error: 'no route for POST /ingest/adopters; served under /ingest/: /ingest/adopter, /ingest/cost_row',
    });
    const elsewhere = await fetch(`${server.url}/nothing/here`, { method: 'POST', body: '{}' });
    expect(await elsewhere.json()).toEqual({ error: 'no route for POST /nothing/here' });
    const get = await fetch(`${server.url}/ingest/adopter`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await get.json()).toEqual({ error: '/ingest/adopter takes POST, not GET' });
  });
});
