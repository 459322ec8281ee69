import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { rawTopics, startNormalize, type RunningRole } from '../../app/roles.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { loadConfig } from '../../infra/config/load.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { quietLogger, repoRoot, tempDir, uniqueName, waitFor } from '../support/harness.js';
import { STORES } from '../support/stores.js';

/**
 * A member of `groupId` in another process, joined and then killed with SIGKILL: it never leaves the
 * group, so the broker holds the next join until the member's session (`sessionTimeoutMs`) runs out,
 * as after a crashed normalizer.
 */
async function deadMember(brokers: string[], groupId: string, topic: string, sessionTimeoutMs: number): Promise<void> {
  const script = `
    import { Kafka, logLevel } from 'kafkajs';
    const kafka = new Kafka({ clientId: 'dead-member', brokers: ${JSON.stringify(brokers)}, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: ${JSON.stringify(groupId)}, sessionTimeout: ${sessionTimeoutMs}, heartbeatInterval: 1000 });
    consumer.on(consumer.events.GROUP_JOIN, () => process.stdout.write('joined\\n'));
    await consumer.connect();
    await consumer.subscribe({ topics: [${JSON.stringify(topic)}], fromBeginning: true });
    await consumer.run({ eachMessage: async () => {} });
  `;
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the member did not join group ${groupId} within 60 s: ${stderr}`)), 60_000);
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('joined')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the member exited (${code}) before it joined: ${stderr}`));
      });
    });
  } finally {
    child.kill('SIGKILL');
  }
}

/**
 * A normalizer started while a crashed member still holds its group: it is alive (/healthz 200) from
 * the start, and ready (/readyz 200) only once its consumer has joined the group; on either store.
 */
describe.each(STORES)('the health endpoints of the normalize role on $title', (target) => {
  const brokers = (): string[] => inject('kafkaBrokers').split(',');
  const database = target.database('health');
  let rt: Runtime;
  beforeAll(async () => {
    const config = loadConfig({
      env: {},
      cwd: tempDir(),
      overrides: {
        mode: 'distributed',
        kafka: { brokers: brokers(), topicPrefix: `${uniqueName('health')}.` },
        dataDir: tempDir('ptel-health-'),
        clickhouse: target.clickhouse(database),
        http: { host: '127.0.0.1', port: 0 },
        normalizer: { groupId: uniqueName('normalizer') },
        log: { level: 'silent' },
      },
    });
    rt = await createRuntime(config, { logger: quietLogger(), metrics: new PipelineMetrics({ defaultMetrics: false }), migrate: true });
  });
  afterAll(async () => {
    await rt?.close();
    await target.drop(database);
  });

  it('answers /healthz 200 and /readyz 503 while the consumer waits to join its group, and /readyz 200 once it has', async () => {
    const topics = rawTopics(rt);
    await rt.bus.ensureTopics(topics.map((topic) => ({ topic })));
    // The crashed member's session: long enough to look at the endpoints while the join is held.
    await deadMember(brokers(), rt.config.normalizer.groupId, topics[0]!, 12_000);

    let url: string | undefined;
    let joined = false;
    const starting = startNormalize(rt, { onListening: (u) => (url = u) });
    void starting.then(
      () => (joined = true),
      () => undefined,
    );
    let role: RunningRole | undefined;
    try {
      await waitFor(
        'the health endpoints to listen',
        () => url,
        (u) => u !== undefined,
        { timeoutMs: 10_000, intervalMs: 20 },
      );
      const health = await fetch(`${url!}/healthz`);
      const ready = await fetch(`${url!}/readyz`);
      // Both answers came while the role was still waiting for its group.
      expect(joined).toBe(false);
      expect(health.status).toBe(200);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { status: string; checks: Record<string, string> };
      expect(body.status).toBe('not ready');
      expect(body.checks['bus']).toBe(`the normalizer has not joined consumer group '${rt.config.normalizer.groupId}' yet`);
      expect(body.checks['store']).toBe('ok');

      role = await starting;
      expect(role.url).toBe(url);
      const after = await waitFor(
        '/readyz 200',
        async () => {
          const res = await fetch(`${url!}/readyz`);
          return { status: res.status, body: await res.json() };
        },
        (r) => r.status === 200,
        { timeoutMs: 30_000 },
      );
      expect(after.body).toEqual({ status: 'ready', checks: { store: 'ok', bus: 'ok' } });
      expect((await fetch(`${url!}/healthz`)).status).toBe(200);
    } finally {
      role ??= await starting.catch(() => undefined);
      await role?.stop();
    }
  });
});
