import { PassThrough, Writable } from 'node:stream';
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger, type Logger } from '../../infra/observability/logger.js';
import { openStore, type Store } from '../../infra/store/client.js';
import { migrate } from '../../infra/store/migrate.js';
import { buildRawEvent, type RawEvent, type Source } from '../../schemas/raw-event.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const cliPath = path.join(repoRoot, 'dist/cli/main.js');

/** A name no other test or run uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function tempDir(prefix = 'ptel-test-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export function quietLogger(): Logger {
  return createLogger({ level: process.env['PTEL_TEST_LOG'] === '1' ? 'debug' : 'silent' });
}

let engineDir: string | undefined;

/**
 * The ClickHouse server that testStore() opens its databases on instead of the in-process engine: the
 * `store-server` test project sets it (test/setup/store-server.ts); unset, the engine serves.
 */
export const TEST_STORE_URL_ENV = 'PTEL_TEST_STORE_URL';

/**
 * A migrated database of its own for one test, `on` the in-process ClickHouse engine or on the
 * ClickHouse server at a URL (where closing the store drops it); by default on the server at
 * $PTEL_TEST_STORE_URL when that is set, else on the engine. The engine binds one data folder per
 * process, so every store a test file opens there shares that folder; each has its own database.
 */
export async function testStore(
  database = uniqueName('t'),
  options: { migrate?: boolean; on?: 'engine' | (string & {}) } = {},
): Promise<Store> {
  const on = options.on ?? process.env[TEST_STORE_URL_ENV] ?? 'engine';
  let store: Store;
  if (on !== 'engine' && on !== '') {
    store = await serverTestStore(on, database);
  } else {
    engineDir ??= tempDir('ptel-engine-');
    store = await openStore({ kind: 'embedded', path: engineDir, database });
  }
  if (options.migrate ?? true) await migrate(store);
  return store;
}

/**
 * A migrated database of its own where testStore() puts one (as `from` was opened), holding a copy of
 * every row of `from`'s tables: a scenario seeded and computed once, then taken two ways.
 */
export async function copiedTestStore(from: Store): Promise<Store> {
  const store = await testStore();
  const rs = await store.client.query({
    query: "SELECT name FROM system.tables WHERE database = {from:String} AND name != 'schema_migrations' ORDER BY name",
    query_params: { from: from.database },
    format: 'JSONEachRow',
  });
  for (const { name } of await rs.json<{ name: string }>())
    await store.client.command({ query: `INSERT INTO \`${store.database}\`.\`${name}\` SELECT * FROM \`${from.database}\`.\`${name}\`` });
  return store;
}

/**
 * `database` on the ClickHouse server at `url` (user default, no password), created on open and
 * dropped when the store is closed, so that test runs leave nothing behind on a shared server.
 */
export async function serverTestStore(url: string, database: string): Promise<Store> {
  const store = await openStore({ kind: 'server', url, username: 'default', password: undefined, database }, { logger: quietLogger() });
  let closed: Promise<void> | undefined;
  return {
    ...store,
    close() {
      closed ??= (async () => {
        try {
          await dropServerDatabase(store, database);
        } finally {
          await store.close();
        }
      })();
      return closed;
    },
  };
}

/** Drops `database` on the server `store` talks to (a no-op when it is gone already). */
export async function dropServerDatabase(store: Store, database: string): Promise<void> {
  await store.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\` SYNC` });
}

/**
 * The same store, its client telling `seen` of each query and command it answered (after the answer,
 * before the caller gets it): for tests that count a run's reads or act at a point within a run.
 */
export function observedStore(store: Store, seen: (call: { method: 'query' | 'command'; query: string }) => void): Store {
  const client = new Proxy(store.client, {
    get: (target, key, receiver) => {
      if (key !== 'query' && key !== 'command') return Reflect.get(target, key, receiver) as unknown;
      return async (params: { query: string }) => {
        const answer = await (target[key] as (p: { query: string }) => Promise<unknown>).call(target, params);
        seen({ method: key, query: params.query });
        return answer;
      };
    },
  });
  return { ...store, client };
}

/** Polls `probe` until it returns a value for which `done` holds; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  done: (v: T) => boolean,
  { timeoutMs = 60_000, intervalMs = 100 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await probe();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
    last = await probe();
  }
  return last;
}

/** RawEvents of one source: `entities` entities, `versions` versions each, in time order. */
export function sampleEvents(source: Source, type: string, entities: number, versions = 1, t0 = Date.UTC(2026, 5, 1)): RawEvent[] {
  const out: RawEvent[] = [];
  for (let v = 0; v < versions; v++) {
    for (let e = 0; e < entities; e++) {
      const time = new Date(t0 + (v * entities + e) * 1000).toISOString();
      out.push(
        buildRawEvent(
          { source, type, subject: `entity-${e}`, version: time, time, payload: { id: e, version: v, updated_at: time } },
          'test',
          new Date(t0),
        ),
      );
    }
  }
  return out;
}

export async function queryRows<T>(store: Store, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built `ptel` program and collects its output, without blocking this process: tests that
 * serve fake vendor APIs from this process must keep answering while the program runs.
 */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      env: options.env ?? process.env,
      cwd: options.cwd ?? repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 170_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** The ids of the job schedulers a BullMQ queue holds on Redis, sorted. */
export async function schedulerIds(redisUrl: string, queueName: string): Promise<string[]> {
  const url = new URL(redisUrl);
  const q = new Queue(queueName, { connection: { host: url.hostname, port: Number(url.port) } });
  try {
    return (await q.getJobSchedulers(0, -1)).map((s) => s.id ?? s.key).sort();
  } finally {
    await q.close();
  }
}

/** A stream to log into, and the JSON objects of the lines written to it so far. */
export function collectJsonLines(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** A stream that keeps what is written to it, in order (a command's stdout and stderr as a terminal shows them). */
export function textSink(): { out: Writable; text: () => string } {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out, text: () => text };
}
