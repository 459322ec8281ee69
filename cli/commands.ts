import path from 'node:path';
import { configuredConnectors } from '../app/organisation.js';
import { linkNow } from '../app/jobs.js';
import {
  normalizerLag,
  putDemo,
  replayStored,
  runOnce,
  startConnect,
  startNormalize,
  startRun,
  startServe,
  storeFreshness,
  storeStatus,
  syncSources,
  type RunHooks,
  type RunningRole,
  type RunOnceResult,
  type StoreSummary,
} from '../app/roles.js';
import type { RuntimeOptions } from '../app/runtime.js';
import { createProgressDisplay } from '../connectors/core/progress.js';
import type { Check } from '../connectors/core/types.js';
import { CONNECTORS, WEBHOOK_SOURCES } from '../connectors/registry.js';
import { ingestTokenEnv } from '../infra/config/schema.js';
import { createLogger } from '../infra/observability/logger.js';
import { migrate } from '../infra/store/migrate.js';
import { createStoreUser, NEW_USER_PASSWORD_ENV, STORE_PRIVILEGES, userNameProblem } from '../infra/store/users.js';
import { INGEST_KIND_NAMES } from '../schemas/ingest.js';
import { exportRoot } from '../workers/export/export.js';
import { modelSummary, type ModelSummary } from '../workers/link/summary.js';
import { latestDeadLetters } from '../workers/normalize/status.js';
import { ALERTS_COMMANDS } from './alerts-commands.js';
import { withRuntime, type Command, type CommandContext } from './command.js';
import { EXPORT_COMMANDS } from './export-command.js';
import { FORECAST_COMMANDS } from './forecast-command.js';
import { IMPORT_COMMANDS } from './import-command.js';
import { LIST_COMMANDS } from './list-command.js';
import { onShutdownSignal } from './lifecycle.js';
import { METRICS_COMMANDS } from './metrics-commands.js';
import { parseInstant, printTable } from './output.js';
import { createRunProgress } from './run-progress.js';
import { STATUS_REPORT_COMMANDS } from './status-report-command.js';
import { freshnessLines, originLine, runSummary } from './summary.js';

/** The pulled sources as a usage line names them: 'github, jira, ... or outcomes'. */
const PULLED_SOURCES = ((names: string[]) => `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]!}`)(
  CONNECTORS.map((c) => c.source),
);

/** The runtime options of a command: its clock, when it was given one. */
const runtimeOptions = (ctx: CommandContext, options: RuntimeOptions = {}): RuntimeOptions => ({
  ...options,
  ...(ctx.clock !== undefined ? { clock: ctx.clock } : {}),
});

function printEvents(out: NodeJS.WritableStream, summary: Pick<StoreSummary, 'events' | 'deadLetters' | 'dataQuality'>): void {
  printTable(
    out,
    ['source', 'type', 'events', 'entities', 'latest'],
    summary.events.map((r) => [r.source, r.type, r.events, r.entities, r.latest]),
  );
  const dead = summary.deadLetters;
  out.write(dead.length === 0 ? 'dead letters: none\n' : `dead letters: ${dead.map((d) => `${d.code} ${d.count}`).join(', ')}\n`);
  if (summary.dataQuality.length === 0) {
    out.write('data quality: every field read\n');
    return;
  }
  out.write('data quality: fields left empty because their value could not be read (the entity was kept)\n');
  printTable(
    out,
    ['source', 'entity', 'field', 'problem', 'notes', 'last seen', 'example event'],
    summary.dataQuality.map((q) => [q.source, q.entity, q.field, q.problem, q.notes, q.lastSeen, q.exampleEventId]),
  );
}

function printModel(out: NodeJS.WritableStream, model: ModelSummary): void {
  out.write(`model: ${model.entities.map((e) => `${e.count} ${e.label}`).join(', ')}\n`);
  for (const l of model.links) {
    const parts = l.counts.map((c) => `${c.key} ${c.count}`);
    out.write(`links: ${l.label}: ${parts.length > 0 ? parts.join(', ') : 'none'}\n`);
  }
}

/** Runs a long-running role until SIGINT or SIGTERM, then stops it in the shutdown order. */
async function untilSignal(
  ctx: CommandContext,
  role: RunningRole,
  logger: Parameters<typeof onShutdownSignal>[0],
  banner?: string,
): Promise<number> {
  if (banner !== undefined) ctx.out.write(`${banner}\n`);
  await onShutdownSignal(logger, () => role.stop());
  return 0;
}

const startHooks = (ctx: CommandContext): RunHooks => ({
  onStart: ({ demo, sources }) => {
    if (demo !== undefined) {
      ctx.out.write(
        `source: demo organisation (${demo.programs} programs, ${demo.teams} teams, ${demo.records.length} entity versions, as of ${demo.now}); ` +
          'configure sources (see ptel.example.yaml) to pull real data\n',
      );
    } else if (sources.length > 0) ctx.out.write(`sources: ${sources.join(', ')}\n`);
    else ctx.out.write('no source is configured: nothing to pull; webhooks are still received\n');
  },
});

/**
 * The user `migrate --create-user NAME` is to create, with its password from the environment;
 * undefined without the option; an exit code after saying what is wrong.
 */
function newUserOf(ctx: CommandContext): { name: string; password: string } | undefined | number {
  const name = ctx.values['create-user'];
  if (typeof name !== 'string') return undefined;
  const problem = userNameProblem(name);
  if (problem !== undefined) {
    ctx.err.write(`ptel migrate: --create-user: ${problem}\n`);
    return 2;
  }
  if (ctx.config.clickhouse.engine !== 'server') {
    ctx.err.write(
      'ptel migrate: --create-user needs a ClickHouse server (clickhouse.url, PTEL_CLICKHOUSE_URL); the embedded engine has no users\n',
    );
    return 78;
  }
  if (name === ctx.config.clickhouse.username) {
    ctx.err.write(
      `ptel migrate: --create-user ${name}: that is the user this command connects as (clickhouse.username); ` +
        'run it as an administrator (PTEL_CLICKHOUSE_USER) and name the user to create\n',
    );
    return 2;
  }
  const password = (ctx.env ?? process.env)[NEW_USER_PASSWORD_ENV];
  if (password === undefined || password === '') {
    ctx.err.write(
      `ptel migrate: --create-user ${name} reads the new user's password from ${NEW_USER_PASSWORD_ENV}, which is ${password === undefined ? 'not set' : 'empty'}\n`,
    );
    return 78;
  }
  return { name, password };
}

/**
 * Why `run --once` stops in distributed mode, and what to run instead: the one-shot normalizes in its
 * own process, which in a deployment would join the normalizer group of the `ptel normalize` workers.
 */
const RUN_ONCE_DISTRIBUTED = [
  'ptel run --once: in distributed mode the normalizers are the `ptel normalize` processes, and a one-shot run',
  'would join their consumer group; instead:',
  '  ptel demo                   put the demo organisation on the bus (when no source is configured)',
  '  ptel sync                   pull the configured sources once',
  '  ptel link, ptel metrics compute   run the linker and the metrics once',
  '  ptel status                 what the store holds and how far behind the normalizers are',
  '',
].join('\n');

/** The file `run --once` writes its log to at the default log level, in the data folder. */
export const RUN_LOG_FILE = 'ptel.log';

/**
 * `run --once`: the run, then its summary. At the default log level (info) the run's log lines go to
 * <dataDir>/ptel.log and only warnings and errors to the terminal; at any level the summary is written
 * once the runtime is closed, after the last log line of the run, so it is what the terminal ends with.
 */
async function runOnceCommand(ctx: CommandContext): Promise<number> {
  if (ctx.config.mode !== 'embedded') {
    ctx.err.write(RUN_ONCE_DISTRIBUTED);
    return 78;
  }
  const level = ctx.config.log.level;
  const logFile = level === 'info' ? path.join(ctx.config.dataDir, RUN_LOG_FILE) : undefined;
  const logger = createLogger({
    level,
    destination: ctx.err,
    ...(logFile !== undefined ? { file: logFile, destinationLevel: 'warn' as const } : {}),
  });
  let result: RunOnceResult | undefined;
  const code = await withRuntime(
    ctx.config,
    async (rt) => {
      const display = createRunProgress(ctx.out);
      try {
        result = await runOnce(rt, { ...startHooks(ctx), onProgress: (p) => display.update(p) });
      } finally {
        display.done();
      }
      return result.pulled.some((p) => p.status === 'failed') ? 1 : 0;
    },
    runtimeOptions(ctx, { logger }),
  );
  if (result !== undefined) {
    const lines = runSummary(result, {
      dataDir: ctx.config.dataDir,
      ...(logFile !== undefined ? { logFile } : {}),
      alertChannels: Object.keys(ctx.config.alerts.channels).length,
      commands: Object.keys(COMMANDS),
    });
    ctx.out.write(`${lines.join('\n')}\n`);
  }
  return code;
}

export const COMMANDS: Record<string, Command> = {
  run: {
    summary: 'the main job: pull the sources, normalize into ClickHouse, serve health and metrics',
    usage: [
      'usage: ptel run [--once]',
      '',
      'Runs the whole pipeline in this process. With no source credentials configured it uses the demo',
      'organisation, so a fresh machine has data at once.',
      '  --once   pull once, wait until every event is stored, link, compute the metrics, run the stall',
      '           detector, print a summary and exit (at log level info the log goes to <dataDir>/ptel.log);',
      '           embedded mode only: in distributed mode the normalizers are `ptel normalize` processes,',
      '           and `ptel demo` or `ptel sync` put the events on the bus for them',
    ].join('\n'),
    options: { once: { type: 'boolean' } },
    async run(ctx) {
      if (ctx.values['once'] === true) return runOnceCommand(ctx);
      return withRuntime(
        ctx.config,
        async (rt) => {
          const role = await startRun(rt, startHooks(ctx));
          return untilSignal(
            ctx,
            role,
            rt.logger,
            `serving on ${role.url ?? ''} (/healthz, /readyz, /metrics, /webhooks/<source>, /ingest/<kind>)` +
              `${role.storeUrl !== undefined ? `; the store on ${role.storeUrl} (ptel metrics, status, alerts and export read it meanwhile)` : ''}; Ctrl-C stops`,
          );
        },
        runtimeOptions(ctx),
      );
    },
  },

  sync: {
    summary: 'pull the configured sources once (all, one source, or one stream)',
    usage: [
      'usage: ptel sync [SOURCE] [--stream NAME] [--since DATE]',
      `  SOURCE     ${PULLED_SOURCES} (default: every configured source)`,
      '  --stream   only this stream, e.g. pull_requests',
      '  --since    backfill from this date (ISO 8601): reads from it whatever the cursors say,',
      '             and leaves the incremental cursors where they are',
      'In embedded mode the pulled events are normalized and stored before the command ends.',
    ].join('\n'),
    options: { stream: { type: 'string' }, since: { type: 'string' } },
    positionals: true,
    async run(ctx) {
      const since = parseInstant(ctx, 'since');
      if (since === null) return 2;
      if (configuredConnectors(ctx.config).length === 0) {
        ctx.err.write(
          'ptel sync: no source is configured; add a sources section (see ptel.example.yaml) and its credentials, then check with ptel doctor\n',
        );
        return 78;
      }
      return withRuntime(ctx.config, async (rt) => {
        const display = createProgressDisplay(ctx.out);
        let outcome;
        try {
          outcome = await syncSources(rt, {
            filter: { source: ctx.positionals[0], stream: ctx.values['stream'] as string | undefined },
            ...(since !== undefined ? { backfillSince: since } : {}),
            onProgress: (p) => display.update(p),
          });
        } finally {
          display.done();
        }
        const { results, stored } = outcome;
        const failed = results.filter((r) => r.status === 'failed');
        const records = results.reduce((s, r) => s + r.records, 0);
        const requests = results.reduce((s, r) => s + r.requests, 0);
        ctx.out.write(
          `${records} records from ${requests} requests; ${results.length - failed.length} of ${results.length} streams ok` +
            `${stored ? '; stored' : '; on the bus for the normalizers'}\n`,
        );
        for (const f of failed) ctx.err.write(`failed: ${f.source}/${f.stream} ${f.scope}: ${f.error ?? ''}\n`);
        return failed.length > 0 ? 1 : 0;
      });
    },
  },

  demo: {
    summary: 'put the demo organisation into the deployment: publish its history to the bus, then end',
    usage: [
      'usage: ptel demo',
      '',
      "Publishes the demo organisation's history (the `demo` settings: seed, months, teams) to the raw topics",
      'and ends. The history ends on the day the deployment first used these settings (kept in the store, so',
      'every process and host generates the same events); running it again publishes the same event ids,',
      'which the store keeps once. In distributed mode the `ptel normalize` workers store the events (this',
      'command does not join their consumer group); in embedded mode it stores them before it ends.',
      'Only when no source and no org mapping is configured.',
    ].join('\n'),
    options: {},
    run(ctx) {
      if (configuredConnectors(ctx.config).length > 0 || ctx.config.org.programs.length > 0) {
        ctx.err.write(
          'ptel demo: this configuration has sources or an org mapping, and the demo organisation is used only when it has neither; ' +
            'use a configuration without them (for example another PTEL_CONFIG and database) to try the demo\n',
        );
        return Promise.resolve(78);
      }
      return withRuntime(
        ctx.config,
        async (rt) => {
          const put = await putDemo(rt);
          if (put === undefined) return 78;
          const { demo, topics, stored } = put;
          const total = topics.reduce((n, t) => n + t.events, 0);
          ctx.out.write(
            `demo organisation: ${demo.programs} programs, ${demo.teams} teams, history to ${demo.now}\n` +
              `published ${total} events: ${topics.map((t) => `${t.topic} ${t.events}`).join(', ')}\n` +
              (stored
                ? 'stored; ptel status lists them\n'
                : `on the bus for the normalizers (consumer group '${rt.config.normalizer.groupId}', ptel normalize); ptel status lists them once stored\n`),
          );
          return 0;
        },
        runtimeOptions(ctx),
      );
    },
  },

  doctor: {
    summary: "check each source's credentials and permissions, and say what is missing",
    usage: [
      'usage: ptel doctor [SOURCE]',
      `  SOURCE  only this source: ${PULLED_SOURCES} (default: every source)`,
      'Says for each source whether it is configured, and runs its checks: reach, credentials, permissions.',
    ].join('\n'),
    options: {},
    positionals: true,
    async run(ctx) {
      let problems = 0;
      for (const connector of CONNECTORS) {
        if (ctx.positionals[0] !== undefined && connector.source !== ctx.positionals[0]) continue;
        const missing = connector.missing(ctx.config);
        if (missing !== undefined) {
          ctx.out.write(`${connector.source}: not configured (${missing})\n`);
          continue;
        }
        const client = connector.client(ctx.config, createLogger({ level: 'silent' }));
        let checks: Check[];
        try {
          checks = await connector.doctor(client, ctx.config);
        } catch (err) {
          checks = [{ name: 'reach the API', ok: false, detail: err instanceof Error ? err.message : String(err) }];
        }
        for (const c of checks) {
          if (!c.ok) problems++;
          ctx.out.write(`${connector.source}: ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}\n`);
        }
      }
      const hooks = WEBHOOK_SOURCES.map((w) => `${w.path} ${w.enabled(ctx.config) ? 'on' : 'off'}`).join(', ');
      ctx.out.write(`webhooks: ${hooks}\n`);
      const intake = INGEST_KIND_NAMES.map((k) =>
        ctx.config.secrets.ingestTokens[k] !== undefined ? `${k} on` : `${k} off (${ingestTokenEnv(k)} unset)`,
      );
      ctx.out.write(
        ctx.config.sources.ingest?.enabled === false
          ? 'intake: off (sources.ingest.enabled)\n'
          : `intake (/ingest/<kind>): ${intake.join(', ')}\n`,
      );
      return problems > 0 ? 1 : 0;
    },
  },

  connect: {
    summary: 'run the scheduled jobs: pulls, the linker, the metrics, stall alerts and the monthly export (a scalable worker)',
    usage: 'usage: ptel connect\n\nIn distributed mode the schedules live on Redis and any number of these workers share them.',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const role = await startConnect(rt);
        return untilSignal(ctx, role, rt.logger, `serving on ${role.url ?? ''} (/healthz, /readyz, /metrics); running the schedules`);
      });
    },
  },

  link: {
    summary: 'recompute the links: commits to pull requests and deployments, incidents to deployments, hotfixes, escaped bugs',
    usage: 'usage: ptel link\n\nRuns on schedule in `run` and `connect`; this runs it once now and prints what the model holds.',
    options: {},
    run(ctx) {
      return withRuntime(
        ctx.config,
        async (rt) => {
          await linkNow(rt);
          printModel(ctx.out, await modelSummary(rt.store));
          return 0;
        },
        runtimeOptions(ctx, { attach: true }),
      );
    },
  },

  migrate: {
    summary: 'apply pending ClickHouse migrations; optionally create the ClickHouse user ptel runs as',
    usage: [
      'usage: ptel migrate [--create-user NAME]',
      '  --create-user NAME  then create the ClickHouse user NAME (or set its password when it exists) with the privileges',
      `                      ptel needs on its database alone; the password is read from ${NEW_USER_PASSWORD_ENV}.`,
      '                      Run as a user allowed to manage users, e.g. the server administrator (docs/deployment.md).',
    ].join('\n'),
    options: { 'create-user': { type: 'string' } },
    run(ctx) {
      const newUser = newUserOf(ctx);
      if (typeof newUser === 'number') return Promise.resolve(newUser);
      return withRuntime(
        ctx.config,
        async (rt) => {
          const r = await migrate(rt.store);
          ctx.out.write(
            r.applied.length === 0
              ? `database '${rt.store.database}' is up to date (migration ${r.current})\n`
              : `applied ${r.applied.map((m) => `${String(m.version).padStart(4, '0')}_${m.name}`).join(', ')} to '${rt.store.database}'\n`,
          );
          if (newUser === undefined) return 0;
          const { created } = await createStoreUser(rt.store, newUser.name, newUser.password);
          ctx.out.write(
            `user '${newUser.name}' ${created ? 'created' : 'exists: password set'}; granted ${STORE_PRIVILEGES.join(', ')} on '${rt.store.database}'.*` +
              `${rt.store.cluster === undefined ? '' : `, and CLUSTER on *.* for the ON CLUSTER '${rt.store.cluster}' statements`}\n` +
              `run ptel as it: PTEL_CLICKHOUSE_USER=${newUser.name} and PTEL_CLICKHOUSE_PASSWORD set to the password in ${NEW_USER_PASSWORD_ENV}\n`,
          );
          return 0;
        },
        { migrate: false },
      );
    },
  },

  normalize: {
    summary: 'consume raw events from the bus and write them to ClickHouse (a scalable worker)',
    usage: 'usage: ptel normalize\n\nRuns until SIGINT or SIGTERM, then drains, flushes, commits and exits.',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const role = await startNormalize(rt);
        return untilSignal(
          ctx,
          role,
          rt.logger,
          `serving on ${role.url ?? ''} (/healthz, /readyz, /metrics); normalizing the raw topics in consumer group '${rt.config.normalizer.groupId}'`,
        );
      });
    },
  },

  serve: {
    summary: 'serve the webhook endpoints, the intake (/ingest/<kind>), /healthz, /readyz and /metrics',
    usage: 'usage: ptel serve',
    options: {},
    run(ctx) {
      return withRuntime(ctx.config, async (rt) => {
        const role = await startServe(rt);
        return untilSignal(ctx, role, rt.logger, `serving on ${role.url ?? ''}`);
      });
    },
  },

  replay: {
    summary: 're-normalize stored raw events after a mapping change (no source involved)',
    usage: [
      'usage: ptel replay [--source SOURCE] [--type TYPE] [--since DATE]',
      '  --source  only events of this source (github, jira, pagerduty, gitlab, jenkins, cdevents)',
      '  --type    only events of this type, e.g. github.pull_request',
      '  --since   only events whose entity time is at or after this date (ISO 8601)',
    ].join('\n'),
    options: { source: { type: 'string' }, type: { type: 'string' }, since: { type: 'string' } },
    async run(ctx) {
      const since = parseInstant(ctx, 'since');
      if (since === null) return 2;
      return withRuntime(ctx.config, async (rt) => {
        const result = await replayStored(rt, {
          source: ctx.values['source'] as string | undefined,
          type: ctx.values['type'] as string | undefined,
          ...(since !== undefined ? { since } : {}),
        });
        ctx.out.write(`replayed ${result.events} events: ${JSON.stringify(result.outcomes)}; rows ${JSON.stringify(result.rows)}\n`);
        printModel(ctx.out, await modelSummary(rt.store));
        return 0;
      });
    },
  },

  'dead-letters': {
    summary: 'list dead letters with their reasons',
    usage: [
      'usage: ptel dead-letters [--limit N]',
      '  --limit N  how many to list, newest first (default 50)',
      'Each with where it was on the bus (topic, partition, offset), its reason code and what was wrong.',
    ].join('\n'),
    options: { limit: { type: 'string' } },
    async run(ctx) {
      const text = ctx.values['limit'];
      const limit = typeof text === 'string' ? Number(text) : 50;
      if (!Number.isInteger(limit) || limit < 1) {
        ctx.err.write(`ptel dead-letters: --limit '${String(text)}': expected a whole number of at least 1\n`);
        return 2;
      }
      return withRuntime(
        ctx.config,
        async (rt) => {
          const rows = await latestDeadLetters(rt.store, limit);
          printTable(
            ctx.out,
            ['failed at', 'topic', 'partition', 'offset', 'code', 'reason'],
            rows.map((r) => [r.failedAt, r.topic, r.partition, r.offset, r.code, r.reason]),
          );
          return 0;
        },
        { attach: true },
      );
    },
  },

  status: {
    summary: 'what the store holds, whose data it is, how fresh each job left it, and how far behind the normalizer is',
    usage: [
      'usage: ptel status [--as-of INSTANT]',
      '  --as-of  what the store held at that instant (events ingested, dead letters and job runs by then)',
      'Says whether the data is the demo organisation, lists the stored events per source and type, the dead',
      'letters and the fields that could not be read, and when the pulls, the linker, the metrics, the stall',
      'detector and the monthly export last ran ("last run 2026-12-06 14:05 (12 min ago)", or "never").',
    ].join('\n'),
    options: { 'as-of': { type: 'string' } },
    async run(ctx) {
      const asOf = parseInstant(ctx, 'as-of', 'ptel status');
      if (asOf === null) return 2;
      return withRuntime(
        ctx.config,
        async (rt) => {
          const at = asOf !== undefined ? { asOf } : {};
          const freshness = await storeFreshness(rt, at);
          if (asOf !== undefined) ctx.out.write(`as of ${asOf.toISOString()}:\n`);
          ctx.out.write(`${originLine(freshness.origin)}\n`);
          printEvents(ctx.out, await storeStatus(rt, at));
          ctx.out.write(`${freshnessLines(freshness, exportRoot(ctx.config)).join('\n')}\n`);
          if (asOf !== undefined) return 0;
          if (rt.attachedTo !== undefined) {
            ctx.out.write(`normalizer: inside the running ptel (process ${rt.attachedTo.pid}); its /metrics has the lag\n`);
          }
          for (const l of await normalizerLag(rt)) ctx.out.write(`${l.topic}: ${l.behind} behind\n`);
          return 0;
        },
        runtimeOptions(ctx, { attach: true }),
      );
    },
  },

  config: {
    summary: 'check the configuration and print it as resolved (secrets shown as set or unset)',
    usage: 'usage: ptel config',
    options: {},
    run(ctx) {
      const { secrets, ...rest } = ctx.config;
      const shown = {
        ...rest,
        secrets: Object.fromEntries(Object.entries(secrets).map(([k, v]) => [k, v === undefined ? 'unset' : 'set'])),
      };
      ctx.out.write(`${JSON.stringify(shown, null, 2)}\n`);
      return Promise.resolve(0);
    },
  },
  ...LIST_COMMANDS,
  ...METRICS_COMMANDS,
  ...ALERTS_COMMANDS,
  ...EXPORT_COMMANDS,
  ...FORECAST_COMMANDS,
  ...STATUS_REPORT_COMMANDS,
  ...IMPORT_COMMANDS,
};
