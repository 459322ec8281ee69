/**
 * The webhook load generator of the intake benchmark, run as a child process (bench/intake.ts forks it)
 * so that it does not share an event loop with the server it measures. It receives the signed
 * deliveries and the load's shape over IPC, POSTs them with `inFlight` requests always in flight on
 * keep-alive connections, and sends back the latency of each answered request.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';

/** One signed delivery: its headers and its raw body, sent as is. */
export interface Delivery {
  headers: Record<string, string>;
  body: Buffer;
}

export interface LoadRequest {
  url: string;
  path: string;
  deliveries: Delivery[];
  /** Requests sent in all (counted), after `warmup` requests that are not counted. */
  requests: number;
  warmup: number;
  inFlight: number;
  /** No request is started after this many ms of the counted phase. */
  maxMs: number;
}

export interface LoadResult {
  /** Counted requests answered, whatever the status. */
  answered: number;
  /** Answers by status code; a request that got no answer counts as status 0. */
  statuses: Record<string, number>;
  /** The first few answers other than 202, with their bodies. */
  failures: string[];
  /** From the first counted request's start to the last counted answer. */
  seconds: number;
  /** Each counted request's latency, in ms, from its start to the end of its answer. */
  latencies: number[];
}

async function run(req: LoadRequest): Promise<LoadResult> {
  const url = new URL(req.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: req.inFlight });
  const send = (d: Delivery): Promise<{ status: number; body: string }> =>
    new Promise((resolve) => {
      const r = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: req.path,
          method: 'POST',
          agent,
          headers: { ...d.headers, 'content-length': String(d.body.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', (err) => resolve({ status: 0, body: err.message }));
        },
      );
      r.on('error', (err) => resolve({ status: 0, body: err.message }));
      r.end(d.body);
    });

  const phase = async (count: number, record: boolean, maxMs: number): Promise<number> => {
    let next = 0;
    const started = performance.now();
    let last = started;
    const worker = async (): Promise<void> => {
      while (next < count && performance.now() - started < maxMs) {
        const i = next++;
        const t0 = performance.now();
        const { status, body } = await send(req.deliveries[i % req.deliveries.length]!);
        last = performance.now();
        if (!record) continue;
        result.latencies.push(last - t0);
        result.answered++;
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (status !== 202 && result.failures.length < 5) result.failures.push(`${status}: ${body.slice(0, 300)}`);
      }
    };
    await Promise.all(Array.from({ length: req.inFlight }, () => worker()));
    return (last - started) / 1000;
  };

  const result: LoadResult = { answered: 0, statuses: {}, failures: [], seconds: 0, latencies: [] };
  await phase(req.warmup, false, req.maxMs);
  result.seconds = await phase(req.requests, true, req.maxMs);
  agent.destroy();
  return result;
}

process.on('message', (msg: LoadRequest) => {
  run(msg).then(
    (result) => process.send?.(result, () => process.exit(0)),
    (err: unknown) => {
      process.stderr.write(`intake load: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
});
