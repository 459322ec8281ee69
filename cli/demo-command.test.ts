import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { storeStatus } from '../app/roles.js';
import { createRuntime } from '../app/runtime.js';
import { fixedClock, type Clock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import { quietLogger, tempDir } from '../test/support/harness.js';
import { COMMANDS } from './commands.js';

const clock = fixedClock(Date.parse('2026-12-06T12:00:00.000Z'));

async function ptel(config: Config, name: string, values: Record<string, string | boolean> = {}, c: Clock = clock) {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const code = await COMMANDS[name]!.run({ config, values, positionals: [], out, err: out, clock: c });
  return { code, text };
}

async function storedEvents(config: Config): Promise<number> {
  const rt = await createRuntime(config, { logger: quietLogger(), clock });
  try {
    return (await storeStatus(rt)).events.reduce((n, e) => n + e.events, 0);
  } finally {
    await rt.close();
  }
}

describe('ptel demo', () => {
  it('in embedded mode stores the demo history before it ends, says what it published, and stores nothing new when run again', async () => {
    const config = loadConfig({
      env: { PTEL_DATA_DIR: tempDir('ptel-demo-'), PTEL_LOG_LEVEL: 'silent' },
      cwd: tempDir(),
      overrides: { demo: { months: 1, teams: 1 } },
    });
    const first = await ptel(config, 'demo');
    expect(first.code, first.text).toBe(0);
    const published = /^published (\d+) events: (.+)$/m.exec(first.text);
    expect(published, first.text).not.toBeNull();
    const total = Number(published![1]);
    expect(published![2]).toMatch(/^raw\.github \d+, raw\.ingest \d+, raw\.jira \d+, raw\.pagerduty \d+$/);
    expect(first.text).toContain('demo organisation: 1 programs, 1 teams, history to 2026-12-06T00:00:00.000Z');
    expect(first.text).toContain('stored; ptel status lists them');
    expect(await storedEvents(config)).toBe(total);

    // A day later: the anchor in the store still says 6 December, so the same event ids, stored once.
    const again = await ptel(config, 'demo', {}, fixedClock(Date.parse('2026-12-07T12:00:00.000Z')));
    expect(again.code, again.text).toBe(0);
    expect(again.text).toContain(`published ${total} events`);
    expect(again.text).toContain('history to 2026-12-06T00:00:00.000Z');
    expect(await storedEvents(config)).toBe(total);
  });

  it('is refused where the demo does not apply: sources or an org mapping configured', async () => {
    const config = loadConfig({
      env: { PTEL_DATA_DIR: tempDir() },
      cwd: tempDir(),
      overrides: { org: { programs: [{ id: 'p', name: 'P', teams: [{ id: 't', name: 'T' }] }] } },
    });
    const r = await ptel(config, 'demo');
    expect(r.code).toBe(78);
    expect(r.text).toContain('ptel demo: this configuration has sources or an org mapping');
  });
});

describe('ptel run --once in distributed mode', () => {
  it('does not join the normalizer group: it says so and names the commands of a deployment, before connecting to anything', async () => {
    const config = loadConfig({
      env: {
        PTEL_MODE: 'distributed',
        PTEL_KAFKA_BROKERS: '127.0.0.1:1',
        PTEL_CLICKHOUSE_URL: 'http://127.0.0.1:1',
        PTEL_DATA_DIR: tempDir(),
      },
      cwd: tempDir(),
    });
    const r = await ptel(config, 'run', { once: true });
    expect(r.code).toBe(78);
    expect(r.text).toContain('ptel run --once: in distributed mode the normalizers are the `ptel normalize` processes');
    expect(r.text).toMatch(/^ {2}ptel demo +put the demo organisation on the bus/m);
  });
});
