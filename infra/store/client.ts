import { mkdirSync } from 'node:fs';
import type * as ChdbConnectionModule from 'chdb/connection';
import {
  ClickHouseError,
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  type ClickHouseSettings,
  type ErrorLogParams,
  type Logger as ClientLogger,
  type LogParams,
  type WarnLogParams,
} from '@clickhouse/client';
import { createLogger, type Logger } from '../observability/logger.js';
import { clusterStatement } from './ddl.js';

/** The client's pluggable back-end connection, which the in-process engine implements. */
export type Connection = NonNullable<ClickHouseClientConfigOptions['connection']>;

/**
 * The analytical store: one @clickhouse/client, talking either to a ClickHouse server over HTTP or
 * to the ClickHouse engine in this process (chdb), or to the engine of another ptel process that
 * serves its store over HTTP ('attached', see bridge.ts). The rest of the code sees the same client
 * API and runs the same SQL in all cases.
 */
export interface Store {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly kind: 'server' | 'embedded' | 'attached';
  /** The ClickHouse cluster its DDL runs on (`clickhouse.cluster`): see clusterClient. */
  readonly cluster?: string;
  /**
   * Embedded only: a new session on this process's engine, with its own current database, settings
   * and parameter state, sharing the engine's data. The caller closes it.
   */
  readonly openSession?: () => Connection;
  close(): Promise<void>;
}

export type StoreTarget =
  | {
      kind: 'server';
      url: string;
      username: string;
      password: string | undefined;
      database: string;
      requestTimeoutMs?: number;
      /** A cluster of the server's `remote_servers`: every DDL statement runs ON CLUSTER, tables replicated (ddl.ts). */
      cluster?: string | undefined;
    }
  | { kind: 'embedded'; path: string; database: string }
  /** The store another ptel process serves over ClickHouse's HTTP protocol (its advertisement, attach.ts). */
  | { kind: 'attached'; url: string; username: string; password: string; database: string; requestTimeoutMs?: number };

/**
 * Settings every session gets, so both back ends answer alike: 64-bit integers quoted in JSON (the
 * server's default; read them with Number() or BigInt()), ISO-like parsing of date-time strings.
 */
const COMMON_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  date_time_input_format: 'best_effort',
};

const DB_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type PinoLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * The level a message of the client is logged at. A failed request reaches its caller as an error,
 * which the caller reports (or handles: a missing table may be expected): the client's own line about
 * it is detail for debugging. The client's advice on request timeouts above a minute is about load
 * balancers in front of a server; the long timeout is deliberate (batch queries of the metrics), so
 * that advice is detail too. Every other warning and error is the only report of what happened.
 */
function levelOf(level: 'warn' | 'error', params: LogParams): PinoLevel {
  if (params.module === 'Connection' && params.message.endsWith('HTTP request error.')) return 'debug';
  if (params.module === 'Config' && params.message.startsWith('request_timeout is set to')) return 'debug';
  return level;
}

/**
 * The client's `log` option: its messages go through the product's logger, one JSON line each
 * (component 'clickhouse', the client's module, its arguments under `args`, its error under `err`),
 * instead of the client's default multi-line text on the console. The client is told the least level
 * the logger can show, so it does not build messages nobody reads: its per-request detail only when
 * the logger is at trace.
 */
export function clickhouseLog(logger: Logger): NonNullable<ClickHouseClientConfigOptions['log']> {
  const log = logger.child({ component: 'clickhouse' });
  const write = (level: PinoLevel, { module, message, args }: LogParams, err?: Error): void => {
    log[level]({ module, ...(args !== undefined ? { args } : {}), ...(err !== undefined ? { err } : {}) }, message);
  };
  class ProductLogger implements ClientLogger {
    trace(p: LogParams): void {
      write('trace', p);
    }
    debug(p: LogParams): void {
      write('debug', p);
    }
    info(p: LogParams): void {
      write('info', p);
    }
    warn(p: WarnLogParams): void {
      write(levelOf('warn', p), p, p.err);
    }
    error(p: ErrorLogParams): void {
      write(levelOf('error', p), p, p.err);
    }
  }
  const level =
    logger.level === 'silent' ? ClickHouseLogLevel.OFF : logger.level === 'trace' ? ClickHouseLogLevel.TRACE : ClickHouseLogLevel.WARN;
  return { LoggerClass: ProductLogger, level };
}

/** The logger of stores opened without one. */
let fallbackLogger: Logger | undefined;

export interface OpenStoreOptions {
  /** Where the ClickHouse client's own messages go (default: warnings and errors as JSON lines on stderr). */
  logger?: Logger;
}

export async function openStore(target: StoreTarget, options: OpenStoreOptions = {}): Promise<Store> {
  if (!DB_NAME.test(target.database)) {
    throw new Error(`database name '${target.database}' may only hold letters, digits and '_' and must not start with a digit`);
  }
  const log = clickhouseLog(options.logger ?? (fallbackLogger ??= createLogger({ level: 'warn' })));
  if (target.kind === 'server') {
    const { cluster } = target;
    const admin = clusterClient(
      createClient({
        url: target.url,
        username: target.username,
        password: target.password ?? '',
        request_timeout: target.requestTimeoutMs ?? 300_000,
        clickhouse_settings: COMMON_SETTINGS,
        log,
      }),
      cluster,
    );
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS \`${target.database}\`` });
    } finally {
      await admin.close();
    }
    const client = clusterClient(
      createClient({
        url: target.url,
        username: target.username,
        password: target.password ?? '',
        database: target.database,
        request_timeout: target.requestTimeoutMs ?? 300_000,
        clickhouse_settings: COMMON_SETTINGS,
        log,
      }),
      cluster,
    );
    return {
      client,
      database: target.database,
      kind: 'server',
      ...(cluster !== undefined ? { cluster } : {}),
      close: () => client.close(),
    };
  }
  if (target.kind === 'attached') {
    // The serving process owns the database: it exists already and is not created from here.
    const client = createClient({
      url: target.url,
      username: target.username,
      password: target.password,
      database: target.database,
      request_timeout: target.requestTimeoutMs ?? 300_000,
      clickhouse_settings: COMMON_SETTINGS,
      log,
    });
    return { client, database: target.database, kind: 'attached', close: () => client.close() };
  }
  return openEmbedded(target.path, target.database, log);
}

/**
 * The client of a store on a ClickHouse cluster: every statement it sends (command, exec, query) goes
 * in its cluster form (ddl.ts), so DDL anywhere in the product runs ON CLUSTER with replicated tables
 * and no place that runs DDL can leave it out. A DDL statement the server refuses fails with the
 * cluster and the statement named. Without a cluster, the client itself: statements byte for byte.
 */
export function clusterClient(client: ClickHouseClient, cluster: string | undefined): ClickHouseClient {
  if (cluster === undefined) return client;
  const run = async <P extends { query: string }, R>(params: P, send: (p: P) => Promise<R>): Promise<R> => {
    const statement = clusterStatement(params.query, cluster);
    if (statement.quoted === undefined) return send(params);
    try {
      return await send({ ...params, query: statement.sql });
    } catch (err) {
      throw clusterError(err, cluster, statement.quoted);
    }
  };
  const command: ClickHouseClient['command'] = (p) => run(p, (q) => client.command(q));
  const exec: ClickHouseClient['exec'] = (p) => run(p, (q) => client.exec(q));
  const query = ((p: Parameters<ClickHouseClient['query']>[0]) => run(p, (q) => client.query(q))) as ClickHouseClient['query'];
  const own: Record<PropertyKey, unknown> = { command, exec, query };
  return new Proxy(client, {
    get(target, prop) {
      if (Object.hasOwn(own, prop)) return own[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A refused cluster statement's error: what the server said, with the cluster and the statement. */
function clusterError(err: unknown, cluster: string, quoted: string): Error {
  const said = err instanceof Error ? err.message : String(err);
  const message = `a statement on cluster '${cluster}' (clickhouse.cluster) failed: "${quoted}": ${said}`;
  // Keeps the server's code and type for the callers that handle some (users.ts: access denied).
  if (err instanceof ClickHouseError)
    return Object.assign(new ClickHouseError({ message, code: err.code, type: err.type }), { cause: err });
  return new Error(message, { cause: err });
}

type ChdbModule = typeof ChdbConnectionModule;
let chdbModule: Promise<ChdbModule> | undefined;

async function openEmbedded(dir: string, database: string, log: ClickHouseClientConfigOptions['log']): Promise<Store> {
  mkdirSync(dir, { recursive: true });
  // Loaded on first use: the engine is large and distributed mode never needs it.
  chdbModule ??= import('chdb/connection');
  const { createChdbConnection } = await chdbModule;
  const openSession = (): Connection => createChdbConnection({ path: dir }) as unknown as Connection;
  const engine = openSession();
  // The engine's current database is whatever the last statement chose, so create from `system`.
  await createClient({ connection: inDatabase(engine, 'system'), log }).command({
    query: `CREATE DATABASE IF NOT EXISTS \`${database}\``,
  });
  const client = createClient({ connection: inDatabase(engine, database), clickhouse_settings: COMMON_SETTINGS, log });
  return {
    client,
    database,
    kind: 'embedded',
    openSession,
    async close() {
      await client.close();
      await engine.close();
    },
  };
}

/**
 * The embedded engine has one session per process and ignores the client's `database` option, so
 * every statement is sent with its own `USE`: several stores (databases) can then share the engine
 * without seeing each other's tables.
 */
function inDatabase(engine: Connection, database: string): Connection {
  const use = `USE \`${database}\`; `;
  const prefix = (sql: string): string => use + sql;
  return {
    query: (p) => engine.query({ ...p, query: prefix(p.query) }),
    exec: (p) => engine.exec({ ...p, query: prefix(p.query) }),
    command: (p) => engine.command({ ...p, query: prefix(p.query) }),
    insert: (p) => engine.insert({ ...p, query: prefix(p.query) }),
    ping: (p) => engine.ping(p),
    // The engine belongs to the process; the store closes it explicitly.
    close: () => Promise.resolve(),
  };
}
