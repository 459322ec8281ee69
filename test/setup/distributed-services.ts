import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { SERVICES, provideServices, servicesScript } from './services.js';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * Ports of the distributed suite's own servers, none of them a default of services.sh (19092, 19093,
 * 16379, 18123, 19000) nor of a ptel role (8080 to 8083): the suite stops and kills these servers,
 * never the ones the other suites share.
 */
export const DISTRIBUTED_PORTS = {
  PTEL_KAFKA_PORT: '29092',
  PTEL_KAFKA_CONTROLLER_PORT: '29093',
  PTEL_REDIS_PORT: '26379',
  PTEL_CLICKHOUSE_HTTP_PORT: '28123',
  PTEL_CLICKHOUSE_TCP_PORT: '29000',
};

declare module 'vitest' {
  export interface ProvidedContext {
    /** What services.sh must be run with to stop, kill or start the distributed suite's servers. */
    servicesEnv: Record<string, string>;
  }
}

/**
 * Kafka, Redis and the ClickHouse server for the distributed fault suite, under a services home and on
 * ports of their own; their addresses go to the tests as in the integration suite, with the services
 * home and ports. At the end they are stopped and their data dropped.
 */
export default function setup(project: TestProject): () => void {
  const services = servicesScript(path.join(root, '.local/services-distributed'), DISTRIBUTED_PORTS);
  provideServices(project, services);
  project.provide('servicesEnv', services.env);
  return () => {
    if (process.env['PTEL_KEEP_SERVICES'] !== '1') services.run(['down', ...SERVICES]);
  };
}
