import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { githubWebhook } from '../../connectors/github/index.js';
import { loadConfig } from '../../infra/config/load.js';
import { openStore, type Store } from '../../infra/store/client.js';
import { deterministicEventId } from '../../schemas/raw-event.js';
import { cliPath, queryRows, repoRoot, runCli, tempDir, uniqueName } from './harness.js';

const run = promisify(execFile);

/** The servers of the distributed suite, as its global setup provides them. */
export interface DistributedServers {
  kafkaBrokers: string;
  redisUrl: string;
  clickhouseUrl: string;
  /** PTEL_SERVICES_HOME and the ports services.sh acts on. */
  servicesEnv: Record<string, string>;
}

/** `services.sh ACTION SERVICE` on the suite's own servers (never the shared ones). */
export async function services(servers: DistributedServers, action: 'up' | 'stop' | 'down' | 'kill9', name: string): Promise<void> {
  await run('bash', [path.join(repoRoot, 'infra/scripts/services.sh'), action, name], {
    env: { ...process.env, ...servers.servicesEnv },
  });
}

export type Role = 'normalize' | 'serve' | 'connect';

/** What /readyz answered. */
export interface Readiness {
  /** HTTP status; 0 when the process did not answer. */
  status: number;
  checks: Record<string, string>;
}

/** One `ptel <role>` child process of the cluster. */
export interface RoleProcess {
  name: string;
  role: Role;
  child: ChildProcess;
  /** Its HTTP endpoints, from its `http server listening` line. */
  url: string;
  /** Its JSON log lines so far (stderr). */
  logs: Array<Record<string, unknown>>;
  /** How it ended, once it has. */
  exit?: { code: number | null; signal: NodeJS.Signals | null; at: number; expected: boolean };
}

export interface ReadinessSample {
  at: number;
  name: string;
  readiness: Readiness;
}

export async function readyz(url: string): Promise<Readiness> {
  try {
    const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
    const body = (await res.json()) as { checks?: Record<string, string> };
    return { status: res.status, checks: body.checks ?? {} };
  } catch (err) {
    return { status: 0, checks: { http: err instanceof Error ? err.message : String(err) } };
  }
}

/**
 * The processes of distributed mode, each a child process of the built CLI with the same configuration
 * file and a database, topic prefix, consumer group and queue of their own: they are started, watched
 * (every exit is recorded; one the test did not ask for is a failure), their /readyz polled, and they
 * are stopped with SIGTERM at the end.
 */
export class Cluster {
  readonly database = uniqueName('dist');
  readonly topicPrefix = `${uniqueName('dist')}.`;
  readonly queue = uniqueName('dist');
  readonly groupId = uniqueName('dist-normalizer');
  readonly processes = new Map<string, RoleProcess>();
  readonly ended: RoleProcess[] = [];
  readonly samples: ReadinessSample[] = [];
  readonly env: Record<string, string>;
  readonly configFile: string;
  /** Where the processes' logs are written when the cluster stops (one JSON-lines file each), and the timeline. */
  readonly dir: string;
  private readonly timeline: Array<{ at: number; what: string }> = [];
  private polling: ReturnType<typeof setInterval> | undefined;
  private store: Store | undefined;

  constructor(
    readonly servers: DistributedServers,
    options: { config: Record<string, unknown>; env: Record<string, string> },
  ) {
    const dir = tempDir('ptel-distributed-');
    this.dir = dir;
    this.configFile = path.join(dir, 'ptel.yaml');
    writeFileSync(this.configFile, stringify({ ...options.config, dataDir: path.join(dir, 'data') }));
    this.env = {
      ...options.env,
      PTEL_MODE: 'distributed',
      PTEL_CLICKHOUSE_ENGINE: 'server',
      PTEL_CLICKHOUSE_URL: servers.clickhouseUrl,
      PTEL_CLICKHOUSE_DATABASE: this.database,
      PTEL_KAFKA_BROKERS: servers.kafkaBrokers,
      PTEL_KAFKA_TOPIC_PREFIX: this.topicPrefix,
      PTEL_NORMALIZER_GROUP: this.groupId,
      PTEL_REDIS_URL: servers.redisUrl,
      PTEL_REDIS_QUEUE: this.queue,
      PTEL_LOG_LEVEL: 'info',
      PTEL_HTTP_PORT: '0',
    };
  }

  /** Notes a step of the test in the timeline written beside the logs. */
  mark(what: string): void {
    this.timeline.push({ at: Date.now(), what });
  }

  /** `ptel migrate`: the database and its tables, before any role starts. */
  async migrate(): Promise<void> {
    const r = await runCli(['migrate', '--config', this.configFile], { env: { ...process.env, ...this.env }, timeoutMs: 60_000 });
    if (r.status !== 0) throw new Error(`ptel migrate exited ${r.status}: ${r.stderr}${r.stdout}`);
  }

  /** Starts `ptel <role>` as `name`; resolves once it serves HTTP. */
  async start(name: string, role: Role): Promise<RoleProcess> {
    const child = spawn(process.execPath, [cliPath, role, '--config', this.configFile], {
      env: { ...process.env, ...this.env },
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const proc: RoleProcess = { name, role, child, url: '', logs: [] };
    this.processes.set(name, proc);
    let partial = '';
    let text = '';
    const listening = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} (ptel ${role}) did not log 'http server listening' within 60 s:\n${text}`)),
        60_000,
      );
      child.stderr.on('data', (d: Buffer) => {
        partial += d.toString();
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) {
          if (text.length < 20_000) text += `${line}\n`;
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(line) as Record<string, unknown>;
          } catch {
            parsed = { level: 'raw', msg: line };
          }
          proc.logs.push(parsed);
          if (parsed['msg'] === 'http server listening' && typeof parsed['url'] === 'string') {
            clearTimeout(timer);
            resolve(parsed['url']);
          }
        }
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`${name} (ptel ${role}) exited (${code ?? signal}) before it listened:\n${text}${partial}`));
      });
    });
    child.stdout.resume();
    child.once('exit', (code, signal) => {
      proc.exit = { code, signal, at: Date.now(), expected: proc.exit?.expected ?? false };
      this.processes.delete(name);
      this.ended.push(proc);
    });
    proc.url = await listening;
    return proc;
  }

  /** SIGKILLs a process (a crash the test causes: its exit is expected); resolves once it is gone. */
  async kill(name: string): Promise<RoleProcess> {
    const proc = this.processes.get(name);
    if (proc === undefined) throw new Error(`no running process ${name}`);
    proc.exit = { code: null, signal: null, at: 0, expected: true };
    const gone = new Promise<void>((resolve) => proc.child.once('exit', () => resolve()));
    proc.child.kill('SIGKILL');
    await gone;
    return proc;
  }

  /** The exits the test did not cause, with the last lines each process logged. */
  unexpectedExits(): string[] {
    return this.ended
      .filter((p) => p.exit !== undefined && !p.exit.expected)
      .map((p) => `${p.name} (ptel ${p.role}) exited ${p.exit!.code ?? p.exit!.signal}: ${JSON.stringify(p.logs.slice(-5))}`);
  }

  /** Polls every process's /readyz every `everyMs`, keeping the answers. */
  watchReadiness(everyMs = 250): void {
    let busy = false;
    this.polling = setInterval(() => {
      if (busy) return;
      busy = true;
      const polled = [...this.processes.values()].map(async (p) => {
        const readiness = await readyz(p.url);
        this.samples.push({ at: Date.now(), name: p.name, readiness });
      });
      void Promise.all(polled).finally(() => (busy = false));
    }, everyMs);
  }

  /** Every process answers /readyz 200 now. */
  async allReady(): Promise<boolean> {
    const answers = await Promise.all([...this.processes.values()].map((p) => readyz(p.url)));
    return answers.every((r) => r.status === 200);
  }

  /** The answers between `from` and `to` that were 503 with `check` failing. */
  outageSeen(check: string, from: number, to: number): ReadinessSample[] {
    return this.samples.filter(
      (s) => s.at >= from && s.at <= to && s.readiness.status === 503 && (s.readiness.checks[check] ?? 'ok') !== 'ok',
    );
  }

  /** A client on the cluster's database (opened on first use). */
  async query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
    this.store ??= await openStore({
      kind: 'server',
      url: this.servers.clickhouseUrl,
      username: 'default',
      password: undefined,
      database: this.database,
      requestTimeoutMs: 30_000,
    });
    return queryRows<T>(this.store, sql, params);
  }

  /** Stops polling, sends SIGTERM to every process and waits for each to end. */
  async stop(): Promise<void> {
    if (this.polling !== undefined) clearInterval(this.polling);
    const running = [...this.processes.values()];
    await Promise.all(
      running.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.exit = { code: null, signal: null, at: 0, expected: true };
            const timer = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
            p.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            p.child.kill('SIGTERM');
          }),
      ),
    );
    await this.store?.close();
    for (const p of this.ended) {
      writeFileSync(path.join(this.dir, `${p.name}-${p.child.pid ?? 0}.log`), p.logs.map((l) => JSON.stringify(l)).join('\n') + '\n');
    }
    const t0 = this.timeline[0]?.at ?? 0;
    writeFileSync(
      path.join(this.dir, 'timeline.txt'),
      this.timeline.map((t) => `${((t.at - t0) / 1000).toFixed(1)} ${t.what}`).join('\n') + '\n',
    );
  }
}

/**
 * An HTTP proxy in front of a fake vendor API that holds each request `delayMs` before passing it on,
 * so that a pull lasts long enough to overlap the faults.
 */
export async function slowProxy(target: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      setTimeout(() => {
        const out = httpRequest(
          { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: { ...req.headers, host: to.host } },
          (upstream) => {
            res.writeHead(upstream.statusCode ?? 502, upstream.headers);
            upstream.pipe(res);
          },
        );
        out.on('error', (err) => {
          res.writeHead(502);
          res.end(err.message);
        });
        out.end(Buffer.concat(chunks));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A real pull_request delivery published by GitHub's Octokit project: the template of the load's deliveries. */
export function pullRequestExample(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const examples = JSON.parse(readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8')) as Array<{
    name: string;
    examples: Array<Record<string, unknown>>;
  }>;
  const found = examples.find((e) => e.name === 'pull_request')?.examples.find((e) => e['action'] === 'opened');
  if (found === undefined) throw new Error('no pull_request example in @octokit/webhooks-examples');
  return found;
}

export interface WebhookLoadStats {
  /** Deliveries answered 2xx. */
  accepted: number;
  /** Answers 503 (each delivered again after Retry-After). */
  refused: number;
  /** Deliveries that got no answer (connection refused or reset), delivered again. */
  unanswered: number;
  /** Deliveries given up after the last attempt: never accepted. */
  givenUp: number;
  /** Any other answer (a failure of the test's own deliveries). */
  other: string[];
}

/**
 * Signed GitHub pull_request deliveries POSTed to `serve` by `workers` senders, each pausing
 * `pauseMs` between deliveries, until stopped. Like GitHub, a delivery answered 503 is delivered again
 * after its Retry-After, and one with no answer after a second; up to `attempts` times. `ids` holds the
 * event ids of every delivery answered 2xx, derived as the product derives them.
 */
export function webhookLoad(options: {
  url: () => string;
  secret: string;
  workers?: number;
  pauseMs?: number;
  attempts?: number;
  /** First pull request number, so that each test's deliveries are its own. */
  firstNumber: number;
}): { ids: Set<string>; stats: WebhookLoadStats; stop(): Promise<void> } {
  const template = pullRequestExample();
  const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: options.secret }, cwd: tempDir() });
  const ids = new Set<string>();
  const stats: WebhookLoadStats = { accepted: 0, refused: 0, unanswered: 0, givenUp: 0, other: [] };
  let next = options.firstNumber;
  let stopping = false;
  const wait = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

  async function deliver(n: number): Promise<void> {
    const body = structuredClone(template) as { number: number; pull_request: Record<string, unknown> };
    body.number = n;
    body.pull_request = {
      ...body.pull_request,
      number: n,
      id: 900_000_000 + n,
      title: `Load ${n}`,
      updated_at: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
    };
    const rawBody = Buffer.from(JSON.stringify(body));
    const headers = {
      'content-type': 'application/json',
      'x-github-event': 'pull_request',
      'x-github-delivery': `load-${n}`,
      'x-hub-signature-256': `sha256=${createHmac('sha256', options.secret).update(rawBody).digest('hex')}`,
    };
    const eventIds = githubWebhook
      .records({ headers, rawBody, body: JSON.parse(rawBody.toString('utf8')) as unknown, receivedAt: new Date() }, config)
      .map((r) => deterministicEventId(r.source, r.type, r.subject, r.version));
    for (let attempt = 1; attempt <= (options.attempts ?? 8); attempt++) {
      let status: number;
      let retryAfter = 1;
      try {
        const res = await fetch(`${options.url()}/webhooks/github`, {
          method: 'POST',
          headers,
          body: rawBody,
          signal: AbortSignal.timeout(30_000),
        });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after') ?? '1');
        await res.arrayBuffer();
      } catch {
        status = 0;
      }
      if (status >= 200 && status < 300) {
        stats.accepted++;
        for (const id of eventIds) ids.add(id);
        return;
      }
      if (status === 503) stats.refused++;
      else if (status === 0) stats.unanswered++;
      else {
        stats.other.push(`delivery ${n}: ${status}`);
        return;
      }
      await wait((Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : 1) * 1000);
    }
    stats.givenUp++;
  }

  const workers = Array.from({ length: options.workers ?? 4 }, async () => {
    while (!stopping) {
      await deliver(next++);
      await wait(options.pauseMs ?? 50);
    }
  });
  return {
    ids,
    stats,
    async stop() {
      stopping = true;
      await Promise.all(workers);
    },
  };
}
