import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

const root = path.resolve(import.meta.dirname, '../..');
const script = path.join(root, 'infra/scripts/services.sh');
const servicesHome = process.env['PTEL_SERVICES_HOME'] ?? path.join(root, '.local/services');

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string;
    redisUrl: string;
  }
}

/**
 * Starts the real Kafka broker and Redis server for the integration suite (installing them on first
 * use), hands their addresses to the tests, and stops them afterwards when this run started them.
 */
export default function setup(project: TestProject): () => void {
  const wasUp = (() => {
    try {
      execFileSync('bash', [script, 'status'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  execFileSync('bash', [script, 'up'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, PTEL_SERVICES_HOME: servicesHome },
  });
  const env = Object.fromEntries(
    readFileSync(path.join(servicesHome, 'env'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  );
  project.provide('kafkaBrokers', env['PTEL_TEST_KAFKA_BROKERS'] ?? '');
  project.provide('redisUrl', env['PTEL_TEST_REDIS_URL'] ?? '');
  return () => {
    if (!wasUp && process.env['PTEL_KEEP_SERVICES'] !== '1') {
      execFileSync('bash', [script, 'down'], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: { ...process.env, PTEL_SERVICES_HOME: servicesHome },
      });
    }
  };
}
