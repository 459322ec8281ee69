import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../..');

interface LockEntry {
  version?: string;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** Where npm resolves `name` from the package at `from` (node_modules lookup up the tree). */
function resolves(packages: Record<string, LockEntry>, from: string, name: string): boolean {
  for (let dir = from; ;) {
    if (packages[`${dir === '' ? '' : `${dir}/`}node_modules/${name}`] !== undefined) return true;
    if (dir === '') return false;
    const i = dir.lastIndexOf('/node_modules/');
    dir = i < 0 ? '' : dir.slice(0, i);
  }
}

describe('package-lock.json', () => {
  const lock = JSON.parse(readFileSync(path.join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };

  it('lists every dependency and optional dependency of every package, so npm ci accepts it on any platform', () => {
    const missing: string[] = [];
    for (const [at, entry] of Object.entries(lock.packages)) {
      for (const name of [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})]) {
        if (!resolves(lock.packages, at, name)) missing.push(`${name} (needed by ${at === '' ? 'the project' : at})`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("holds the in-process ClickHouse engine's package for each platform it ships on", () => {
    const engines = Object.keys(lock.packages).filter((k) => k.startsWith('node_modules/@chdb/lib-'));
    expect(engines.length).toBeGreaterThanOrEqual(4);
    for (const k of engines) expect(lock.packages[k]!.optional).toBe(true);
  });
});
