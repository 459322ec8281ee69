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

export interface MigrationResult {
  applied: Array<{ version: number; name: string }>;
  current: number;
}

/**
 * Applies the migrations the store has not seen yet, in order, and records each one. A migration
 * whose file changed after it was applied stops the run: the database would no longer match the
 * code, and that needs a new numbered migration instead.
 */
export async function migrate(store: Store, migrations: Migration[] = readMigrations()): Promise<MigrationResult> {
  const c = store.client;
  await c.command({
    query: `CREATE TABLE IF NOT EXISTS schema_migrations
      (version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
      ENGINE = ReplacingMergeTree(applied_at) ORDER BY version`,
  });
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
    for (const statement of m.statements) await c.command({ query: statement });
    await c.insert({
      table: 'schema_migrations',
      values: [{ version: m.version, name: m.name, checksum: m.checksum }],
      format: 'JSONEachRow',
    });
    applied.push({ version: m.version, name: m.name });
  }
  return { applied, current: Math.max(0, ...migrations.map((m) => m.version)) };
}
