import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'infra/scripts/services.sh');
export const SERVICES = ['kafka', 'redis', 'clickhouse'] as const;

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

/** services.sh under one services home and its ports (PTEL_*_PORT variables; unset ones keep the script's defaults). */
export interface ServicesScript {
  home: string;
  /** What services.sh must be run with to act on these servers: PTEL_SERVICES_HOME and the ports. */
  env: Record<string, string>;
  /** Runs services.sh; returns its stdout. */
  run(args: string[]): string;
  /** The services that answer now, from `services.sh status`'s report (it exits 1 when any is down). */
  up(): Set<string>;
  /** The servers' addresses, from the env file `services.sh up` writes. */
  addresses(): { kafkaBrokers: string; redisUrl: string; clickhouseUrl: string };
}

export function servicesScript(home: string, ports: Record<string, string> = {}): ServicesScript {
  const env = { PTEL_SERVICES_HOME: home, ...ports };
  const run = (args: string[]): string =>
    execFileSync('bash', [script, ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  return {
    home,
    env,
    run,
    up() {
      let report: string;
      try {
        report = run(['status', ...SERVICES]);
      } catch (e) {
        const { stdout } = e as { stdout?: string | Buffer };
        report = stdout === undefined ? '' : stdout.toString();
      }
      return new Set(SERVICES.filter((s) => report.split('\n').some((l) => l.startsWith(`${s}: running and ready`))));
    },
    addresses() {
      const vars = Object.fromEntries(
        readFileSync(path.join(home, 'env'), 'utf8')
          .split('\n')
          .filter((l) => l.includes('='))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
      );
      return {
        kafkaBrokers: vars['PTEL_TEST_KAFKA_BROKERS'] ?? '',
        redisUrl: vars['PTEL_TEST_REDIS_URL'] ?? '',
        clickhouseUrl: vars['PTEL_TEST_CLICKHOUSE_URL'] ?? '',
      };
    },
  };
}

/** Starts the servers (installing them on first use) and hands their addresses and services home to the tests. */
export function provideServices(project: TestProject, services: ServicesScript): void {
  services.run(['up', ...SERVICES]);
  const a = services.addresses();
  project.provide('kafkaBrokers', a.kafkaBrokers);
  project.provide('redisUrl', a.redisUrl);
  project.provide('clickhouseUrl', a.clickhouseUrl);
  project.provide('servicesHome', services.home);
}

/**
 * Starts the real Kafka broker, Redis server and ClickHouse server for the integration suite
 * (installing them on first use), hands their addresses to the tests, and afterwards stops (and drops
 * the data of) those this run started; servers that were already up are left alone.
 */
export default function setup(project: TestProject): () => void {
  const services = servicesScript(process.env['PTEL_SERVICES_HOME'] ?? path.join(root, '.local/services'));
  const wasUp = services.up();
  provideServices(project, services);
  const started = SERVICES.filter((s) => !wasUp.has(s));
  return () => {
    if (started.length > 0 && process.env['PTEL_KEEP_SERVICES'] !== '1') services.run(['down', ...started]);
  };
}
