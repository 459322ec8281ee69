import { fork } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startServe } from '../app/roles.js';
import { createRuntime } from '../app/runtime.js';
import { githubWebhook } from '../connectors/github/webhook.js';
import { loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import { createLogger } from '../infra/observability/logger.js';
import type { Figures } from './figures.js';
import type { Delivery, LoadRequest, LoadResult } from './intake-load.js';

export interface IntakeOptions {
  /** The configuration the benchmark was started with; its file's settings apply, in embedded mode. */
  config: Config;
  out: NodeJS.WritableStream;
  figures?: Figures;
  /** Counted requests per receiver (default 20,000), each receiver's run bounded by `maxSeconds`. */
  requests?: number;
  /** Requests in flight at once (default 50, as GitHub's deliveries to a busy receiver). */
  inFlight?: number;
  maxSeconds?: number;
}

/** The GitHub events the load mixes, as GitHub's own examples (@octokit/webhooks-examples) have them. */
const EVENTS = [
  'pull_request',
  'push',
  'workflow_run',
  'workflow_job',
  'deployment',
  'deployment_status',
  'pull_request_review',
  'issues',
  'release',
];

const SECRET = 'ptel-bench-intake-secret';

/**
 * Signed deliveries of GitHub's examples for EVENTS, each one that ptel turns into at least one
 * record (the examples that carry nothing ptel stores, such as a push to another branch, are left out).
 */
export function githubDeliveries(secret: string): Delivery[] {
  const require = createRequire(import.meta.url);
  const index = JSON.parse(readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8')) as Array<{
    name: string;
    examples: unknown[];
  }>;
  const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: secret }, cwd: os.tmpdir() });
  const out: Delivery[] = [];
  for (const name of EVENTS) {
    for (const example of index.find((e) => e.name === name)?.examples ?? []) {
      const body = Buffer.from(JSON.stringify(example));
      const headers = {
        'content-type': 'application/json',
        'x-github-event': name,
        'x-github-delivery': `bench-${name}-${out.length}`,
        'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
      };
      let records;
      try {
        records = githubWebhook.records({ headers, rawBody: body, body: example, receivedAt: new Date(0) }, config);
      } catch {
        continue;
      }
      if (records.length > 0 && records.every((r) => githubWebhook.check?.(r) === undefined)) out.push({ headers, body });
    }
  }
  return out;
}

/**
 * The least a correct receiver does: reads the body, checks its HMAC, appends it to a file and
 * answers 202 once an fdatasync covers it. Requests that arrive while a sync runs share the next
 * append and sync (group commit). The physical limit of webhook intake on this host.
 */
async function minimalReceiver(dir: string, secret: string): Promise<{ url: string; close(): Promise<void> }> {
  const fh = await open(path.join(dir, 'minimal.log'), 'a');
  let pending: Array<{ data: Buffer; done: (err?: Error) => void }> = [];
  let syncing = false;
  const flush = async (): Promise<void> => {
    syncing = true;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      try {
        await fh.write(Buffer.concat(batch.map((p) => p.data)));
        await fh.datasync();
        for (const p of batch) p.done();
      } catch (err) {
        for (const p of batch) p.done(err instanceof Error ? err : new Error(String(err)));
      }
    }
    syncing = false;
  };
  const append = (data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      pending.push({ data, done: (err) => (err === undefined ? resolve() : reject(err)) });
      if (!syncing) void flush();
    });
  const body = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  const server = createServer((req, res) => {
    void body(req).then(async (raw) => {
      const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
      const got = Buffer.from(String(req.headers['x-hub-signature-256'] ?? ''));
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        res.writeHead(401).end();
        return;
      }
      try {
        await append(Buffer.concat([raw, Buffer.from('\n')]));
        res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":1}');
      } catch {
        res.writeHead(503).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await fh.close();
    },
  };
}

/** Drives `url` with the load from a child process: what it measured, and this process's CPU time per request meanwhile. */
async function drive(request: LoadRequest): Promise<Measured> {
  const cpu = process.cpuUsage();
  const result = await load(request);
  const used = process.cpuUsage(cpu);
  return measured(result, (used.user + used.system) / 1000 / (request.warmup + result.answered));
}

function load(request: LoadRequest): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(new URL('./intake-load.js', import.meta.url), [], { serialization: 'advanced', stdio: 'inherit' });
    let result: LoadResult | undefined;
    child.on('message', (m) => (result = m as LoadResult));
    child.on('error', reject);
    child.on('exit', (code) => (result !== undefined ? resolve(result) : reject(new Error(`the load generator exited with ${code}`))));
    child.send(request);
  });
}

interface Measured {
  rate: number;
  /** CPU time of the server's process (every thread) per request, in ms. */
  cpuMs: number;
  p50: number;
  p99: number;
  max: number;
  result: LoadResult;
}

function measured(result: LoadResult, cpuMs: number): Measured {
  const sorted = Float64Array.from(result.latencies).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { rate: result.answered / result.seconds, cpuMs, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0, result };
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

/**
 * Webhook intake: the minimal receiver (the physical limit), then ptel's embedded intake as `ptel
 * serve` assembles it in embedded mode (the webhook routes, the HTTP server, the in-process bus in a
 * fresh data folder), each driven with the same signed GitHub deliveries, `inFlight` at once, from a
 * child process. Both answer 202 only after an fdatasync covers the delivery.
 */
export async function benchIntake(options: IntakeOptions): Promise<void> {
  const { out } = options;
  const deliveries = githubDeliveries(SECRET);
  const shape = (url: string): LoadRequest => ({
    url,
    path: '/webhooks/github',
    deliveries,
    requests: options.requests ?? 20_000,
    warmup: 1_000,
    inFlight: options.inFlight ?? 50,
    maxMs: (options.maxSeconds ?? 60) * 1000,
  });
  const mb = deliveries.reduce((n, d) => n + d.body.length, 0) / deliveries.length / 1024;
  out.write(
    `webhook intake: ${deliveries.length} distinct signed GitHub deliveries (${EVENTS.join(', ')}; ${mb.toFixed(1)} KB on average), ` +
      `${shape('').requests} requests after ${shape('').warmup} not counted, ${shape('').inFlight} in flight, from a child process\n`,
  );
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ptel-bench-intake-'));
  try {
    const minimal = await minimalReceiver(dir, SECRET);
    let limit: Measured;
    try {
      limit = await drive(shape(minimal.url));
    } finally {
      await minimal.close();
    }
    report(out, 'minimal receiver (HMAC, group-committed append + fdatasync)', limit);

    const config: Config = {
      ...options.config,
      mode: 'embedded',
      dataDir: path.join(dir, 'ptel'),
      clickhouse: { ...options.config.clickhouse, engine: 'embedded' },
      http: { ...options.config.http, host: '127.0.0.1', port: 0 },
      secrets: { ...options.config.secrets, githubWebhookSecret: SECRET },
    };
    const rt = await createRuntime(config, { logger: createLogger({ level: 'warn', file: path.join(dir, 'ptel.log') }) });
    let ptel: Measured;
    try {
      const role = await startServe(rt);
      try {
        ptel = await drive(shape(role.url!));
      } finally {
        await role.stop();
      }
    } finally {
      await rt.close();
    }
    report(out, 'ptel serve, embedded (webhook routes, HTTP server, in-process bus)', ptel);

    const note = `p50 ${ms(ptel.p50)}, max ${ms(ptel.max)}; server CPU ${ptel.cpuMs.toFixed(2)} ms a request against the minimal receiver's ${limit.cpuMs.toFixed(2)}; the load generator shares the host's cores`;
    options.figures?.add({
      name: 'webhook intake, embedded',
      value: ptel.rate,
      unit: 'requests/s',
      limit: { value: limit.rate, what: 'minimal receiver: HMAC + group-committed fdatasync' },
      goal: { value: 2000 },
      note,
    });
    options.figures?.add({
      name: 'webhook intake p99, embedded',
      value: ptel.p99,
      unit: 'ms',
      limit: { value: limit.p99, what: 'minimal receiver p99' },
      goal: { value: 50, atMost: true },
      note,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(out: NodeJS.WritableStream, what: string, m: Measured): void {
  const statuses = Object.entries(m.result.statuses)
    .map(([s, n]) => `${n} x ${s === '0' ? 'no answer' : s}`)
    .join(', ');
  out.write(
    `  ${what}: ${Math.round(m.rate).toLocaleString('en-US')} requests/s over ${m.result.seconds.toFixed(1)} s; ` +
      `latency p50 ${ms(m.p50)}, p99 ${ms(m.p99)}, max ${ms(m.max)}; CPU ${m.cpuMs.toFixed(2)} ms a request; ${statuses}\n`,
  );
  for (const f of m.result.failures) out.write(`    ${f}\n`);
}
