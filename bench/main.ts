#!/usr/bin/env node
/**
 * The benchmarks' entry point, apart from the product: they drive the fake vendor APIs of the test
 * suite, which the product build leaves out. `npm run bench -- <name> [options]`.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../infra/config/load.js';
import { benchBacktest } from './backtest.js';
import { benchDistributed } from './distributed.js';
import { benchForecast } from './forecast.js';
import { benchMetrics } from './metrics.js';
import { benchModel } from './model.js';
import { Figures, summary } from './figures.js';
import { benchIntake } from './intake.js';
import { benchConnectors, runBench } from './pipeline.js';

const USAGE = [
  'usage: npm run bench                every benchmark below but forecast and forecast-backtest, one after the other, then',
  '                                     the summary: each figure beside the limit measured in the same run and its goal',
  '       npm run bench -- pipeline [--events N] [--size BYTES]',
  '       npm run bench -- connectors',
  '       npm run bench -- intake',
  '       npm run bench -- distributed [--events N] [--size BYTES]',
  '       npm run bench -- model [--events N] [--commits N] [--repos N]',
  '       npm run bench -- metrics [--teams N] [--years N] [--scale X]',
  '       npm run bench -- forecast [--milestones N] [--trials N]',
  '       npm run bench -- forecast-backtest [--teams N] [--years N] [--scale X] [--trials N]',
  '       npm run bench -- all                the same as no name',
  'pipeline: needs a Kafka broker (kafka.brokers / PTEL_KAFKA_BROKERS); ClickHouse is the configured store.',
  "connectors: full and no-change syncs of each source against a local fake of its API: requests beside the API's request bound.",
  'intake: signed GitHub webhook deliveries, 50 in flight, into ptel serve in embedded mode beside a minimal durable receiver.',
  'distributed: `ptel normalize` processes (1, then 2; `npm run build` first) on the Kafka broker and the ClickHouse server',
  '  (PTEL_CLICKHOUSE_URL) draining a backlog and storing events published live, each on a fresh topic and database, beside',
  "  Kafka's Java consumer (ConsumerPerformance) on the same topic and the server's HTTP insert of the same rows.",
  'model: normalization throughput on one core with real-size payloads, and deployment -> commit linking over a generated history.',
  'metrics: a seeded organisation (programs of 5 teams) written into the domain tables, then the linker and every metric.',
  "forecast: milestone forecasts on one core (default 1,000 milestones x 10,000 trials) against the core's measured draw rate.",
  'forecast-backtest: a seeded organisation (default 25 teams, 2 years) backtested from every Monday of its history, with its',
  '  calibration, the time per as-of point against one scan of the work items, and the time per store query.',
  'Every command takes --config FILE.',
].join('\n');

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        events: { type: 'string' },
        size: { type: 'string' },
        commits: { type: 'string' },
        repos: { type: 'string' },
        teams: { type: 'string' },
        years: { type: 'string' },
        scale: { type: 'string' },
        milestones: { type: 'string' },
        trials: { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const number = (name: keyof typeof values, fallback: number): number => {
    const v = values[name];
    if (typeof v !== 'string') return fallback;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new UsageError(`--${name} '${v}': expected a positive number`);
    return n;
  };
  let config;
  try {
    config = loadConfig({ file: values.config });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 78;
  }
  const out = process.stdout;
  const what = positionals[0] ?? 'all';
  const figures = new Figures();
  try {
    const pipeline = (): Promise<void> => runBench({ config, events: number('events', 200_000), size: number('size', 1024), out, figures });
    const distributed = (): Promise<void> =>
      benchDistributed({ config, events: number('events', DISTRIBUTED_EVENTS), size: number('size', 1024), out, figures });
    const model = (): Promise<void> =>
      benchModel({
        config,
        out,
        events: number('events', 100_000),
        commits: number('commits', 1_000_000),
        repos: number('repos', 10),
        figures,
      });
    const metrics = (): Promise<void> =>
      benchMetrics({ config, out, teams: number('teams', 50), years: number('years', 2), scale: number('scale', 1), figures });
    const intake = (): Promise<void> => benchIntake({ config, out, figures });
    const connectors = (): Promise<void> => benchConnectors(out, figures);
    switch (what) {
      case 'pipeline':
        await pipeline();
        break;
      case 'connectors':
        await connectors();
        break;
      case 'distributed':
        await distributed();
        break;
      case 'model':
        await model();
        break;
      case 'metrics':
        await metrics();
        break;
      case 'intake':
        await intake();
        break;
      case 'forecast':
        benchForecast({ out, milestones: number('milestones', 1_000), trials: number('trials', 10_000) });
        return 0;
      case 'forecast-backtest':
        await benchBacktest({
          config,
          out,
          teams: number('teams', 25),
          years: number('years', 2),
          scale: number('scale', 1),
          ...(values.trials === undefined ? {} : { trials: number('trials', 0) }),
        });
        return 0;
      case 'all':
        // One after the other, so that no benchmark shares the cores with another.
        await pipeline();
        await connectors();
        await intake();
        await model();
        await metrics();
        await distributed();
        break;
      default:
        throw new UsageError(
          `unknown benchmark '${what}'; use all, pipeline, connectors, intake, distributed, model, metrics, forecast or forecast-backtest`,
        );
    }
    if (figures.all.length > 0) out.write(summary(figures.all));
    return 0;
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n\n${USAGE}\n`);
    return 2;
  }
}

class UsageError extends Error {}

/** Events per scenario of the distributed benchmark: the whole of it runs in under 3 minutes on 2 busy cores. */
const DISTRIBUTED_EVENTS = 30_000;

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
