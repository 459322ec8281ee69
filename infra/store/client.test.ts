import { PassThrough } from 'node:stream';
import { createServer } from 'node:net';
import { createClient, ClickHouseLogLevel } from '@clickhouse/client';
import { collectJsonLines as collect } from '../../test/support/harness.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../observability/logger.js';
import { clickhouseLog } from './client.js';

/** A local port nothing listens on: requests to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("the ClickHouse client's own messages", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const consoleSpies = (): Array<ReturnType<typeof vi.spyOn>> =>
    (['error', 'warn', 'info', 'log', 'debug', 'trace'] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => undefined));

  it('go through the logger as JSON lines: a failed request and the timeout advice as detail, other warnings as warnings', async () => {
    const spies = consoleSpies();
    const out = collect();
    const url = `http://127.0.0.1:${await closedPort()}`;
    // `host` is a deprecated option: the client warns about it when the client is created.
    const client = createClient({
      host: url,
      request_timeout: 300_000,
      log: clickhouseLog(createLogger({ level: 'debug', destination: out.stream })),
    });
    try {
      await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await client.close();
    }
    const lines = out.lines();
    expect(lines.map((l) => [l['level'], l['component'], l['module'], String(l['msg']).slice(0, 40)])).toEqual([
      ['warn', 'clickhouse', 'Config', '"host" is deprecated. Use "url" instead.'],
      ['debug', 'clickhouse', 'Config', 'request_timeout is set to 300000ms, but '],
      ['debug', 'clickhouse', 'Connection', 'Query: HTTP request error.'],
    ]);
    const failed = lines[2]!;
    expect((failed['err'] as { code: string }).code).toBe('ECONNREFUSED');
    expect((failed['args'] as { operation: string }).operation).toBe('Query');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('at the default level show only what nobody else reports', async () => {
    const spies = consoleSpies();
    const out = collect();
    const client = createClient({
      url: `http://127.0.0.1:${await closedPort()}`,
      request_timeout: 300_000,
      log: clickhouseLog(createLogger({ level: 'info', destination: out.stream })),
    });
    try {
      await expect(client.query({ query: 'SELECT 1' })).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await client.close();
    }
    expect(out.lines()).toEqual([]);
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('asks the client for the least level the logger shows: off when silent, the per-request detail only at trace', () => {
    const level = (l: 'silent' | 'info' | 'debug' | 'trace'): number | undefined =>
      clickhouseLog(createLogger({ level: l, destination: new PassThrough() })).level;
    expect([level('silent'), level('info'), level('debug'), level('trace')]).toEqual([
      ClickHouseLogLevel.OFF,
      ClickHouseLogLevel.WARN,
      ClickHouseLogLevel.WARN,
      ClickHouseLogLevel.TRACE,
    ]);
  });
});
