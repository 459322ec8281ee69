/**
 * The image as the Dockerfile builds it, without a Docker engine: the Dockerfile is parsed, the build
 * context is the repository's `git ls-files` minus what .dockerignore excludes, each stage's file system
 * is a folder laid out as the image's (WORKDIR /app is <stage>/app), COPY copies exactly what it names
 * (from the context, or from an earlier stage with --from), and the build stage's npm and node RUN
 * commands run there. apt-get/apk lines (system packages) cannot run without the engine and are skipped;
 * any other RUN line fails the test, so that it is not silently left out. The runtime stage is then
 * checked: its entrypoint starts and lists the commands, it applies the migrations it ships to an
 * in-process ClickHouse, and no test, bench or development-only code is in it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/commands.js';
import { DEFAULT_HTTP_PORTS } from '../../infra/config/schema.js';
import { tempDir } from '../support/harness.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface Instruction {
  /** 1-based line of the Dockerfile where the instruction starts. */
  line: number;
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

/** The Dockerfile's stages and their instructions (continuation lines joined, comments and directives dropped). */
export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let current = lines[i]!.trim();
    if (current === '' || current.startsWith('#')) continue;
    while (current.endsWith('\\') && i + 1 < lines.length) {
      i++;
      const next = lines[i]!.trim();
      current = current.slice(0, -1).trimEnd() + (next.startsWith('#') ? '' : ` ${next}`);
    }
    const m = /^(\w+)\s+(.*)$/s.exec(current);
    if (m === null) throw new Error(`Dockerfile line ${start}: cannot read instruction '${current}'`);
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (from === null) throw new Error(`Dockerfile line ${start}: cannot read FROM '${args}'`);
      stages.push({ name: from[2] ?? String(stages.length), base: from[1]!, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`Dockerfile line ${start}: ${keyword} before any FROM`);
    stage.instructions.push({ line: start, keyword, args });
  }
  return stages;
}

/** An exec-form (JSON array) or shell-form argument list. */
function words(args: string): string[] {
  if (args.startsWith('[')) return JSON.parse(args) as string[];
  return args.split(/\s+/).filter(Boolean);
}

/** COPY/ADD arguments: flags (--from=build), sources, destination. */
function copyArgs(ins: Instruction): { flags: Record<string, string>; sources: string[]; dest: string } {
  const parts = words(ins.args);
  const flags: Record<string, string> = {};
  while (parts[0]?.startsWith('--') === true) {
    const [k, v = ''] = parts.shift()!.slice(2).split('=');
    flags[k!] = v;
  }
  const dest = parts.pop();
  if (dest === undefined || parts.length === 0)
    throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} needs a source and a destination`);
  return { flags, sources: parts, dest };
}

/** A .dockerignore / COPY pattern as a regular expression on slash-separated paths relative to the context. */
function patternRegex(pattern: string): RegExp {
  let re = '';
  const p = path.posix.normalize(pattern.replace(/^\/+/, '')).replace(/\/$/, '');
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '*' && p[i + 1] === '*') {
      re += '.*';
      i++;
      if (p[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Whether `file` is left out of the build context: the last .dockerignore pattern matching it or a folder above it decides. */
export function ignoredBy(patterns: string[], file: string): boolean {
  let ignored = false;
  const prefixes = file.split('/').map((_, i, all) => all.slice(0, i + 1).join('/'));
  for (const raw of patterns) {
    const negate = raw.startsWith('!');
    const re = patternRegex(negate ? raw.slice(1) : raw);
    if (prefixes.some((p) => re.test(p))) ignored = !negate;
  }
  return ignored;
}

function readIgnore(): string[] {
  const file = path.join(root, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The build context: tracked files that exist, less those .dockerignore excludes. */
function contextFiles(): string[] {
  const patterns = readIgnore();
  return execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(path.join(root, f)) && statSync(path.join(root, f)).isFile())
    .filter((f) => !ignoredBy(patterns, f));
}

function listFiles(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

interface Built {
  stages: Stage[];
  /** Each stage's file system root. */
  fs: Map<string, string>;
  workdir: Map<string, string>;
  env: Map<string, Record<string, string>>;
  skipped: string[];
  ran: string[];
}

/** The package managers' commands a RUN line may hold that run here; apt-get/apk lines are skipped. */
const RUNNABLE = /^(npm|node|npx)\s/;
const SYSTEM_PACKAGES = /^(apt-get|apt|apk)\s/;

function build(work: string): Built {
  const stages = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
  const context = contextFiles();
  const built: Built = { stages, fs: new Map(), workdir: new Map(), env: new Map(), skipped: [], ran: [] };
  for (const stage of stages) {
    const fsRoot = path.join(work, stage.name);
    mkdirSync(fsRoot, { recursive: true });
    built.fs.set(stage.name, fsRoot);
    let workdir = '/';
    const env: Record<string, string> = {};
    const inImage = (p: string): string => path.join(fsRoot, path.posix.resolve(workdir, p));
    for (const ins of stage.instructions) {
      const where = `Dockerfile line ${ins.line} (${ins.keyword} ${ins.args})`;
      switch (ins.keyword) {
        case 'WORKDIR':
          workdir = path.posix.resolve(workdir, ins.args);
          mkdirSync(inImage('.'), { recursive: true });
          break;
        case 'ENV': {
          const m = /^(\w+)[= ](.*)$/.exec(ins.args);
          if (m === null) throw new Error(`${where}: cannot read ENV`);
          env[m[1]!] = m[2]!;
          break;
        }
        case 'COPY':
        case 'ADD': {
          const { flags, sources, dest } = copyArgs(ins);
          const intoDir = dest.endsWith('/') || sources.length > 1;
          for (const source of sources) {
            if (flags['from'] !== undefined) {
              const from = built.fs.get(flags['from']);
              if (from === undefined) throw new Error(`${where}: no earlier stage named '${flags['from']}'`);
              const src = path.join(from, path.posix.resolve(built.workdir.get(flags['from']) ?? '/', source));
              if (!existsSync(src)) throw new Error(`${where}: ${source} does not exist in stage '${flags['from']}'`);
              const target = intoDir && statSync(src).isFile() ? path.join(inImage(dest), path.basename(src)) : inImage(dest);
              cpSync(src, target, { recursive: true });
              continue;
            }
            // `.` is the whole context; any other source names files or folders (wildcards allowed).
            const re = path.posix.normalize(source) === '.' ? /^$/ : patternRegex(source);
            const isFile = context.filter((f) => re.test(f));
            const inDir = context.filter(
              (f) => !re.test(f) && [...f.split('/').keys()].some((i) => re.test(f.split('/').slice(0, i).join('/'))),
            );
            if (isFile.length === 0 && inDir.length === 0) {
              throw new Error(`${where}: '${source}' is not in the build context (not tracked by git, or excluded by .dockerignore)`);
            }
            for (const f of isFile) {
              const target = intoDir || isFile.length > 1 ? path.join(inImage(dest), path.basename(f)) : inImage(dest);
              mkdirSync(path.dirname(target), { recursive: true });
              cpSync(path.join(root, f), target);
            }
            for (const f of inDir) {
              // A folder's contents go into the destination, as docker copies them.
              const base = f.split('/').findIndex((_, i, all) => re.test(all.slice(0, i + 1).join('/')));
              const target = path.join(inImage(dest), ...f.split('/').slice(base + 1));
              mkdirSync(path.dirname(target), { recursive: true });
              cpSync(path.join(root, f), target);
            }
          }
          break;
        }
        case 'RUN': {
          for (const command of ins.args.split('&&').map((c) => c.trim())) {
            if (SYSTEM_PACKAGES.test(command)) {
              built.skipped.push(command);
              continue;
            }
            if (!RUNNABLE.test(command))
              throw new Error(`${where}: '${command}' is neither an npm/node command nor a system package install`);
            const r = spawnSync(command, {
              shell: true,
              cwd: inImage('.'),
              encoding: 'utf8',
              // From the local npm cache; the registry only for what the cache lacks.
              env: { ...process.env, ...env, npm_config_prefer_offline: 'true', npm_config_update_notifier: 'false' },
            });
            if (r.status !== 0) throw new Error(`${where}: '${command}' exited ${String(r.status)}\n${r.stdout}\n${r.stderr}`);
            built.ran.push(command);
          }
          break;
        }
        default:
          break;
      }
    }
    built.workdir.set(stage.name, workdir);
    built.env.set(stage.name, env);
  }
  return built;
}

const instruction = (stage: Stage, keyword: string): Instruction | undefined => stage.instructions.findLast((i) => i.keyword === keyword);

describe('Dockerfile', () => {
  let work: string;
  let built: Built;
  let runtime: Stage;
  let app: string;
  let entry: string[];
  const runImage = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(entry[0]!, [...entry.slice(1), ...args], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH: process.env['PATH'] ?? '', HOME: work, ...built.env.get(runtime.name), ...env },
      timeout: 60_000,
    });

  beforeAll(() => {
    work = tempDir('ptel-image-');
    built = build(work);
    runtime = built.stages.at(-1)!;
    app = path.join(built.fs.get(runtime.name)!, built.workdir.get(runtime.name)!);
    entry = words(instruction(runtime, 'ENTRYPOINT')?.args ?? instruction(runtime, 'CMD')?.args ?? '[]');
  }, 300_000);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('builds in stages from the context: dependencies installed, the code compiled, the dev dependencies dropped', () => {
    expect(built.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(built.ran.some((c) => c.startsWith('npm ci'))).toBe(true);
    expect(built.ran).toContain('npm run build');
    expect(built.ran.some((c) => c.startsWith('npm prune') && c.includes('--omit=dev'))).toBe(true);
  });

  it('leaves what the image must not hold out of the build context', () => {
    const patterns = readIgnore();
    for (const f of [
      'node_modules/x/index.js',
      'dist/cli/main.js',
      '.git/HEAD',
      'ptel.yaml',
      'ptel.env',
      'dist-bench/bench/main.js',
      'test/unit/a.test.ts',
      'bench/main.ts',
      'cli/help.test.ts',
    ])
      expect(ignoredBy(patterns, f), `${f} is in the build context`).toBe(true);
    for (const f of ['package.json', 'cli/main.ts', 'schemas/migrations/0001_init.sql'])
      expect(ignoredBy(patterns, f), `${f} is left out of the build context`).toBe(false);
  });

  it('starts from its entrypoint, which lists every command', () => {
    expect(entry[0]).toBe('node');
    expect(existsSync(path.join(app, entry[1]!))).toBe(true);
    const r = runImage(['--help']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('ships the migrations, and its `migrate` applies every one of them to an in-process ClickHouse', () => {
    const shipped = readdirSync(path.join(app, 'schemas/migrations')).sort();
    const source = readdirSync(path.join(root, 'schemas/migrations')).sort();
    expect(shipped).toEqual(source);
    const dataDir = path.join(work, 'data');
    const r = runImage(['migrate'], {
      PTEL_MODE: 'embedded',
      PTEL_CLICKHOUSE_ENGINE: 'embedded',
      PTEL_DATA_DIR: dataDir,
      PTEL_LOG_LEVEL: 'error',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const last = source.filter((f) => f.endsWith('.sql')).at(-1)!;
    expect(r.stdout).toContain(last.replace(/\.sql$/, ''));
  });

  it('holds no test, bench or development-only code at run time', () => {
    const files = listFiles(app).filter((f) => !f.startsWith('node_modules/'));
    expect(
      files.filter((f) => /(^|\/)(test|bench|dist-bench)\//.test(f) || /\.test\.(ts|js)(\.map)?$/.test(f) || f.endsWith('.ts')),
    ).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(Object.keys(pkg.devDependencies).filter((name) => existsSync(path.join(app, 'node_modules', name)))).toEqual([]);
  });

  it('exposes the HTTP port of each role', () => {
    const exposed = (instruction(runtime, 'EXPOSE')?.args ?? '').split(/\s+/).map(Number);
    expect(exposed.sort()).toEqual(Object.values(DEFAULT_HTTP_PORTS).sort());
  });
});
