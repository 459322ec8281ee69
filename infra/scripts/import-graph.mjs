#!/usr/bin/env node
// The project's import graph, checked against its layers: arrows point down the data flow, never up or
// sideways, and no file imports itself through others. `npm run deps` prints the folder graph and any
// violation (exit 1 when there is one); test/unit/architecture.test.ts holds the same rules.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers, lowest first. A file may import from its own group and from groups of a lower layer; a group
 * of the same layer is a sibling (no import), a higher layer is upstream of it in the data flow.
 */
export const LAYERS = [
  ['schemas'],
  ['infra'],
  ['mapping'],
  ['connectors/core'],
  [
    'connectors/github',
    'connectors/gitlab',
    'connectors/jenkins',
    'connectors/jira',
    'connectors/pagerduty',
    'connectors/cdevents',
    'connectors/ingest',
    'connectors/outcomes',
    'connectors/demo',
  ],
  ['connectors'],
  ['workers/normalize'],
  ['workers/link'],
  ['workers/metrics'],
  ['workers/forecast'],
  ['workers/registers'],
  ['workers/alerts', 'workers/export'],
  ['workers/reports'],
  ['app'],
  ['cli'],
  ['bench'],
];

/** Folders of product code (and the benchmarks, which may also use the test suite's fakes). */
const ROOTS = ['schemas', 'infra', 'mapping', 'connectors', 'workers', 'app', 'cli', 'bench'];
const SKIP = new Set(['node_modules', 'dist', 'dist-bench', '.git', '.local', 'data', 'scripts']);

function sourceFiles(root) {
  const out = [];
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP.has(e.name)) continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const r of ROOTS) {
    try {
      walk(path.join(root, r));
    } catch (err) {
      if (err.code !== 'ENOENT') throw err;
    }
  }
  return out;
}

/** The group of a file: workers/<stage> and connectors/<source> are groups of their own, else the top folder. */
export function groupOf(rel) {
  const parts = rel.split('/');
  if ((parts[0] === 'workers' || parts[0] === 'connectors') && parts.length > 2) return `${parts[0]}/${parts[1]}`;
  return parts[0];
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Every relative import between the project's files: [from, to] as paths relative to the root. */
export function importEdges(root) {
  const edges = [];
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      const target = path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'));
      edges.push([path.relative(root, file).split(path.sep).join('/'), path.relative(root, target).split(path.sep).join('/')]);
    }
  }
  return edges;
}

const rankOf = (group) => LAYERS.findIndex((l) => l.includes(group));

/** What breaks the layering: an import of test code from the product, of an unknown group, upward or sideways. */
export function layerViolations(edges) {
  const out = [];
  for (const [from, to] of edges) {
    const a = groupOf(from);
    const b = groupOf(to);
    if (b === 'test') {
      if (a !== 'bench') out.push(`${from} -> ${to}: product code imports test code`);
      continue;
    }
    if (a === b) continue;
    const ra = rankOf(a);
    const rb = rankOf(b);
    if (ra < 0 || rb < 0) out.push(`${from} -> ${to}: ${ra < 0 ? a : b} is in no layer (infra/scripts/import-graph.mjs LAYERS)`);
    else if (rb > ra) out.push(`${from} -> ${to}: upward (${a} is below ${b})`);
    else if (rb === ra) out.push(`${from} -> ${to}: sideways (${a} and ${b} are siblings)`);
  }
  return out;
}

/** Import cycles between files: each strongly connected set of two or more files (or a file importing itself). */
export function importCycles(edges) {
  const next = new Map();
  for (const [a, b] of edges) {
    if (!next.has(a)) next.set(a, new Set());
    next.get(a).add(b);
  }
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cycles = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || next.get(v)?.has(v) === true) cycles.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!idx.has(v)) visit(v);
  return cycles;
}

/** The folder graph: each pair of groups with the number of imports from one to the other. */
export function groupGraph(edges) {
  const counts = new Map();
  for (const [from, to] of edges) {
    const a = groupOf(from);
    const b = groupOf(to);
    if (a === b) continue;
    counts.set(`${a} -> ${b}`, (counts.get(`${a} -> ${b}`) ?? 0) + 1);
  }
  return [...counts].sort(([x], [y]) => x.localeCompare(y));
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const edges = importEdges(root);
  process.stdout.write('layers, lowest first:\n');
  LAYERS.forEach((l, i) => process.stdout.write(`  ${i}  ${l.join(', ')}\n`));
  process.stdout.write('\nimports between folders:\n');
  for (const [pair, n] of groupGraph(edges)) process.stdout.write(`  ${pair} (${n})\n`);
  const violations = layerViolations(edges);
  const cycles = importCycles(edges);
  process.stdout.write(`\n${edges.length} imports; ${violations.length} against the layers; ${cycles.length} cycles\n`);
  for (const v of violations) process.stdout.write(`  ${v}\n`);
  for (const c of cycles) process.stdout.write(`  cycle: ${c.join(' -> ')}\n`);
  process.exitCode = violations.length + cycles.length > 0 ? 1 : 0;
}
