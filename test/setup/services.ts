import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'infra/scripts/services.sh');
const servicesHome = process.env['PTEL_SERVICES_HOME'] ?? path.join(root, '.local/services');
const services = ['kafka', 'redis', 'clickhouse'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    redisUrl: string;
    /** The ClickHouse server's HTTP address (user `default`, no password). */
    clickhouseUrl: string;
    /** The folder services.sh keeps its servers' state in, for tests that stop or kill a server. */
    servicesHome: string;
  }
}

/** Runs services.sh with this run's services home; returns its stdout. */
function runScript(args: string[]): string {
  return execFileSync('bash', [script, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    env: { ...process.env, PTEL_SERVICES_HOME: servicesHome },
  });
}

/** The services that answer now, from `services.sh status`'s report (it exits 1 when any is down). */
function servicesUp(): Set<string> {
  let report: string;
  try {
    report = runScript(['status', ...services]);
  } catch (e) {
    const { stdout } = e as { stdout?: string | Buffer };
    report = stdout === undefined ? '' : stdout.toString();
  }
  return new Set(services.filter((s) => report.split('\n').some((l) => l.startsWith(`${s}: running and ready`))));
}

/**
 * Starts the real Kafka broker, Redis server and ClickHouse server for the integration suite
 * (installing them on first use), hands their addresses to the tests, and afterwards stops (and drops
 * the data of) those this run started; servers that were already up are left alone.
 */
export default function setup(project: TestProject): () => void {
  const wasUp = servicesUp();
  runScript(['up', ...services]);
  const env = Object.fromEntries(
    readFileSync(path.join(servicesHome, 'env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  project.provide('kafkaBrokers', env['PTEL_TEST_KAFKA_BROKERS'] ?? '');
  project.provide('redisUrl', env['PTEL_TEST_REDIS_URL'] ?? '');
  project.provide('clickhouseUrl', env['PTEL_TEST_CLICKHOUSE_URL'] ?? '');
  project.provide('servicesHome', servicesHome);
  const started = services.filter((s) => !wasUp.has(s));
  return () => {
    if (started.length > 0 && process.env['PTEL_KEEP_SERVICES'] !== '1') runScript(['down', ...started]);
  };
}
