import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { startConnect } from '../../app/roles.js';
import { withRuntime } from '../../cli/command.js';
import { COMMANDS } from '../../cli/commands.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { createLogger } from '../../infra/observability/logger.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { openStore } from '../../infra/store/client.js';
import { NEW_USER_PASSWORD_ENV, UserManagementError } from '../../infra/store/users.js';
import { tempDir, uniqueName, waitFor } from '../support/harness.js';

type Line = Record<string, unknown>;

/** A logger writing into memory, and its lines; a line that is not JSON fails the parse. */
function memoryLogger(level: 'info' | 'debug'): { logger: ReturnType<typeof createLogger>; lines: () => Line[]; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return {
    logger: createLogger({ level, destination: stream }),
    text: () => text,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Line),
  };
}

/**
 * Everything that reaches the terminal past the logger: writes to process.stderr and process.stdout,
 * and the console's methods (which the test runner takes over from the streams).
 */
function captureTerminal(): () => string[] {
  const raw: string[] = [];
  for (const stream of [process.stderr, process.stdout]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: unknown) => {
      raw.push(String(chunk));
      return true;
    });
  }
  for (const m of ['error', 'warn', 'info', 'log', 'debug', 'trace'] as const) {
    vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
      raw.push(`console.${m}: ${args.map(String).join(' ')}`);
    });
  }
  return () => raw;
}

/** A free port on the loopback interface. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('distributed mode logs only JSON lines through the product logger', () => {
  const dropped: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    const admin = await openStore({
      kind: 'server',
      url: inject('clickhouseUrl'),
      username: 'default',
      password: undefined,
      database: 'default',
    });
    for (const database of dropped) await admin.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await admin.close();
  });

  it("writes the ClickHouse server client's start and a failed query as JSON lines, and nothing raw", async () => {
    const database = uniqueName('it_logs');
    dropped.push(database);
    const log = memoryLogger('debug');
    const raw = captureTerminal();
    const store = await openStore(
      { kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database, requestTimeoutMs: 300_000 },
      { logger: log.logger },
    );
    try {
      await expect(store.client.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' })).rejects.toMatchObject({
        type: 'UNKNOWN_TABLE',
      });
    } finally {
      await store.close();
    }
    expect(raw()).toEqual([]);
    const lines = log.lines();
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line, JSON.stringify(line)).toMatchObject({ component: 'clickhouse', pid: process.pid });
    // At the start: the client's advice about the long request timeout, once per client (admin and store).
    const advice = lines.filter((l) => l['module'] === 'Config');
    expect(advice.map((l) => [l['level'], String(l['msg']).slice(0, 37)])).toEqual([
      ['debug', 'request_timeout is set to 300000ms, b'],
      ['debug', 'request_timeout is set to 300000ms, b'],
    ]);
    // The failed query: one line, with the server's error under err and the request under args.
    const failed = lines.filter((l) => l['module'] === 'Connection');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ level: 'debug', msg: 'Query: HTTP request error.', args: { operation: 'Query' } });
    expect((failed[0]!['err'] as { message: string; code: string }).message).toContain('no_such_table');
    expect((failed[0]!['err'] as { code: string }).code).toBe('60');
  });

  it('at the default level, the same start and failed query log nothing: the caller has the error', async () => {
    const database = uniqueName('it_logs');
    dropped.push(database);
    const log = memoryLogger('info');
    const raw = captureTerminal();
    const store = await openStore(
      { kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database, requestTimeoutMs: 300_000 },
      { logger: log.logger },
    );
    try {
      await expect(store.client.query({ query: 'SELECT * FROM no_such_table' })).rejects.toThrow(/no_such_table/);
    } finally {
      await store.close();
    }
    expect(raw()).toEqual([]);
    expect(log.text()).toBe('');
  });

  describe('the connect role on a Redis that may evict keys', () => {
    // A Redis of this test's own, configured as BullMQ warns about (allkeys-lru instead of noeviction).
    let redis: ChildProcess;
    let redisPort: number;
    beforeAll(async () => {
      redisPort = await freePort();
      redis = spawn(
        'redis-server',
        ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'],
        { stdio: 'ignore' },
      );
      await waitFor(
        'the test Redis to accept connections',
        () =>
          new Promise<boolean>((resolve) => {
            const socket = createConnection(redisPort, '127.0.0.1');
            socket.once('connect', () => (socket.destroy(), resolve(true)));
            socket.once('error', () => resolve(false));
          }),
        (up) => up,
        { timeoutMs: 20_000, intervalMs: 50 },
      );
    });
    afterAll(() => {
      redis?.kill('SIGTERM');
    });

    it("starts and stops with every line JSON from the logger, the libraries' warnings among them", async () => {
      const database = uniqueName('it_logs_connect');
      dropped.push(database);
      const config: Config = loadConfig({
        env: {},
        cwd: tempDir(),
        overrides: {
          mode: 'distributed',
          kafka: { brokers: inject('kafkaBrokers').split(','), topicPrefix: `${uniqueName('logs')}.` },
          clickhouse: { url: inject('clickhouseUrl'), database },
          redis: { url: `redis://127.0.0.1:${redisPort}`, queue: uniqueName('logs') },
          http: { host: '127.0.0.1', port: 0 },
          log: { level: 'info' },
        },
      });
      const log = memoryLogger('info');
      const raw = captureTerminal();
      const code = await withRuntime(
        config,
        async (rt) => {
          const role = await startConnect(rt);
          await role.stop();
          return 0;
        },
        { logger: log.logger, metrics: new PipelineMetrics({ defaultMetrics: false }), migrate: true },
      );
      expect(code).toBe(0);
      expect(raw()).toEqual([]);
      const lines = log.lines();
      expect(lines.find((l) => l['msg'] === 'http server listening')).toBeDefined();
      // BullMQ's warning, written with console.warn, reaches the log as one JSON line.
      expect(lines.filter((l) => l['component'] === 'console')).toContainEqual(
        expect.objectContaining({ level: 'warn', msg: 'IMPORTANT! Eviction policy is allkeys-lru. It should be "noeviction"' }),
      );
      // The console is the terminal's again once the runtime is closed.
      expect(console.warn).not.toBe(undefined);
      console.warn('after the runtime');
      expect(raw()).toEqual(['console.warn: after the runtime']);
    });
  });

  it('ptel migrate --create-user on the test server: migrates, then says the server refused to manage users and why', async () => {
    // The test server (clickhouse-local serving HTTP) gives its `default` user no access management,
    // as a fresh server does: CREATE USER is refused. docs/deployment.md says what to enable.
    const database = uniqueName('it_logs_user');
    dropped.push(database);
    const config = loadConfig({
      env: {},
      cwd: tempDir(),
      overrides: { mode: 'distributed', clickhouse: { url: inject('clickhouseUrl'), database }, log: { level: 'info' } },
    });
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer | string, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const password = 'Pa55-word-for-ptel';
    const run = COMMANDS['migrate']!.run({
      config,
      values: { 'create-user': 'ptel_app' },
      positionals: [],
      out: sink,
      err: sink,
      env: { [NEW_USER_PASSWORD_ENV]: password },
    });
    const err = await run.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UserManagementError);
    const message = (err as Error).message;
    expect(message).toMatch(
      /^the ClickHouse server refused to manage users: default: Not enough privileges\. .* ptel_app\. Run ptel migrate/,
    );
    expect(message).toContain('access_management');
    expect(message).not.toContain(password);
    expect(out).toMatch(new RegExp(`^applied 0001_raw_events, .* to '${database}'\\n$`));
  });
});
