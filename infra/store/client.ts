import { mkdirSync } from 'node:fs';
import type * as ChdbConnectionModule from 'chdb/connection';
import {
  ClickHouseLogLevel,
  createClient,
  type ClickHouseClient,
  type ClickHouseClientConfigOptions,
  type ClickHouseSettings,
} from '@clickhouse/client';

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
  /**
   * Embedded only: a new session on this process's engine, with its own current database, settings
   * and parameter state, sharing the engine's data. The caller closes it.
   */
  readonly openSession?: () => Connection;
  close(): Promise<void>;
}

export type StoreTarget =
  | { kind: 'server'; url: string; username: string; password: string | undefined; database: string; requestTimeoutMs?: number }
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

export async function openStore(target: StoreTarget): Promise<Store> {
  if (!DB_NAME.test(target.database)) {
    throw new Error(`database name '${target.database}' may only hold letters, digits and '_' and must not start with a digit`);
  }
  if (target.kind === 'server') {
    const admin = createClient({
      url: target.url,
      username: target.username,
      password: target.password ?? '',
      request_timeout: target.requestTimeoutMs ?? 300_000,
      clickhouse_settings: COMMON_SETTINGS,
    });
    try {
      await admin.command({ query: `CREATE DATABASE IF NOT EXISTS \`${target.database}\`` });
    } finally {
      await admin.close();
    }
    const client = createClient({
      url: target.url,
      username: target.username,
      password: target.password ?? '',
      database: target.database,
      request_timeout: target.requestTimeoutMs ?? 300_000,
      clickhouse_settings: COMMON_SETTINGS,
    });
    return { client, database: target.database, kind: 'server', close: () => client.close() };
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
      // Every failure reaches the caller as an error; the client's own logger would print it again,
      // with its stack, on stderr.
      log: { level: ClickHouseLogLevel.OFF },
    });
    return { client, database: target.database, kind: 'attached', close: () => client.close() };
  }
  return openEmbedded(target.path, target.database);
}

type ChdbModule = typeof ChdbConnectionModule;
let chdbModule: Promise<ChdbModule> | undefined;

async function openEmbedded(dir: string, database: string): Promise<Store> {
  mkdirSync(dir, { recursive: true });
  // Loaded on first use: the engine is large and distributed mode never needs it.
  chdbModule ??= import('chdb/connection');
  const { createChdbConnection } = await chdbModule;
  const openSession = (): Connection => createChdbConnection({ path: dir }) as unknown as Connection;
  const engine = openSession();
  // The engine's current database is whatever the last statement chose, so create from `system`.
  await createClient({ connection: inDatabase(engine, 'system') }).command({
    query: `CREATE DATABASE IF NOT EXISTS \`${database}\``,
  });
  const client = createClient({ connection: inDatabase(engine, database), clickhouse_settings: COMMON_SETTINGS });
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
