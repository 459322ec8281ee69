import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { rawEventMessage } from '../../connectors/core/publish.js';
import { createKafkaBus } from '../../infra/bus/kafka.js';
import { rawTopic } from '../../schemas/raw-event.js';
import { cliPath, queryRows, quietLogger, runCli, sampleEvents, tempDir, uniqueName, waitFor } from '../support/harness.js';
import { STORES } from '../support/stores.js';

/**
 * The ledger: N events on the real broker; the normalizer process is killed with SIGKILL in the middle
 * of the stream and started again; afterwards every event is stored exactly once after deduplication.
 * On the in-process engine the kill takes the engine down with the normalizer; on the server it does not.
 */
describe.each(STORES)('normalizer killed mid-stream, storing into $title', (target) => {
  const children: ChildProcess[] = [];
  const database = target.database('ledger');
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await target.drop(database);
  });

  it('stores every event exactly once after a SIGKILL and a restart', async () => {
    const brokers = inject('kafkaBrokers');
    const prefix = `${uniqueName('ledger')}.`;
    const groupId = uniqueName('ledger-group');
    const topic = rawTopic('github', prefix);
    const dir = tempDir('ptel-ledger-');
    const configFile = path.join(dir, 'ptel.yaml');
    writeFileSync(
      configFile,
      [
        'mode: distributed',
        `dataDir: ${dir}/data`,
        `clickhouse: ${JSON.stringify(target.clickhouse(database))}`,
        `kafka: { brokers: [${brokers}], topicPrefix: ${prefix}, partitions: 3 }`,
        `normalizer: { groupId: ${groupId}, flushRows: 400, flushIntervalMs: 100, concurrency: 3, sessionTimeoutMs: 6000 }`,
        'http: { port: 0 }',
        'log: { level: warn }',
      ].join('\n'),
    );
    // A server's schema is applied once, by `ptel migrate`, as a deployment does; the engine's on start.
    if (target.kind === 'server') {
      const migrated = await runCli(['migrate', '--config', configFile]);
      expect(migrated.status, migrated.stderr).toBe(0);
    }
    const bus = createKafkaBus({
      brokers: brokers.split(','),
      clientId: uniqueName('ledger'),
      logger: quietLogger(),
      defaultPartitions: 3,
    });
    // 40,000 events of a type no mapper reads: this test is about delivery, each one stored once.
    const events = sampleEvents('github', 'github.test_entity', 8_000, 5);
    await bus.ensureTopics([{ topic, partitions: 3 }]);
    await bus.publish(topic, events.map(rawEventMessage));

    const committed = async (): Promise<number> => (await bus.lag(groupId, topic)).reduce((s, p) => s + p.committed, 0);
    const start = (): {
      child: ChildProcess;
      exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
      stderr: () => string;
    } => {
      const child = spawn(process.execPath, [cliPath, 'normalize'], {
        env: { ...process.env, PTEL_CONFIG: configFile },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      );
      return { child, exited, stderr: () => err };
    };

    try {
      const first = start();
      const atKill = await waitFor('some but not all offsets committed', committed, (n) => n > 0, {
        intervalMs: 20,
        timeoutMs: 120_000,
      }).catch((err: unknown) => {
        throw new Error(`${err instanceof Error ? err.message : String(err)}; the normalizer wrote: ${first.stderr()}`);
      });
      first.child.kill('SIGKILL');
      const firstExit = await first.exited;
      expect(firstExit.signal).toBe('SIGKILL');
      expect(atKill).toBeLessThan(events.length);

      const second = start();
      await waitFor('all offsets committed', committed, (n) => n === events.length, { timeoutMs: 180_000 });
      second.child.kill('SIGTERM');
      const secondExit = await second.exited;
      expect(secondExit, second.stderr()).toEqual({ code: 0, signal: null });
    } finally {
      await bus.close();
    }

    const store = await target.open(database, path.join(dir, 'data'));
    try {
      const [totals] = await queryRows<{ rows: string; ids: string }>(
        store,
        'SELECT count() AS rows, uniqExact(id) AS ids FROM raw_events FINAL',
      );
      expect(totals).toEqual({ rows: String(events.length), ids: String(events.length) });
      const stored = new Set((await queryRows<{ id: string }>(store, 'SELECT id FROM raw_events FINAL')).map((r) => r.id));
      const missing = events.filter((e) => !stored.has(e.id));
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }
  });
});
