import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import { openStore, type Store } from '../../infra/store/client.js';
import { SOURCES, rawTopic } from '../../schemas/raw-event.js';
import { cliPath, queryRows, quietLogger, repoRoot, runCli, tempDir, uniqueName, waitFor, type CliResult } from '../support/harness.js';

/** Where README.md marks the block this test runs. */
const MARKER = '<!-- distributed-quick-start:';

type Step = { kind: 'env'; name: string; value: string } | { kind: 'ptel'; line: string; args: string[]; background: boolean };

/** The steps of the README's distributed quick start: the first `sh` block after the marker, line by line. */
function quickStart(readme: string): Step[] {
  const at = readme.indexOf(MARKER);
  if (at < 0) throw new Error(`README.md has no '${MARKER}' marker before the distributed quick start`);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(at));
  if (block === null) throw new Error('README.md has no ```sh block after the distributed quick start marker');
  return block[1]!
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((line): Step => {
      const env = /^export ([A-Z_][A-Z0-9_]*)=(\S+)$/.exec(line);
      if (env !== null) return { kind: 'env', name: env[1]!, value: env[2]! };
      const ptel = /^ptel((?: [^\s&]+)*)( &)?$/.exec(line);
      if (ptel !== null) return { kind: 'ptel', line, args: ptel[1]!.trim().split(' ').filter(Boolean), background: ptel[2] !== undefined };
      throw new Error(`README.md's distributed quick start: a line this test cannot run: '${line}'`);
    });
}

/** A long-running `ptel` process of the quick start, with what it wrote. */
interface Service {
  line: string;
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  url?: string;
}

function startService(step: Extract<Step, { kind: 'ptel' }>, env: NodeJS.ProcessEnv, cwd: string): Service {
  const child = spawn(process.execPath, [cliPath, ...step.args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { line: step.line, child, out: () => out, err: () => err, exited };
}

const tail = (text: string): string => text.split('\n').slice(-15).join('\n');
const said = (r: CliResult): string => `stdout:\n${tail(r.stdout)}\nstderr:\n${tail(r.stderr)}`;

describe("the README's distributed quick start, run as written against the local Kafka, Redis and ClickHouse server", () => {
  const services: Service[] = [];
  let store: Store | undefined;
  const database = uniqueName('readme');
  afterAll(async () => {
    for (const s of services) if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGKILL');
    if (store !== undefined) {
      await store.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` }).catch(() => undefined);
      await store.close();
    }
  });

  it('migrates, serves, normalizes and schedules; puts the demo in once however often it runs; every process is ready and stops on SIGTERM', async () => {
    const started = performance.now();
    const steps = quickStart(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
    const exported = Object.fromEntries(steps.flatMap((s) => (s.kind === 'env' ? [[s.name, s.value]] : [])));
    expect(exported).toMatchObject({ PTEL_MODE: 'distributed' });
    for (const name of ['PTEL_KAFKA_BROKERS', 'PTEL_REDIS_URL', 'PTEL_CLICKHOUSE_URL']) expect(Object.keys(exported)).toContain(name);
    const commands = steps.flatMap((s) => (s.kind === 'ptel' ? [s.line] : []));
    expect(commands).toEqual(['ptel migrate', 'ptel normalize &', 'ptel serve &', 'ptel connect &', 'ptel demo', 'ptel status']);

    // The README's variables, then what keeps this run apart on the shared servers: the servers the suite
    // runs, names of its own, free ports, and a small demo (the configuration's demo settings).
    const dir = tempDir('ptel-readme-');
    const config = path.join(dir, 'ptel.yaml');
    writeFileSync(config, stringify({ demo: { months: 1, teams: 1 } }));
    const prefix = `${uniqueName('readme')}.`;
    const group = uniqueName('readme_normalizer');
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PTEL_')));
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      ...exported,
      PTEL_KAFKA_BROKERS: inject('kafkaBrokers'),
      PTEL_REDIS_URL: inject('redisUrl'),
      PTEL_CLICKHOUSE_URL: inject('clickhouseUrl'),
      PTEL_CLICKHOUSE_DATABASE: database,
      PTEL_KAFKA_TOPIC_PREFIX: prefix,
      PTEL_NORMALIZER_GROUP: group,
      PTEL_REDIS_QUEUE: uniqueName('readme_jobs'),
      PTEL_HTTP_HOST: '127.0.0.1',
      PTEL_HTTP_PORT: '0',
      PTEL_DATA_DIR: path.join(dir, 'data'),
      PTEL_CONFIG: config,
    };
    store = await openStore({ kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database });
    const s = store;
    const count = async (query: string): Promise<number> => Number((await queryRows<{ n: string }>(s, query))[0]!.n);
    const topics = SOURCES.map((source) => rawTopic(source, prefix));
    const bus = createKafkaBus({ brokers: inject('kafkaBrokers').split(','), clientId: 'readme-test', logger: quietLogger() });
    const drained = () =>
      waitFor(
        'the normalizers to commit every raw topic',
        async () =>
          (await Promise.all(topics.map((t) => bus.lag(group, t).catch(() => []))))
            .flat()
            .reduce((n, p) => n + Math.max(0, p.end - p.committed), 0),
        (behind) => behind === 0,
        { timeoutMs: 60_000, intervalMs: 250 },
      );

    let published = 0;
    try {
      for (const step of steps) {
        if (step.kind === 'env') continue;
        if (step.background) {
          const service = startService(step, env, dir);
          services.push(service);
          const printed = await waitFor(
            `'${step.line}' to say where it serves`,
            () => /serving on (http:\/\/\S+)/.exec(service.out()) ?? (service.child.exitCode !== null ? 'exited' : null),
            (m) => m !== null,
            { timeoutMs: 60_000 },
          );
          if (printed === 'exited') throw new Error(`'${step.line}' exited: ${tail(service.err())}`);
          service.url = printed![1]!;
          continue;
        }
        const r = await runCli(step.args, { env, cwd: dir, timeoutMs: 90_000 });
        expect(r.status, `${step.line}\n${said(r)}`).toBe(0);
        if (step.args[0] === 'migrate') expect(r.stdout).toContain(`to '${database}'`);
        if (step.args[0] === 'demo') {
          const m = /^published (\d+) events: (.+)$/m.exec(r.stdout);
          expect(m, said(r)).not.toBeNull();
          published = Number(m![1]);
          expect(published).toBeGreaterThan(100);
          expect(r.stdout).toContain(`on the bus for the normalizers (consumer group '${group}'`);
          // Stored by `ptel normalize`: each event once, after FINAL.
          await waitFor(
            'the demo events to be stored',
            () => count('SELECT count() AS n FROM raw_events FINAL'),
            (n) => n >= published,
            {
              timeoutMs: 90_000,
              intervalMs: 250,
            },
          );
          await drained();
        }
        if (step.args[0] === 'status') {
          for (const type of ['github.pull_request', 'jira.issue', 'pagerduty.incident', 'ingest.cost_row'])
            expect(r.stdout).toContain(type);
          expect(r.stdout).toContain('dead letters: none');
          for (const source of ['github', 'jira', 'pagerduty', 'ingest']) expect(r.stdout).toContain(`${prefix}raw.${source}: 0 behind`);
        }
      }
      expect(await count('SELECT count() AS n FROM raw_events FINAL')).toBe(published);
      expect(await count("SELECT count() AS n FROM raw_events FINAL WHERE connector = 'demo'")).toBe(published);
      expect(await count('SELECT count() AS n FROM dead_letters FINAL')).toBe(0);
      // The anchor is the store's: no process kept one on its local disk.
      expect(await count('SELECT count() AS n FROM demo_anchors')).toBe(1);
      expect(existsSync(path.join(dir, 'data', 'demo-anchor.json'))).toBe(false);

      // Again: the anchor in the store gives the same event ids, so nothing new is stored.
      const again = await runCli(['demo'], { env, cwd: dir, timeoutMs: 90_000 });
      expect(again.status, said(again)).toBe(0);
      expect(again.stdout).toContain(`published ${published} events`);
      await drained();
      expect(await count('SELECT count() AS n FROM raw_events FINAL')).toBe(published);
      expect(await count('SELECT uniqExact(id) AS n FROM raw_events')).toBe(published);
      expect(await count('SELECT count() AS n FROM demo_anchors')).toBe(1);

      // Each process is ready: its store, its bus, and for the normalizer its group, for connect Redis.
      for (const service of services) {
        await waitFor(
          `${service.line}: /readyz 200`,
          async () => (await fetch(`${service.url!}/readyz`)).status,
          (st) => st === 200,
          {
            timeoutMs: 30_000,
          },
        );
      }

      // SIGTERM: each stops in its shutdown order and exits 0. A scheduled job running then (connect's
      // first metrics run, on a busy machine tens of seconds) finishes first: the bound allows for it.
      const deadline = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 120_000).unref());
      for (const service of services) service.child.kill('SIGTERM');
      const exits = await Promise.all(services.map((service) => Promise.race([service.exited, deadline])));
      services.forEach((service, i) => {
        expect(exits[i], `${service.line} after SIGTERM:\n${tail(service.err())}`).toEqual({ code: 0, signal: null });
        expect(service.err()).toContain('"msg":"shutting down"');
      });
    } finally {
      await bus.close();
    }
    expect(performance.now() - started).toBeLessThan(180_000);
  }, 180_000);
});
