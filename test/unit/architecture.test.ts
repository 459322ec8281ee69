import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import ts from 'typescript';
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

describe('SQL reads no wall clock', () => {
  const PRODUCT = ['app', 'cli', 'connectors', 'infra', 'mapping', 'schemas', 'workers'];
  /** ClickHouse functions that read the server's clock. */
  const CLOCK_FUNCTION = /\b(now64|now|today|yesterday)\(/gi;
  /** Where a column DEFAULT may stamp a row's storage time: the migrations and the migrations' own ledger. */
  const mayDefault = (file: string): boolean => file.startsWith('schemas/migrations/') || file === 'infra/store/migrate.ts';

  function productFiles(dir = ''): string[] {
    const out: string[] = [];
    for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
      const rel = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (dir !== '' || PRODUCT.includes(entry.name)) out.push(...productFiles(rel));
      } else if (dir !== '' && (/\.ts$/.test(rel) ? !rel.endsWith('.test.ts') : rel.endsWith('.sql'))) out.push(rel);
    }
    return out;
  }

  /** The text of every string and template literal of a TypeScript source: where its SQL is. */
  function literals(file: string, text: string): string[] {
    const out: string[] = [];
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) out.push(node.text);
      else if (ts.isTemplateExpression(node)) out.push(node.head.text, ...node.templateSpans.map((s) => s.literal.text));
      node.forEachChild(visit);
    };
    visit(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS));
    return out;
  }

  /** "file: call in <line>" for each clock function in the SQL of `text`, but a migration's column DEFAULT. */
  function clockReads(file: string, text: string): string[] {
    const sql = file.endsWith('.sql') ? [text.replace(/--.*$/gm, '')] : literals(file, text);
    const out: string[] = [];
    for (const chunk of sql) {
      for (const m of chunk.matchAll(CLOCK_FUNCTION)) {
        if (mayDefault(file) && /\bDEFAULT\s+$/i.test(chunk.slice(0, m.index))) continue;
        const start = chunk.lastIndexOf('\n', m.index) + 1;
        const end = chunk.indexOf('\n', m.index);
        out.push(`${file}: ${m[1]!.toLowerCase()}() in ${chunk.slice(start, end === -1 ? undefined : end).trim()}`);
      }
    }
    return out;
  }

  it('finds no now(), now64(), today() or yesterday() in the product SQL: "now" is a parameter from the clock', () => {
    const files = productFiles();
    expect(files.filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(5);
    expect(files.length).toBeGreaterThan(100);
    expect(files.flatMap((f) => clockReads(f, readFileSync(path.join(root, f), 'utf8')))).toEqual([]);
  });

  it('flags what it must flag, and leaves code and column DEFAULTs alone', () => {
    const src = [
      'const now = (): number => clock.now();',
      'const q = `SELECT count() FROM t WHERE day = today() AND at > {since:DateTime64(3)}`;',
      "const r = 'SELECT toDate(now(), {tz:String}), yesterday()';",
      'const s = `INSERT INTO t VALUES (${now()}, now64(3))`;',
    ].join('\n');
    expect(clockReads('workers/metrics/example.ts', src).map((r) => r.split(' in ')[0])).toEqual([
      'workers/metrics/example.ts: today()',
      'workers/metrics/example.ts: now()',
      'workers/metrics/example.ts: yesterday()',
      'workers/metrics/example.ts: now64()',
    ]);
    const ddl = 'CREATE TABLE t (\n  stored_at DateTime64(3) DEFAULT now64(3), -- now() here is a comment\n  d Date DEFAULT today()\n)';
    expect(clockReads('schemas/migrations/0099_example.sql', ddl)).toEqual([]);
    expect(clockReads('schemas/migrations/0099_example.sql', `${ddl};\nSELECT now()`)).toEqual([
      'schemas/migrations/0099_example.sql: now() in SELECT now()',
    ]);
    expect(clockReads('workers/metrics/example.sql', ddl)).toHaveLength(2);
  });
});
