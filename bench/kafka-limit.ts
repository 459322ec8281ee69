import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../infra/config/schema.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Kafka's own Java consumer (the broker's tools jar): the physical limit of consuming a topic. */
/** What ConsumerPerformance printed: totals, and the fetch phase alone (after the group join). */
export interface ConsumerPerformanceResult {
  messages: number;
  megabytes: number;
  /** From its start to its end, the group join included. */
  seconds: number;
  /** Fetching alone, the join left out. */
  fetchSeconds: number;
}

/**
 * Reads the stats line of `org.apache.kafka.tools.ConsumerPerformance` (header `start.time, end.time,
 * data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, ...`).
 */
export function parseConsumerPerformance(stdout: string): ConsumerPerformanceResult {
  const lines = stdout.split('\n').map((l) => l.trim());
  const at = lines.findIndex((l) => l.startsWith('start.time,'));
  if (at < 0 || lines[at + 1] === undefined || lines[at + 1] === '') {
    throw new Error(`ConsumerPerformance printed no stats line (header start.time, ...); its output was:\n${stdout}`);
  }
  const header = lines[at]!.split(',').map((s) => s.trim());
  const values = lines[at + 1]!.split(',').map((s) => s.trim());
  const field = (name: string): number => {
    const i = header.indexOf(name);
    const v = Number(values[i]);
    if (i < 0 || values[i] === undefined || !Number.isFinite(v)) {
      throw new Error(`ConsumerPerformance stats: no number in column '${name}' of '${lines[at + 1]}'`);
    }
    return v;
  };
  const messages = field('data.consumed.in.nMsg');
  const nMsgSec = field('nMsg.sec');
  const fetchMs = field('fetch.time.ms');
  return {
    messages,
    megabytes: field('data.consumed.in.MB'),
    seconds: nMsgSec > 0 ? messages / nMsgSec : 0,
    fetchSeconds: fetchMs / 1000,
  };
}

/** The folder of the Kafka jars services.sh installed ($PTEL_SERVICES_HOME/kafka-<version>/libs). */
function kafkaLibs(): string {
  const home = process.env['PTEL_SERVICES_HOME'] ?? path.join(ROOT, '.local/services');
  const found = existsSync(home) ? readdirSync(home).filter((d) => /^kafka-\d/.test(d) && existsSync(path.join(home, d, 'libs'))) : [];
  if (found.length === 0) {
    throw new Error(
      `no Kafka jars under ${home} (kafka-<version>/libs); run \`bash infra/scripts/services.sh up kafka\` (PTEL_SERVICES_HOME sets the folder)`,
    );
  }
  return path.join(home, found.sort().at(-1)!, 'libs');
}

/** Kafka's own Java consumer reading `messages` events of `topic` from the start, in a group of its own. */
export async function consumerPerformance(
  config: Config,
  topic: string,
  messages: number,
  group: string,
): Promise<ConsumerPerformanceResult> {
  const libs = kafkaLibs();
  const java = process.env['JAVA_HOME'] !== undefined ? path.join(process.env['JAVA_HOME'], 'bin/java') : 'java';
  const log4j = path.join(libs, '../../kafka/config/tools-log4j.properties');
  const args = [
    '-Xmx512m',
    ...(existsSync(log4j) ? [`-Dlog4j.configuration=file:${log4j}`] : []),
    '-cp',
    `${libs}/*`,
    'org.apache.kafka.tools.ConsumerPerformance',
    '--bootstrap-server',
    config.kafka.brokers.join(','),
    '--topic',
    topic,
    '--messages',
    String(messages),
    '--group',
    group,
    '--timeout',
    '60000',
  ];
  const child = spawn(java, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err) => reject(new Error(`could not run ${java} for ConsumerPerformance: ${err.message}`)));
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0) throw new Error(`ConsumerPerformance exited with ${code}; stderr ends:\n${stderr}`);
  const result = parseConsumerPerformance(stdout);
  if (result.messages < messages) throw new Error(`ConsumerPerformance read ${result.messages} of ${messages} events of ${topic}`);
  return result;
}
