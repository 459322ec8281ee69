import path from 'node:path';
import { inject } from 'vitest';
import { openStore, type Store } from '../../infra/store/client.js';
import { dropServerDatabase, quietLogger, testStore, uniqueName } from './harness.js';

/**
 * The two stores ptel runs on, for integration tests that run each scenario on both: the ClickHouse
 * engine in the process (`clickhouse.engine: embedded`, data under `<dataDir>/clickhouse`) and the
 * ClickHouse server over HTTP that the suite starts (`clickhouse.engine: server`, `clickhouse.url`, user
 * default, no password). A test takes a database of its own on the store (`database`) and drops it
 * afterwards (`drop`), so the shared server does not fill up with test data.
 */
export interface StoreUnderTest {
  readonly kind: 'embedded' | 'server';
  /** How test titles name the store. */
  readonly title: string;
  /** A database name no other test uses. */
  database(prefix: string): string;
  /** The `clickhouse` section of a configuration on `database` of this store. */
  clickhouse(database: string): StoreSection;
  /** The same, as the PTEL_CLICKHOUSE_* variables of a `ptel` process. */
  env(database: string): Record<string, string>;
  /**
   * Opens `database` for a test to read or seed; the engine's at `<dataDir>/clickhouse`, the folder
   * the runtime keeps it in (ignored on the server). Closing it leaves the database in place.
   */
  open(database: string, dataDir?: string): Promise<Store>;
  /** A migrated database of its own, dropped from the server when the store is closed (testStore). */
  fresh(prefix?: string): Promise<Store>;
  /** Drops `database` from the server (the engine's data lives in the test's temporary folder). */
  drop(database: string): Promise<void>;
}

export type StoreSection = { engine: 'embedded'; database: string } | { engine: 'server'; url: string; database: string };

/** The suite's ClickHouse server (test/setup/services.ts provides it). */
const serverUrl = (): string => {
  const url = inject('clickhouseUrl');
  if (url === undefined || url === '')
    throw new Error("no ClickHouse server: this test needs the services' globalSetup (inject('clickhouseUrl'))");
  return url;
};

const engine: StoreUnderTest = {
  kind: 'embedded',
  title: 'the in-process engine',
  database: (prefix) => uniqueName(prefix),
  clickhouse: (database) => ({ engine: 'embedded', database }),
  env: (database) => ({ PTEL_CLICKHOUSE_ENGINE: 'embedded', PTEL_CLICKHOUSE_DATABASE: database }),
  open(database, dataDir) {
    if (dataDir === undefined) throw new Error(`opening database '${database}' on the in-process engine needs the data folder`);
    return openStore({ kind: 'embedded', path: path.join(dataDir, 'clickhouse'), database }, { logger: quietLogger() });
  },
  fresh: (prefix = 't') => testStore(uniqueName(prefix), { on: 'engine' }),
  drop: () => Promise.resolve(),
};

const server: StoreUnderTest = {
  kind: 'server',
  title: 'the ClickHouse server',
  database: (prefix) => uniqueName(prefix),
  clickhouse: (database) => ({ engine: 'server', url: serverUrl(), database }),
  env: (database) => ({ PTEL_CLICKHOUSE_ENGINE: 'server', PTEL_CLICKHOUSE_URL: serverUrl(), PTEL_CLICKHOUSE_DATABASE: database }),
  open: (database) =>
    openStore({ kind: 'server', url: serverUrl(), username: 'default', password: undefined, database }, { logger: quietLogger() }),
  fresh: (prefix = 't') => testStore(uniqueName(prefix), { on: serverUrl() }),
  async drop(database) {
    const store = await server.open(database);
    try {
      await dropServerDatabase(store, database);
    } finally {
      await store.close();
    }
  },
};

/** Both stores, the engine first: `describe.each(STORES)('... ($title)', (store) => ...)`. */
export const STORES: readonly StoreUnderTest[] = [engine, server];
