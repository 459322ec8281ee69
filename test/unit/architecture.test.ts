import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { groupOf, importCycles, importEdges, layerViolations } from '../../infra/scripts/import-graph.mjs';

const root = path.resolve(import.meta.dirname, '../..');

describe('the import graph', () => {
  const edges = importEdges(root);

  it('is read from the product code', () => {
    // The graph is real: the CLI reaches the application layer, which reaches the workers.
    expect(edges.length).toBeGreaterThan(300);
    expect(edges.some(([a, b]) => groupOf(a) === 'cli' && groupOf(b) === 'app')).toBe(true);
  });

  it('points down the data flow only: no upward or sideways import, no product import of test code', () => {
    expect(layerViolations(edges)).toEqual([]);
  });

  it('has no cycle between files', () => {
    expect(importCycles(edges)).toEqual([]);
  });

  it('flags what it must flag', () => {
    expect(layerViolations([['connectors/github/mapper.ts', 'workers/normalize/normalizer.ts']])[0]).toMatch(/upward/);
    expect(layerViolations([['workers/alerts/stalls.ts', 'workers/export/csv.ts']])[0]).toMatch(/sideways/);
    expect(layerViolations([['cli/main.ts', 'test/fakes/github.ts']])[0]).toMatch(/test code/);
    expect(layerViolations([['bench/main.ts', 'test/fakes/github.ts']])).toEqual([]);
    expect(
      importCycles([
        ['a.ts', 'b.ts'],
        ['b.ts', 'c.ts'],
        ['c.ts', 'a.ts'],
        ['c.ts', 'd.ts'],
      ]),
    ).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });

  it('keeps SQL out of the command line', () => {
    const sql = /\b(SELECT|INSERT INTO|ALTER TABLE|CREATE TABLE)\b|\.query\(\{|\.command\(\{/;
    const offenders = readdirSync(path.join(root, 'cli'))
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => sql.test(readFileSync(path.join(root, 'cli', f), 'utf8')));
    expect(offenders).toEqual([]);
  });
});

describe("the Dockerfile's file set", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'ptel-image-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('compiles on its own, with exactly the files the image copies', () => {
    const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8');
    // The build stage's COPY lines (not the runtime stage's COPY --from).
    const buildStage = dockerfile.slice(0, dockerfile.indexOf('FROM', dockerfile.indexOf('FROM') + 1));
    const copies = [...buildStage.matchAll(/^COPY\s+(?!--)(.+)$/gm)].map((m) => m[1]!.trim().split(/\s+/));
    expect(copies.length).toBeGreaterThan(2);
    for (const parts of copies) {
      const sources = parts.slice(0, -1);
      const dest = parts[parts.length - 1]!;
      for (const s of sources) {
        const target = dest.endsWith('/') ? path.join(dir, dest, path.basename(s)) : path.join(dir, dest);
        cpSync(path.join(root, s), target, { recursive: true });
      }
    }
    symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    const compiled = spawnSync(
      process.execPath,
      [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', path.join(dir, 'out')],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(`${compiled.stdout}${compiled.stderr}`).toBe('');
    expect(compiled.status).toBe(0);
    expect(existsSync(path.join(dir, 'out/cli/main.js'))).toBe(true);
    expect(existsSync(path.join(dir, 'out/test'))).toBe(false);
  }, 240_000);
});
