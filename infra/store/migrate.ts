import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { migrationsDir } from '../paths.js';
import type { Store } from './client.js';

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

const FILE = /^(\d{4})_([a-z0-9_]+)\.sql$/;

/** Reads the numbered migrations: `NNNN_name.sql`, statements separated by `;` at the end of a line. */
export function readMigrations(dir: string = migrationsDir()): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = FILE.exec(file);
    if (m === null) {
      if (file.endsWith('.sql')) throw new Error(`migration file ${file} must be named NNNN_name.sql (lower case)`);
      continue;
    }
    const text = readFileSync(path.join(dir, file), 'utf8');
    const statements = text
      .split(/;\s*$/m)
      .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
      .filter((s) => s !== '');
    const version = Number(m[1]);
    if (out.some((x) => x.version === version)) throw new Error(`two migrations share version ${m[1]}`);
    out.push({ version, name: m[2]!, checksum: createHash('sha256').update(text).digest('hex'), statements });
  }
  return out;
}

/** The table that records the migrations applied, created before any of them. */
export const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`;

export interface MigrationResult {
  applied: Array<{ version: number; name: string }>;
  current: number;
}

/**
 * Applies the migrations the store has not seen yet, in order, and records each one. A migration
 * whose file changed after it was applied stops the run: the database would no longer match the
 * code, and that needs a new numbered migration instead. On a store with a cluster
 * (`clickhouse.cluster`) the store's client runs each DDL statement ON CLUSTER with replicated
 * engines (ddl.ts, client.ts clusterClient), schema_migrations included.
 */
export async function migrate(store: Store, migrations: Migration[] = readMigrations()): Promise<MigrationResult> {
  const c = store.client;
  await c.command({ query: SCHEMA_MIGRATIONS_DDL });
  const rs = await c.query({
    query: 'SELECT version, name, checksum FROM schema_migrations FINAL ORDER BY version',
    format: 'JSONEachRow',
  });
  const done = new Map((await rs.json<{ version: number; name: string; checksum: string }>()).map((r) => [Number(r.version), r]));
  const applied: MigrationResult['applied'] = [];
  for (const m of migrations) {
    const prior = done.get(m.version);
    if (prior !== undefined) {
      if (prior.checksum !== m.checksum) {
        throw new Error(
          `migration ${String(m.version).padStart(4, '0')}_${m.name} was changed after it was applied to database '${store.database}'; ` +
            `restore the file and put the change in a new numbered migration`,
        );
      }
      continue;
    }
    for (const statement of m.statements) {
      try {
        await c.command({ query: statement });
      } catch (err) {
        const file = `${String(m.version).padStart(4, '0')}_${m.name}.sql`;
        throw new Error(`migration ${file} failed on database '${store.database}': ${err instanceof Error ? err.message : String(err)}`, {
          cause: err,
        });
      }
    }
    await c.insert({
      table: 'schema_migrations',
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    });
    applied.push({ version: m.version, name: m.name });
  }
  return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
}
