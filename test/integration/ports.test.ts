import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startConnect, startNormalize, startServe, type RunningRole } from '../../app/roles.js';
import { createRuntime, type Runtime } from '../../app/runtime.js';
import { loadConfig } from '../../infra/config/load.js';
import { DEFAULT_HTTP_PORTS } from '../../infra/config/schema.js';
import { ListenError } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { openStore } from '../../infra/store/client.js';
import { migrate } from '../../infra/store/migrate.js';
import { quietLogger, tempDir, uniqueName } from '../support/harness.js';

/**
 * The roles of a distributed deployment on one host, each a runtime of its own as each would be a
 * process of its own. They listen on an address of the loopback network that nothing else here uses,
 * so that the default ports are free whatever else runs on 127.0.0.1.
 */
const HOST = '127.0.0.42';

describe('the distributed roles on one host', () => {
  const database = uniqueName('it_ports');
  const topicPrefix = `${uniqueName('ports')}.`;
  const runtimes: Runtime[] = [];
  const roles: RunningRole[] = [];

  /** A runtime as a role's process has it; `env` is its environment (PTEL_HTTP_PORT). */
  const runtime = async (env: Record<string, string> = {}): Promise<Runtime> => {
    const config = loadConfig({
      env: { PTEL_HTTP_HOST: HOST, ...env },
      cwd: tempDir(),
      overrides: {
        mode: 'distributed',
        kafka: { brokers: inject('kafkaBrokers').split(','), topicPrefix },
        clickhouse: { url: inject('clickhouseUrl'), database },
        redis: { url: inject('redisUrl'), queue: uniqueName('ports') },
        normalizer: { groupId: uniqueName('ports') },
        log: { level: 'silent' },
      },
    });
    const rt = await createRuntime(config, { logger: quietLogger(), metrics: new PipelineMetrics({ defaultMetrics: false }) });
    runtimes.push(rt);
    return rt;
  };

  beforeAll(async () => {
    const store = await openStore({ kind: 'server', url: inject('clickhouseUrl'), username: 'default', password: undefined, database });
    try {
      await migrate(store);
    } finally {
      await store.close();
    }
  });
  afterAll(async () => {
    for (const role of roles.reverse()) await role.stop();
    for (const rt of runtimes) await rt.close();
    const admin = await openStore({
      kind: 'server',
      url: inject('clickhouseUrl'),
      username: 'default',
      password: undefined,
      database: 'default',
    });
    await admin.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await admin.close();
  });

  it('serve, normalize and connect each listen on their own default port, side by side', async () => {
    const serve = await startServe(await runtime());
    roles.push(serve);
    const normalize = await startNormalize(await runtime());
    roles.push(normalize);
    const connect = await startConnect(await runtime());
    roles.push(connect);
    expect([serve.url, normalize.url, connect.url]).toEqual([
      `http://${HOST}:${DEFAULT_HTTP_PORTS.serve}`,
      `http://${HOST}:${DEFAULT_HTTP_PORTS.normalize}`,
      `http://${HOST}:${DEFAULT_HTTP_PORTS.connect}`,
    ]);
    expect(DEFAULT_HTTP_PORTS).toEqual({ run: 8080, serve: 8081, normalize: 8082, connect: 8083 });
    for (const role of [serve, normalize, connect]) expect((await fetch(`${role.url!}/healthz`)).status).toBe(200);
  });

  it('a second serve on the same host is refused with the port, the role and the variable that changes it', async () => {
    const rt = await runtime();
    const second = startServe(rt);
    await expect(second).rejects.toThrow(ListenError);
    await expect(second).rejects.toThrow(
      `cannot listen on ${HOST}:8081: the port is already in use by another process; ` +
        "8081 is the default port of 'ptel serve'; set PTEL_HTTP_PORT (or http.port in the configuration) to choose another",
    );
  });

  it('PTEL_HTTP_PORT moves a role; taken, the error says the port is http.port and lists the defaults', async () => {
    const moved = await startServe(await runtime({ PTEL_HTTP_PORT: String(DEFAULT_HTTP_PORTS.run) }));
    roles.push(moved);
    expect(moved.url).toBe(`http://${HOST}:${DEFAULT_HTTP_PORTS.run}`);
    expect((await fetch(`${moved.url!}/healthz`)).status).toBe(200);
    // The port of the normalize role given to serve: taken.
    await expect(startServe(await runtime({ PTEL_HTTP_PORT: String(DEFAULT_HTTP_PORTS.normalize) }))).rejects.toThrow(
      `cannot listen on ${HOST}:8082: the port is already in use by another process; the port is http.port ` +
        "(PTEL_HTTP_PORT or the configuration file); choose another there, or leave it unset for each role's own default " +
        '(run 8080, serve 8081, normalize 8082, connect 8083)',
    );
  });
});
