import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemo } from '../../connectors/demo/source.js';
import { loadConfig } from '../../infra/config/load.js';
import { cliPath, queryRows, runCli, tempDir, waitFor } from '../support/harness.js';
import { STORES, type StoreUnderTest } from '../support/stores.js';

/**
 * A smaller demo than the default (2 teams, 3 months): what these tests check (stored once, nothing lost
 * to a kill, served while running) does not depend on its size, and the default's is run by the quick
 * start and the CLI tests.
 */
const CONFIG = path.join(tempDir('ptel-embedded-config-'), 'ptel.yaml');
writeFileSync(CONFIG, 'demo:\n  teams: 2\n  months: 3\n');

/** The environment of a `ptel` process in embedded mode on `dataDir`; `store` names its store (default the engine). */
const env = (dataDir: string, store: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...process.env,
  PTEL_CONFIG: CONFIG,
  PTEL_DATA_DIR: dataDir,
  PTEL_KAFKA_BROKERS: '127.0.0.1:1', // nothing listens there: embedded mode must not need it
  PTEL_LOG_LEVEL: 'warn',
  ...store,
});

/** `ptel run` serving on a free port in a child process, with its output collected. */
function serve(dataDir: string, store: Record<string, string> = {}) {
  const child = spawn(process.execPath, [cliPath, 'run'], {
    env: { ...env(dataDir, store), PTEL_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: tempDir(),
  });
  const output = { out: '', err: '' };
  child.stdout.on('data', (d: Buffer) => (output.out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output.err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output, exited };
}

/**
 * Embedded mode: the whole path in one process, with no Kafka or Redis, on its default store (the
 * ClickHouse engine in the process) and on a ClickHouse server (`clickhouse.engine: server`), which
 * takes the engine's place alone: the bus, the data folder and its lock stay the process's.
 */
describe.each(STORES)('embedded mode, storing into $title', (target: StoreUnderTest) => {
  const databases: string[] = [];
  afterAll(async () => {
    for (const d of databases) await target.drop(d);
  });

  /** A data folder and a database of its own; on the server its schema applied by `ptel migrate`, as a deployment does. */
  const setUp = async (prefix: string): Promise<{ dataDir: string; database: string; storeEnv: Record<string, string> }> => {
    const dataDir = tempDir(prefix);
    const database = target.database('embedded');
    databases.push(database);
    const storeEnv = target.env(database);
    if (target.kind === 'server') {
      const migrated = await runCli(['migrate'], { env: env(dataDir, storeEnv), cwd: tempDir() });
      expect(migrated.status, migrated.stderr).toBe(0);
    }
    return { dataDir, database, storeEnv };
  };
  const run = (dataDir: string, storeEnv: Record<string, string>) =>
    spawnSync(process.execPath, [cliPath, 'run', '--once'], { env: env(dataDir, storeEnv), encoding: 'utf8', cwd: tempDir() });

  /** How many entity versions the demo at the store's anchor has. */
  async function demoEvents(dataDir: string, database: string, storeEnv: Record<string, string>): Promise<number> {
    const store = await target.open(database, dataDir);
    try {
      return (await loadDemo(store, loadConfig({ file: CONFIG, env: { PTEL_DATA_DIR: dataDir, ...storeEnv }, cwd: tempDir() }))).records
        .length;
    } finally {
      await store.close();
    }
  }

  async function stored(dataDir: string, database: string): Promise<{ rows: number; ids: number; dead: number }> {
    const store = await target.open(database, dataDir);
    try {
      const [r] = await queryRows<{ rows: string; ids: string }>(
        store,
        'SELECT count() AS rows, uniqExact(id) AS ids FROM raw_events FINAL',
      );
      const [d] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM dead_letters FINAL');
      return { rows: Number(r!.rows), ids: Number(r!.ids), dead: Number(d!.n) };
    } finally {
      await store.close();
    }
  }

  it('runs the main job on the demo organisation and stores each entity version once, also when run again', async () => {
    const { dataDir, database, storeEnv } = await setUp('ptel-embedded-');
    const first = run(dataDir, storeEnv);
    expect(first.status, first.stderr).toBe(0);
    const expected = await demoEvents(dataDir, database, storeEnv);
    expect(first.stdout).toContain(`Ingested: ${expected.toLocaleString('en-US')} events from 4 sources (0 dead letters)`);
    expect(await stored(dataDir, database)).toEqual({ rows: expected, ids: expected, dead: 0 });
    // The events per source and type are ptel status's.
    const status = spawnSync(process.execPath, [cliPath, 'status'], { env: env(dataDir, storeEnv), encoding: 'utf8', cwd: tempDir() });
    expect(status.status, status.stderr).toBe(0);
    for (const type of ['github.pull_request', 'jira.issue', 'pagerduty.incident']) expect(status.stdout).toContain(type);
    expect(status.stdout).toContain('dead letters: none');

    // As a terminal shows it (stdout and stderr in one stream), with every log line: the summary comes after the last.
    const second = spawnSync('sh', ['-c', `"${process.execPath}" "${cliPath}" run --once 2>&1`], {
      env: { ...env(dataDir, storeEnv), PTEL_LOG_LEVEL: 'debug' },
      encoding: 'utf8',
      cwd: tempDir(),
    });
    expect(second.status, second.stdout).toBe(0);
    const lines = second.stdout.trimEnd().split('\n');
    const logs = lines.flatMap((l, i) => (l.startsWith('{"level"') ? [i] : []));
    const summary = lines.findIndex((l) => l.startsWith('Ingested: '));
    expect(logs.length).toBeGreaterThan(0);
    expect(summary, second.stdout).toBeGreaterThan(Math.max(...logs));
    expect(lines.at(-1)).toMatch(/^Next: ptel /);
    expect(await stored(dataDir, database)).toEqual({ rows: expected, ids: expected, dead: 0 });
  });

  // On the engine the kill takes the store down with the process; on the server only the bus and the normalizer.
  it('loses nothing when killed with SIGKILL in the middle of a run', async () => {
    const { dataDir, database, storeEnv } = await setUp('ptel-embedded-kill-');
    const child = spawn(process.execPath, [cliPath, 'run', '--once'], {
      env: env(dataDir, storeEnv),
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: tempDir(),
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, s) => resolve(s)));
    // Killed once the normalizer has committed a first batch, so some events are stored and others are not.
    const offsets = path.join(dataDir, 'bus', '_offsets', 'ptel-normalizer.json');
    await waitFor(
      'a first committed batch',
      () => {
        try {
          return Object.values(JSON.parse(readFileSync(offsets, 'utf8')) as Record<string, number>).reduce((a, n) => a + n, 0);
        } catch {
          return 0;
        }
      },
      (n) => n > 0,
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(out).not.toContain('Ingested: ');

    const again = run(dataDir, storeEnv);
    expect(again.status, again.stderr).toBe(0);
    const expected = await demoEvents(dataDir, database, storeEnv);
    expect(await stored(dataDir, database)).toEqual({ rows: expected, ids: expected, dead: 0 });
  });

  it('serves health, readiness and metrics while it runs, and shuts down cleanly on SIGTERM', async () => {
    const { dataDir, storeEnv } = await setUp('ptel-embedded-serve-');
    const { child, output, exited } = serve(dataDir, storeEnv);
    try {
      const printed = await waitFor(
        'the server address',
        () => /serving on (http:\/\/\S+)/.exec(output.out),
        (m) => m !== null,
        { timeoutMs: 60_000 },
      );
      const base = printed![1]!;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready', checks: { store: 'ok', bus: 'ok' } });
      // The demo keeps flowing in the background; its events show up in the counters.
      const metrics = await waitFor(
        'normalized events in /metrics',
        async () => (await fetch(`${base}/metrics`)).text(),
        (t) => /ptel_events_total\{source="github",type="github.pull_request",outcome="ok"\} [1-9]/.test(t),
        { timeoutMs: 60_000, intervalMs: 250 },
      );
      expect(metrics).toContain('ptel_store_rows_written_total{table="raw_events"}');
      expect(metrics).toContain('ptel_consumer_lag{group="ptel-normalizer",topic="raw.github",partition="0"}');
      expect((await fetch(`${base}/nope`)).status).toBe(404);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output.err).toBe(0);
  });
});

/** Embedded mode on its default store, the engine: what concerns the engine alone, and the configuration file. */
describe('embedded mode', () => {
  // The running ptel serves its in-process engine to the read commands (the store bridge). With a server
  // store there is no engine to serve: this scenario is the engine's.
  it('lets the read commands work on the store while it runs, and refuses the rest in one line', async () => {
    const dataDir = tempDir('ptel-embedded-read-');
    const { child, output, exited } = serve(dataDir);
    const cli = (...args: string[]) => runCli(args, { env: env(dataDir), cwd: tempDir(), timeoutMs: 120_000 });
    try {
      const served = await waitFor(
        'the store address',
        () => /the store on (http:\/\/\S+)/.exec(output.out),
        (m) => m !== null,
        {
          timeoutMs: 60_000,
        },
      );
      expect(served![1]).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(existsSync(path.join(dataDir, 'store.json'))).toBe(true);
      // The demo is normalized meanwhile: status reads the running store.
      const status = await waitFor(
        'pull requests in ptel status',
        () => cli('status'),
        (r) => r.status === 0 && /github\s+github\.pull_request\s+[1-9]/.test(r.stdout),
        { timeoutMs: 120_000, intervalMs: 1_000 },
      );
      expect(status.stdout).toContain(`inside the running ptel (process ${child.pid})`);
      // The metrics job runs at start; its values are read while the job keeps running.
      const shown = await waitFor(
        'org metrics in ptel metrics show',
        () => cli('metrics', 'show', '--metric', 'deployment_frequency', '--format', 'json'),
        (r) => r.status === 0 && /"metric": ?"deployment_frequency"/.test(r.stdout),
        { timeoutMs: 150_000, intervalMs: 2_000 },
      );
      expect(shown.stderr).toBe('');
      const alerts = await cli('alerts', 'list', '--format', 'json');
      expect(alerts.status, alerts.stderr).toBe(0);
      // The registers read the running store too: one JSON document with the demo's cross-team dependencies.
      const deps = await cli('list', 'dependencies', '--format', 'json');
      expect(deps.status, deps.stderr).toBe(0);
      const doc = JSON.parse(deps.stdout) as { register: string; rows: Array<{ cross_team: boolean }> };
      expect(doc.register).toBe('dependencies');
      expect(doc.rows.some((r) => r.cross_team)).toBe(true);
      const dead = await cli('dead-letters');
      expect(dead.status, dead.stderr).toBe(0);
      // A command that needs the bus or the whole data folder is refused in one line, with no stack trace.
      for (const args of [['run', '--once'], ['replay']]) {
        const refused = await cli(...args);
        expect(refused.status, args.join(' ')).toBe(1);
        expect(refused.stderr).toContain(`is in use by process ${child.pid}`);
        expect(refused.stderr).not.toMatch(/^\s+at /m);
      }
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited, output.err).toBe(0);
    // Stopped: the store is no longer advertised, and commands open the data folder themselves again.
    expect(existsSync(path.join(dataDir, 'store.json'))).toBe(false);
    const after = await cli('status');
    expect(after.status, after.stderr).toBe(0);
    expect(after.stdout).not.toContain('inside the running ptel');
  }, 400_000);

  it('answers a broken configuration file with the key and the fix, and exit code 78', () => {
    const dir = tempDir();
    const file = path.join(dir, 'ptel.yaml');
    writeFileSync(file, 'mode: embedded\nnormalizer:\n  flushRows: many\n');
    const r = spawnSync(process.execPath, [cliPath, 'run', '--once', '--config', file], { encoding: 'utf8', env: process.env });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain(`${file}: key 'normalizer.flushRows'`);
    expect(r.stderr).toContain('expected number');
    expect(r.stderr).not.toContain('    at '); // a message, not a stack trace
  });
});
