import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clusterClient, openStore, type Store } from '../../infra/store/client.js';
import { onCluster } from '../../infra/store/ddl.js';
import { migrate, readMigrations, SCHEMA_MIGRATIONS_DDL } from '../../infra/store/migrate.js';
import { createUserStatements } from '../../infra/store/users.js';
import { queryRows, uniqueName } from '../support/harness.js';

/**
 * `clickhouse.cluster` against the real ClickHouse server. The server has no cluster and no Keeper,
 * so it cannot run a replicated statement: its parser checks the cluster form of every migration
 * (formatQuery parses a statement without running it), and the store on a cluster is checked to stop
 * at its first DDL statement with the cluster and the statement named, having changed nothing.
 */
describe('the store on a ClickHouse cluster', () => {
  const cluster = 'ptel_replicas';
  const database = uniqueName('it_cluster');
  let plain: Store;
  beforeAll(async () => {
    plain = await openStore({ kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database });
  });
  afterAll(async () => {
    await plain?.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await plain?.close();
  });

  /** The server's own rendering of a statement it parsed. */
  const format = async (sql: string): Promise<string> => {
    const [row] = await queryRows<{ f: string }>(plain, 'SELECT formatQuery({sql:String}) AS f', { sql });
    return row!.f;
  };

  /** A rendering of the server's undone to the non-replicated statement (ON CLUSTER as the server prints it). */
  const plainRendering = (formatted: string): string =>
    formatted
      .replace(` ON CLUSTER ${cluster}`, '')
      .replace(/Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'\)/, '$1')
      .replace(/Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}', /, '$1(');

  it('parses the cluster form of every migration, as the statement itself plus ON CLUSTER and replication', async () => {
    const statements = [SCHEMA_MIGRATIONS_DDL, ...readMigrations().flatMap((m) => m.statements)];
    let replicated = 0;
    for (const s of statements) {
      const formatted = await format(onCluster(s, cluster));
      const ddl = /^\s*(CREATE|ALTER)\b/i.test(s);
      expect(formatted.includes(`ON CLUSTER ${cluster}`), formatted.slice(0, 80)).toBe(ddl);
      if (/ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/.test(formatted))
        replicated++;
      // What the parser read is, but for the cluster and the replication, what it reads in the migration.
      expect(plainRendering(formatted)).toBe(await format(s));
    }
    expect(replicated).toBe(statements.filter((s) => /ENGINE\s*=\s*\w*MergeTree/.test(s)).length);
  });

  it('parses the cluster form of the user statements and of the runtime DDL', async () => {
    for (const s of [
      ...createUserStatements('ptel_app', "it's secret", database, cluster),
      `CREATE DATABASE IF NOT EXISTS \`${database}\``,
      "ALTER TABLE metric_value_staging DROP PARTITION 'run-1'",
    ]) {
      expect(await format(onCluster(s, cluster))).toContain(`ON CLUSTER ${cluster}`);
    }
  });

  it('refuses to open on a cluster the server does not have, naming the cluster and the statement', async () => {
    const other = uniqueName('it_cluster_open');
    const err = await openStore({
      kind: 'server',
      url: inject('clickhouseUrl'),
      username: 'default',
      password: undefined,
      database: other,
      cluster,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toBe(
      `a statement on cluster '${cluster}' (clickhouse.cluster) failed: "CREATE DATABASE IF NOT EXISTS \`${other}\` ON CLUSTER '${cluster}'": ` +
        `Requested cluster '${cluster}' not found. `,
    );
    const [row] = await queryRows<{ n: string }>(plain, 'SELECT count() AS n FROM system.databases WHERE name = {d:String}', { d: other });
    expect(Number(row!.n)).toBe(0);
  });

  it('stops migrate at its first statement on a cluster the server does not have, having created nothing', async () => {
    const onClusterStore: Store = { ...plain, client: clusterClient(plain.client, cluster), cluster, close: () => Promise.resolve() };
    await expect(migrate(onClusterStore)).rejects.toThrow(
      `a statement on cluster '${cluster}' (clickhouse.cluster) failed: "CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER '${cluster}' ...": ` +
        `Requested cluster '${cluster}' not found.`,
    );
    const tables = await queryRows<{ name: string }>(plain, 'SELECT name FROM system.tables WHERE database = {d:String}', { d: database });
    expect(tables).toEqual([]);
  });
});
