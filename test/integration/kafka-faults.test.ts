import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishRecords } from '../../connectors/core/publish.js';
import { webhookRoutes } from '../../connectors/core/webhooks.js';
import { githubWebhook } from '../../connectors/github/index.js';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import type { Bus, BusMessage } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger, type Logger } from '../../infra/observability/logger.js';
import { startHttpServer } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { rawTopic, type RawEvent, type SourceRecord } from '../../schemas/raw-event.js';
import { readTopic } from '../support/bus.js';
import { pullRequestExample } from '../support/distributed.js';
import { repoRoot, tempDir, uniqueName, waitFor } from '../support/harness.js';

const run = promisify(execFile);

/** Stops or starts the shared Kafka broker through services.sh; a stop keeps its topics and offsets. */
async function kafkaService(action: 'stop' | 'up'): Promise<void> {
  await run('bash', [path.join(repoRoot, 'infra/scripts/services.sh'), action, 'kafka'], {
    env: { ...process.env, PTEL_SERVICES_HOME: inject('servicesHome') },
  });
}

/** A logger whose lines (kafkajs's included, through the bus's log creator) are kept for the test to read. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: string; msg: string }> } {
  const lines: Array<{ level: string; msg: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        const parsed = JSON.parse(line) as { level: string; msg?: string };
        lines.push({ level: parsed.level, msg: parsed.msg ?? '' });
      }
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

const SECRET = 'kafka-faults-webhook-secret';
const sign = (body: string): string => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

describe('the Kafka side of distributed mode under faults', () => {
  it('answers a webhook 503 within its bound while the broker is down, and takes the same delivery once it is back, stored once', async () => {
    const prefix = `${uniqueName('kf')}.`;
    const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: SECRET }, overrides: { 'kafka.topicPrefix': prefix }, cwd: tempDir() });
    const bound = config.kafka.publishTimeoutMs;
    expect(bound).toBeLessThan(10_000);
    const { logger, lines } = capturingLogger();
    const bus = createKafkaBus({
      brokers: inject('kafkaBrokers').split(','),
      clientId: uniqueName('faults'),
      logger,
      defaultPartitions: 2,
      publishTimeoutMs: bound,
    });
    const server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      metrics: new PipelineMetrics({ defaultMetrics: false }),
      logger,
      readiness: {},
      routes: webhookRoutes({ sources: [githubWebhook], config, bus, logger }),
    });
    const body = JSON.stringify(pullRequestExample());
    const deliver = (delivery: string, payload: string): Promise<Response> =>
      fetch(`${server.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'pull_request',
          'x-github-delivery': delivery,
          'x-hub-signature-256': sign(payload),
        },
        body: payload,
      });
    const topic = rawTopic('github', prefix);
    try {
      // The receiver has been taking deliveries: its producer is connected and its topic exists.
      const other = JSON.parse(body) as { number: number; pull_request: { number: number; id: number } };
      other.number = other.pull_request.number = 9001;
      other.pull_request.id += 9001;
      const before = JSON.stringify(other);
      const first = await deliver('delivery-before', before);
      expect(first.status).toBe(202);

      let refused: Response;
      let tookMs: number;
      await kafkaService('stop');
      try {
        const started = performance.now();
        refused = await deliver('delivery-during', body);
        tookMs = performance.now() - started;
      } finally {
        await kafkaService('up');
      }
      expect(refused.status).toBe(503);
      // Answered at the bound, well before GitHub's 10 s.
      expect(tookMs).toBeGreaterThanOrEqual(bound - 50);
      expect(tookMs).toBeLessThan(bound + 2_000);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      const answer = (await refused.json()) as { error: string; dependency: string };
      expect(answer.dependency).toBe('kafka');
      expect(answer.error).toContain(`did not acknowledge`);

      // The request given up at the bound is not sent behind the sender's back: it ends unsent.
      await waitFor(
        'the given-up send to end',
        () => lines.filter((l) => l.msg.startsWith('a given-up send')).map((l) => l.msg),
        (found) => found.length > 0,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(lines.filter((l) => l.msg.startsWith('a given-up send ended unsent'))).toHaveLength(1);
      expect(lines.filter((l) => l.msg.includes('acknowledged after all'))).toEqual([]);

      // The broker is back: the sender's redelivery of the same delivery is taken, with no restart.
      const accepted = await waitFor(
        'the redelivery to be accepted',
        async () => (await deliver('delivery-during', body)).status,
        (status) => status === 202,
        { timeoutMs: 60_000, intervalMs: 500 },
      );
      expect(accepted).toBe(202);

      const pulls = (await readTopic(bus, topic)).filter((e) => e.type === 'github.pull_request');
      // Each delivery's pull request is on the topic exactly once: the accepted one, and the refused one redelivered.
      expect(pulls.map((e) => e.subject).sort()).toEqual(['codertocat/hello-world#2', 'codertocat/hello-world#9001']);
    } finally {
      await server.close();
      await bus.close();
    }
  });

  it('creates and uses its idempotent producer without kafkajs warning that limited retries may break idempotence', async () => {
    const { logger, lines } = capturingLogger();
    const bus = createKafkaBus({ brokers: inject('kafkaBrokers').split(','), clientId: uniqueName('warn'), logger, defaultPartitions: 2 });
    const topic = uniqueName('warn');
    try {
      await bus.publish(topic, [{ key: 'k', value: '{"n":1}' }]);
      await bus.publish(topic, [{ key: 'k', value: '{"n":2}' }]);
      const lag = await bus.lag(uniqueName('probe'), topic);
      expect(lag.reduce((n, p) => n + p.end, 0)).toBe(2);
    } finally {
      await bus.close();
    }
    expect(lines.filter((l) => /retries/i.test(l.msg))).toEqual([]);
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  describe('publishing chunks concurrently', () => {
    let bus: Bus;
    beforeAll(() => {
      bus = createKafkaBus({
        brokers: inject('kafkaBrokers').split(','),
        clientId: uniqueName('order'),
        logger: createLogger({ level: 'silent' }),
        defaultPartitions: 3,
      });
    });
    afterAll(() => bus.close());

    it("keeps each key's versions in order, once each, with several chunks in flight at once", async () => {
      const prefix = `${uniqueName('ord')}.`;
      const keys = 40;
      const versions = 60;
      // Versions of the same entities interleaved, so every chunk holds versions of every key.
      const records: SourceRecord[] = [];
      for (let v = 0; v < versions; v++) {
        for (let k = 0; k < keys; k++) {
          records.push({
            source: 'jira',
            type: 'jira.issue',
            subject: `ORD-${k}`,
            version: String(v).padStart(4, '0'),
            time: new Date(Date.UTC(2026, 0, 1, 0, 0, v)).toISOString(),
            payload: { key: `ORD-${k}`, v },
          });
        }
      }
      // Counts the publishes pending at once, to show that chunks really are in flight together.
      let pending = 0;
      let mostPending = 0;
      const counting: Bus = {
        ...bus,
        kind: bus.kind,
        publish: async (topic, messages) => {
          mostPending = Math.max(mostPending, ++pending);
          try {
            await bus.publish(topic, messages);
          } finally {
            pending--;
          }
        },
      };
      const counts = await publishRecords(counting, records, 'order-test', { chunk: 100, inFlight: 4, topicPrefix: prefix });
      expect(counts.get('jira')).toBe(keys * versions);
      expect(mostPending).toBe(4);

      const topic = rawTopic('jira', prefix);
      const seen: BusMessage[] = [];
      const sub = await bus.consume({
        groupId: uniqueName('order-reader'),
        topics: [topic],
        handler: (batch) => {
          seen.push(...batch.messages);
          return Promise.resolve();
        },
      });
      try {
        await waitFor(
          'every version',
          () => seen.length,
          (n) => n >= keys * versions,
          { timeoutMs: 60_000 },
        );
      } finally {
        await sub.stop();
      }
      expect(seen).toHaveLength(keys * versions);
      const byKey = new Map<string, number[]>();
      for (const m of seen) {
        const event = JSON.parse(m.value!.toString('utf8')) as RawEvent;
        const v = (event.data as { v: number }).v;
        byKey.set(event.subject, [...(byKey.get(event.subject) ?? []), v]);
      }
      expect(byKey.size).toBe(keys);
      const inOrder = Array.from({ length: versions }, (_, v) => v);
      for (const [, got] of byKey) expect(got).toEqual(inOrder);
    });
  });
});
