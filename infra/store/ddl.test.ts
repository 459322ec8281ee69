import { ClickHouseError, type ClickHouseClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { clusterClient } from './client.js';
import { clusterStatement, DdlParseError, MERGE_TREE_ENGINES, onCluster } from './ddl.js';
import { readMigrations, SCHEMA_MIGRATIONS_DDL } from './migrate.js';

const C = 'ptel_cluster';
const PATH = `'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'`;

/** Every statement ptel's migrations run, schema_migrations first, with the file it comes from. */
const statements: Array<[string, string]> = [
  ['migrate.ts', SCHEMA_MIGRATIONS_DDL],
  ...readMigrations().flatMap((m) => m.statements.map((s): [string, string] => [`${String(m.version).padStart(4, '0')}_${m.name}`, s])),
];

/**
 * The non-replicated statement a cluster form stands for, undone with patterns of its own (not with
 * the code under test): the ON CLUSTER clause taken out, a Replicated engine given back its plain name
 * and its arguments after the Keeper path and the replica name.
 */
function plainForm(sql: string, cluster: string): string {
  const quoted = `'${cluster}'`;
  return sql
    .split(` ON CLUSTER ${quoted}`)
    .join('')
    .replace(/Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'\)/g, '$1')
    .replace(/Replicated(\w*MergeTree)\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}', /g, '$1(');
}

const blanks = (s: string): string => s.replace(/\s+/g, ' ').trim();

describe('the cluster form of the migrations', () => {
  it('covers a statement of every migration file', () => {
    expect(new Set(statements.map(([file]) => file)).size).toBe(readMigrations().length + 1);
  });

  it('is, with ON CLUSTER and the replication arguments taken out again, the statement itself', () => {
    for (const [file, s] of statements) {
      const clustered = onCluster(s, C);
      expect(blanks(plainForm(clustered, C)), `${file}: ${blanks(s).slice(0, 60)}`).toBe(blanks(s));
    }
  });

  it('runs every DDL statement ON CLUSTER once, and every MergeTree table replicated', () => {
    let tables = 0;
    for (const [file, s] of statements) {
      const clustered = onCluster(s, C);
      const ddl = /^\s*(CREATE|ALTER)\b/i.test(s);
      expect(clustered.split(`ON CLUSTER '${C}'`).length - 1, `${file}: ${blanks(s).slice(0, 60)}`).toBe(ddl ? 1 : 0);
      if (!ddl) expect(clustered).toBe(s);
      // No engine of the family stays unreplicated.
      expect(clustered, file).not.toMatch(/ENGINE\s*=?\s*(?!Replicated)\w*MergeTree/);
      if (/ENGINE\s*=\s*\w*MergeTree/.test(s)) {
        tables++;
        expect(clustered, file).toMatch(
          /ENGINE = Replicated\w*MergeTree\('\/clickhouse\/tables\/\{shard\}\/\{database\}\/\{table\}', '\{replica\}'/,
        );
      }
    }
    // The tables of the schema (a count that only grows with new migrations).
    expect(tables).toBeGreaterThanOrEqual(40);
  });

  it('is the statement byte for byte without a cluster', () => {
    for (const [, s] of statements) expect(onCluster(s, undefined)).toBe(s);
  });
});

describe('the cluster form of a statement', () => {
  const table = (engine: string): string => `CREATE TABLE IF NOT EXISTS t\n(\n    a UInt8,\n    v UInt64\n)\n${engine}\nORDER BY a`;
  const clustered = (engine: string): string =>
    `CREATE TABLE IF NOT EXISTS t ON CLUSTER '${C}'\n(\n    a UInt8,\n    v UInt64\n)\n${engine}\nORDER BY a`;

  it('replicates each engine of the MergeTree family, with or without parameters', () => {
    const cases: Array<[string, string]> = [
      ['ENGINE = MergeTree', `ENGINE = ReplicatedMergeTree(${PATH})`],
      ['ENGINE = MergeTree()', `ENGINE = ReplicatedMergeTree(${PATH})`],
      ['ENGINE MergeTree', `ENGINE ReplicatedMergeTree(${PATH})`],
      ['ENGINE = ReplacingMergeTree(v)', `ENGINE = ReplicatedReplacingMergeTree(${PATH}, v)`],
      ['ENGINE = ReplacingMergeTree(v, is_deleted)', `ENGINE = ReplicatedReplacingMergeTree(${PATH}, v, is_deleted)`],
      ['ENGINE = SummingMergeTree((a, v))', `ENGINE = ReplicatedSummingMergeTree(${PATH}, (a, v))`],
      ['ENGINE = SummingMergeTree', `ENGINE = ReplicatedSummingMergeTree(${PATH})`],
      ['ENGINE = AggregatingMergeTree', `ENGINE = ReplicatedAggregatingMergeTree(${PATH})`],
      ['ENGINE = CollapsingMergeTree(sign)', `ENGINE = ReplicatedCollapsingMergeTree(${PATH}, sign)`],
      ['ENGINE = VersionedCollapsingMergeTree(sign, v)', `ENGINE = ReplicatedVersionedCollapsingMergeTree(${PATH}, sign, v)`],
      ['engine = replacingmergetree( v )', `engine = ReplicatedReplacingMergeTree(${PATH}, v)`],
    ];
    for (const [engine, replicated] of cases) expect(onCluster(table(engine), C), engine).toBe(clustered(replicated));
    expect(MERGE_TREE_ENGINES).toEqual(
      expect.arrayContaining(cases.map(([e]) => /(\w*MergeTree)/i.exec(e)![1]!).filter((e) => /^[A-Z]/.test(e))),
    );
  });

  it('leaves other engines and a replicated one as they are, ON CLUSTER all the same', () => {
    for (const engine of ['ENGINE = Memory', 'ENGINE = Log', 'ENGINE = Null', "ENGINE = ReplicatedMergeTree('/p/{shard}', '{replica}')"]) {
      expect(onCluster(table(engine), C), engine).toBe(clustered(engine));
    }
  });

  it('puts ON CLUSTER right after the object, for each kind of DDL', () => {
    const cases: Array<[string, string]> = [
      ['CREATE DATABASE IF NOT EXISTS `ptel`', `CREATE DATABASE IF NOT EXISTS \`ptel\` ON CLUSTER '${C}'`],
      ['CREATE DATABASE d ENGINE = Atomic', `CREATE DATABASE d ON CLUSTER '${C}' ENGINE = Atomic`],
      ['CREATE VIEW IF NOT EXISTS db.v AS SELECT 1', `CREATE VIEW IF NOT EXISTS db.v ON CLUSTER '${C}' AS SELECT 1`],
      ['CREATE OR REPLACE VIEW v AS SELECT 1', `CREATE OR REPLACE VIEW v ON CLUSTER '${C}' AS SELECT 1`],
      [
        'CREATE MATERIALIZED VIEW mv ENGINE = SummingMergeTree ORDER BY k AS SELECT k, count() AS n, engine FROM t GROUP BY k, engine',
        `CREATE MATERIALIZED VIEW mv ON CLUSTER '${C}' ENGINE = ReplicatedSummingMergeTree(${PATH}) ORDER BY k AS SELECT k, count() AS n, engine FROM t GROUP BY k, engine`,
      ],
      [
        'CREATE MATERIALIZED VIEW mv TO dest AS SELECT a FROM t',
        `CREATE MATERIALIZED VIEW mv ON CLUSTER '${C}' TO dest AS SELECT a FROM t`,
      ],
      ['CREATE TABLE copy AS raw_events', `CREATE TABLE copy ON CLUSTER '${C}' AS raw_events`],
      [
        'CREATE TABLE s ENGINE = MergeTree ORDER BY a AS SELECT 1 AS a',
        `CREATE TABLE s ON CLUSTER '${C}' ENGINE = ReplicatedMergeTree(${PATH}) ORDER BY a AS SELECT 1 AS a`,
      ],
      [
        "CREATE TABLE t UUID '5c0a5b4e-0000-4000-8000-000000000001' (a UInt8) ENGINE = MergeTree ORDER BY a",
        `CREATE TABLE t UUID '5c0a5b4e-0000-4000-8000-000000000001' ON CLUSTER '${C}' (a UInt8) ENGINE = ReplicatedMergeTree(${PATH}) ORDER BY a`,
      ],
      [
        "CREATE DICTIONARY d (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(TABLE 't')) LAYOUT(FLAT()) LIFETIME(300)",
        `CREATE DICTIONARY d ON CLUSTER '${C}' (k UInt64, v String) PRIMARY KEY k SOURCE(CLICKHOUSE(TABLE 't')) LAYOUT(FLAT()) LIFETIME(300)`,
      ],
      [
        "ALTER TABLE milestone_forecasts ADD COLUMN IF NOT EXISTS method LowCardinality(String) DEFAULT 'throughput' AFTER band",
        `ALTER TABLE milestone_forecasts ON CLUSTER '${C}' ADD COLUMN IF NOT EXISTS method LowCardinality(String) DEFAULT 'throughput' AFTER band`,
      ],
      ["ALTER TABLE metric_value_staging DROP PARTITION 'r1'", `ALTER TABLE metric_value_staging ON CLUSTER '${C}' DROP PARTITION 'r1'`],
      ['ALTER TABLE `db`.`t` DELETE WHERE a = 1', `ALTER TABLE \`db\`.\`t\` ON CLUSTER '${C}' DELETE WHERE a = 1`],
      ['DROP TABLE IF EXISTS a, db.b SYNC', `DROP TABLE IF EXISTS a, db.b ON CLUSTER '${C}' SYNC`],
      ['DROP DATABASE IF EXISTS `bench_x`', `DROP DATABASE IF EXISTS \`bench_x\` ON CLUSTER '${C}'`],
      ['DROP VIEW v', `DROP VIEW v ON CLUSTER '${C}'`],
      ['DROP USER IF EXISTS u1, u2', `DROP USER IF EXISTS u1, u2 ON CLUSTER '${C}'`],
      ['TRUNCATE TABLE raw_events', `TRUNCATE TABLE raw_events ON CLUSTER '${C}'`],
      ['TRUNCATE IF EXISTS raw_events', `TRUNCATE IF EXISTS raw_events ON CLUSTER '${C}'`],
      ['RENAME TABLE a TO a_old, b TO a', `RENAME TABLE a TO a_old, b TO a ON CLUSTER '${C}'`],
      ['EXCHANGE TABLES a AND b', `EXCHANGE TABLES a AND b ON CLUSTER '${C}'`],
      ['OPTIMIZE TABLE raw_events PARTITION 202610 FINAL', `OPTIMIZE TABLE raw_events ON CLUSTER '${C}' PARTITION 202610 FINAL`],
      [
        "CREATE USER IF NOT EXISTS `u` IDENTIFIED WITH sha256_password BY 'p'",
        `CREATE USER IF NOT EXISTS \`u\` ON CLUSTER '${C}' IDENTIFIED WITH sha256_password BY 'p'`,
      ],
      [
        "ALTER USER `u` IDENTIFIED WITH sha256_password BY 'p'",
        `ALTER USER \`u\` ON CLUSTER '${C}' IDENTIFIED WITH sha256_password BY 'p'`,
      ],
      ['GRANT SELECT, INSERT ON `ptel`.* TO `u`', `GRANT ON CLUSTER '${C}' SELECT, INSERT ON \`ptel\`.* TO \`u\``],
      ['REVOKE ALTER ON ptel.* FROM u', `REVOKE ON CLUSTER '${C}' ALTER ON ptel.* FROM u`],
      ['DETACH TABLE t PERMANENTLY', `DETACH TABLE t ON CLUSTER '${C}' PERMANENTLY`],
      ['ALTER TABLE {t:Identifier} DROP PARTITION 1', `ALTER TABLE {t:Identifier} ON CLUSTER '${C}' DROP PARTITION 1`],
    ];
    for (const [plain, expected] of cases) expect(onCluster(plain, C), plain).toBe(expected);
  });

  it('reads strings, quoted names and comments whole', () => {
    const tricky = [
      '-- ENGINE = MergeTree in a comment',
      'CREATE TABLE IF NOT EXISTS `odd name` /* ENGINE = MergeTree ( */',
      "(a String DEFAULT 'ENGINE = MergeTree (', b String COMMENT 'it''s \\' (', `ENGINE` UInt8)",
      'ENGINE = ReplacingMergeTree(b)',
      'ORDER BY a',
    ].join('\n');
    expect(onCluster(tricky, C)).toBe(
      [
        '-- ENGINE = MergeTree in a comment',
        `CREATE TABLE IF NOT EXISTS \`odd name\` ON CLUSTER '${C}' /* ENGINE = MergeTree ( */`,
        "(a String DEFAULT 'ENGINE = MergeTree (', b String COMMENT 'it''s \\' (', `ENGINE` UInt8)",
        `ENGINE = ReplicatedReplacingMergeTree(${PATH}, b)`,
        'ORDER BY a',
      ].join('\n'),
    );
  });

  it('quotes a cluster name that needs it, and accepts a macro', () => {
    expect(onCluster('DROP TABLE t', '{cluster}')).toBe("DROP TABLE t ON CLUSTER '{cluster}'");
    expect(onCluster('DROP TABLE t', "it's")).toBe("DROP TABLE t ON CLUSTER 'it\\'s'");
  });

  it('leaves queries, inserts, temporary tables and statements naming a cluster as they are', () => {
    for (const s of [
      'SELECT 1',
      '  -- a note\nWITH x AS (SELECT 1) SELECT * FROM x',
      'INSERT INTO metric_value_history SELECT * FROM metric_values',
      'CREATE TEMPORARY TABLE tmp (a UInt8) ENGINE = Memory',
      'DROP TEMPORARY TABLE tmp',
      `CREATE TABLE t ON CLUSTER other (a UInt8) ENGINE = MergeTree ORDER BY a`,
      `ALTER TABLE t ON CLUSTER '${C}' DROP PARTITION 1`,
      'GRANT ON CLUSTER other SELECT ON db.* TO u',
      'SYSTEM SYNC REPLICA t',
      'EXPLAIN SYNTAX CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY a',
    ]) {
      expect(onCluster(s, C), s).toBe(s);
      expect(clusterStatement(s, C).quoted).toBeUndefined();
    }
  });

  it('refuses DDL it has no cluster form for, and unreadable statements, saying which and where', () => {
    expect(() => onCluster('CREATE ROLE r', C)).toThrow(DdlParseError);
    expect(() => onCluster('CREATE ROLE r', C)).toThrow(
      'no cluster form for this CREATE statement at offset 7 (\'ROLE\') of statement "CREATE ROLE r"',
    );
    expect(() => onCluster('TRUNCATE ALL TABLES FROM db', C)).toThrow(/no cluster form for this TRUNCATE statement/);
    expect(() => onCluster("CREATE TABLE t (a String DEFAULT 'x) ENGINE = MergeTree", C)).toThrow(/unclosed string at offset 33/);
    expect(() => onCluster('CREATE TABLE t (a UInt8) ENGINE = ReplacingMergeTree(v ORDER BY a', C)).toThrow(
      /the engine's parameters are not closed/,
    );
    expect(() => onCluster('RENAME TABLE a b', C)).toThrow(/expected 'TO' at offset 15/);
  });

  it('describes a statement for messages by its object, never with what follows a user name', () => {
    const s = clusterStatement("CREATE USER IF NOT EXISTS `u` IDENTIFIED WITH sha256_password BY 'hunter22'", C);
    expect(s.quoted).toBe(`CREATE USER IF NOT EXISTS \`u\` ON CLUSTER '${C}' ...`);
    expect(clusterStatement(SCHEMA_MIGRATIONS_DDL, C).quoted).toBe(`CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER '${C}' ...`);
    expect(clusterStatement('DROP TABLE t', C).quoted).toBe(`DROP TABLE t ON CLUSTER '${C}'`);
    expect(clusterStatement('GRANT SELECT ON db.* TO u', C).quoted).toBe(`GRANT ON CLUSTER '${C}' SELECT ON db.* TO u`);
  });
});

describe('the client of a store on a cluster', () => {
  /** A client that records what it is sent, and fails what `refuse` says. */
  function recording(refuse: (query: string) => Error | undefined = () => undefined): { client: ClickHouseClient; sent: string[] } {
    const sent: string[] = [];
    const answer = (p: { query: string }): Promise<unknown> => {
      sent.push(p.query);
      const err = refuse(p.query);
      return err !== undefined ? Promise.reject(err) : Promise.resolve({ query_id: 'q' });
    };
    const client = {
      command: answer,
      exec: answer,
      query: answer,
      close: () => Promise.resolve(),
      ping: () => Promise.resolve({ success: true }),
    };
    return { client: client as unknown as ClickHouseClient, sent };
  }

  it('sends DDL in its cluster form and everything else as it is', async () => {
    const { client, sent } = recording();
    const c = clusterClient(client, C);
    await c.command({ query: "ALTER TABLE metric_value_staging DROP PARTITION 'r'" });
    await c.exec({ query: 'DROP TABLE t' });
    await c.query({ query: 'SELECT 1' });
    await c.command({ query: 'INSERT INTO t SELECT 1' });
    expect(sent).toEqual([
      `ALTER TABLE metric_value_staging ON CLUSTER '${C}' DROP PARTITION 'r'`,
      `DROP TABLE t ON CLUSTER '${C}'`,
      'SELECT 1',
      'INSERT INTO t SELECT 1',
    ]);
    expect(await c.ping()).toEqual({ success: true });
  });

  it('is the client itself without a cluster', () => {
    const { client } = recording();
    expect(clusterClient(client, undefined)).toBe(client);
  });

  it("says which cluster and statement the server refused, keeping the server's code", async () => {
    const refusal = new ClickHouseError({
      message: "Requested cluster 'ptel_cluster' not found",
      code: '701',
      type: 'CLUSTER_DOESNT_EXIST',
    });
    const { client } = recording((q) => (q.startsWith('DROP') ? refusal : undefined));
    const err = await clusterClient(client, C)
      .command({ query: 'DROP TABLE IF EXISTS t SYNC' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).message).toBe(
      `a statement on cluster '${C}' (clickhouse.cluster) failed: "DROP TABLE IF EXISTS t ON CLUSTER '${C}' ...": Requested cluster 'ptel_cluster' not found`,
    );
    expect((err as ClickHouseError).code).toBe('701');
    expect((err as ClickHouseError).type).toBe('CLUSTER_DOESNT_EXIST');
  });
});
