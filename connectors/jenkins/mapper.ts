import { z } from 'zod';
import type { DeploymentState, PipelineRunRow, RunResult, RunStatus } from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import type { MapContext } from '../../mapping/context.js';
import { MappingError, ok, parsePayload, type SourceMappers, type TableRows } from '../../mapping/registry.js';
import { iso, isProduction, ownerColumns, rowsOf, rowVersion } from '../../mapping/rows.js';

/**
 * Jenkins builds -> pipeline_runs, and for a build of a deploying pipeline also deployments and
 * deployment_statuses.
 *
 * A build reaches us as the build JSON of /job/<path>/api/json (a pull, see builds.ts BUILD_TREE) or
 * as the Notification plugin's delivery `{ name, url, build: { phase, status, timestamp, scm, parameters, ... } }`.
 * The started and the finished state of a build have one event id for both shapes, so the rows use only
 * what both carry: the build number, result, start time and duration, the build URL, the parameters,
 * and the revision (BuildData's lastBuiltRevision, which the plugin copies into `build.scm`). Neither
 * names the repository or the cause in a shared form, so repo and trigger stay ''.
 */

/** Jenkins' hudson.model.Result -> pipeline_runs.result. An unstable build (failed tests) is a failure. */
const RUN_RESULT: Record<string, RunResult> = {
  SUCCESS: 'success',
  FAILURE: 'failure',
  UNSTABLE: 'failure',
  ABORTED: 'cancelled',
  NOT_BUILT: 'skipped',
};

/** The same result as a deployment's outcome: a deploy that was not built did not happen. */
const DEPLOYMENT_STATE: Record<string, DeploymentState> = {
  SUCCESS: 'success',
  FAILURE: 'failure',
  UNSTABLE: 'failure',
  ABORTED: 'cancelled',
  NOT_BUILT: 'cancelled',
};

/** Lifecycle rank, the version tiebreak: queued < running < done. */
const STATUS_RANK: Record<RunStatus, number> = { queued: 0, running: 1, done: 2 };

/** Build parameters that name the target environment of a deploying build, in this order (names case-insensitive). */
const ENVIRONMENT_PARAMETERS = ['environment', 'env', 'deploy_env', 'target'];
const DEFAULT_ENVIRONMENT = 'production';

const pullBuildSchema = z.looseObject({
  number: z.number().int().nonnegative(),
  url: z.string().nullish(),
  result: z.string().nullish(),
  building: z.boolean().nullish(),
  timestamp: z.number().int().nonnegative(),
  duration: z.number().nonnegative().nullish(),
  actions: z
    .array(
      z
        .looseObject({
          parameters: z.array(z.looseObject({ name: z.string(), value: z.unknown() })).nullish(),
          lastBuiltRevision: z
            .looseObject({ SHA1: z.string().nullish(), branch: z.array(z.looseObject({ name: z.string().nullish() })).nullish() })
            .nullish(),
        })
        .nullable(),
    )
    .nullish(),
});

const notificationSchema = z.looseObject({
  build: z.looseObject({
    full_url: z.string().nullish(),
    number: z.number().int().nonnegative(),
    phase: z.string().min(1),
    status: z.string().nullish(),
    timestamp: z.number().int().nonnegative(),
    duration: z.number().nonnegative().nullish(),
    scm: z.looseObject({ branch: z.string().nullish(), commit: z.string().nullish() }).nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
  }),
});

/** What a build says, whichever shape it came in. */
interface BuildFacts {
  running: boolean;
  /** The raw result, once the build is done. */
  result: string;
  resultField: string;
  startedMs: number;
  durationMs: number | null | undefined;
  sha: string;
  branch: string;
  parameters: Array<[string, unknown]>;
  url: string;
}

const blank = (s: string | null | undefined): boolean => s === null || s === undefined || s === '';

/** The pull shape: running as builds.ts isRunning() says (a build still finishing has its result but is not done). */
function fromPull(data: unknown, event: RawEvent): BuildFacts {
  const b = parsePayload(pullBuildSchema, data, event);
  const actions = (b.actions ?? []).filter((a) => a !== null);
  // The first BuildData is the job's own checkout (a pipeline's library checkouts come later), as the plugin reads it.
  const revision = actions.find((a) => a.lastBuiltRevision !== undefined && a.lastBuiltRevision !== null)?.lastBuiltRevision;
  return {
    running: b.building === true || blank(b.result),
    result: b.result ?? '',
    resultField: 'result',
    startedMs: b.timestamp,
    durationMs: b.duration,
    sha: revision?.SHA1 ?? '',
    branch: revision?.branch?.[0]?.name ?? '',
    parameters: actions.flatMap((a) => (a.parameters ?? []).map((p): [string, unknown] => [p.name, p.value])),
    url: b.url ?? '',
  };
}

/** The Notification plugin's shape: running as webhook.ts says (STARTED, or no status yet). */
function fromNotification(data: unknown, event: RawEvent): BuildFacts {
  const { build: b } = parsePayload(notificationSchema, data, event);
  return {
    running: b.phase.toUpperCase() === 'STARTED' || blank(b.status),
    result: b.status ?? '',
    resultField: 'build.status',
    startedMs: b.timestamp,
    durationMs: b.duration,
    sha: b.scm?.commit ?? '',
    branch: b.scm?.branch ?? '',
    parameters: Object.entries(b.parameters ?? {}),
    url: b.full_url ?? '',
  };
}

/** The Notification plugin wraps the build in `build` with a `phase`; the build JSON has neither. */
const isNotification = (data: unknown): boolean =>
  typeof data === 'object' &&
  data !== null &&
  'build' in data &&
  typeof data.build === 'object' &&
  data.build !== null &&
  'phase' in data.build;

/** 'origin/main', 'refs/remotes/origin/main', 'refs/heads/main' -> 'main', as the other sources name branches. */
const branchName = (ref: string): string =>
  ref
    .replace(/^refs\/heads\//, '')
    .replace(/^refs\/remotes\/[^/]+\//, '')
    .replace(/^origin\//, '');

function environmentOf(parameters: Array<[string, unknown]>): string {
  for (const wanted of ENVIRONMENT_PARAMETERS) {
    const found = parameters.find(([name, value]) => name.toLowerCase() === wanted && typeof value === 'string' && value.trim() !== '');
    if (found !== undefined) return String(found[1]).trim();
  }
  return DEFAULT_ENVIRONMENT;
}

/** 'ci.example.com/payments/deploy#42' -> host and job path, as connectors/core/entities.ts jenkinsBuild builds it. */
function subjectParts(event: RawEvent): { job: string; jobPath: string } {
  const hash = event.subject.lastIndexOf('#');
  const job = hash > 0 ? event.subject.slice(0, hash) : '';
  const slash = job.indexOf('/');
  if (slash <= 0) throw new MappingError('invalid_subject', `${event.type} ${event.subject}: expected <host>/<job path>#<number>`);
  return { job, jobPath: job.slice(slash + 1) };
}

function mapBuild(event: RawEvent, ctx: MapContext): TableRows[] {
  const b = isNotification(event.data) ? fromNotification(event.data, event) : fromPull(event.data, event);
  const raw = b.running ? '' : b.result;
  const result = b.running ? '' : RUN_RESULT[raw];
  const outcome = b.running ? 'in_progress' : DEPLOYMENT_STATE[raw];
  if (result === undefined || outcome === undefined)
    throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field '${b.resultField}': unknown Jenkins result '${raw}'`);
  const { job, jobPath } = subjectParts(event);
  const pipeline = `jenkins:${job}`;
  const started = iso(b.startedMs, 'timestamp');
  // A finished build's end: start + duration; a delivery without a duration ends when it was received (its time).
  const finished = b.running
    ? null
    : b.durationMs === null || b.durationMs === undefined
      ? iso(event.time, 'time')
      : iso(b.startedMs + b.durationMs, 'duration');
  const status: RunStatus = b.running ? 'running' : 'done';
  const version = rowVersion(finished ?? started, STATUS_RANK[status]);
  const service = ctx.owners.service({ pipeline });
  const owner = ownerColumns(ctx.owners.owner('ciPipeline', pipeline) ?? service);
  const sha = b.sha;
  const branch = branchName(b.branch);
  const run: PipelineRunRow = {
    source: 'jenkins',
    run_id: event.subject,
    repo: '',
    pipeline,
    name: jobPath,
    sha,
    branch,
    trigger: '',
    status,
    result,
    raw_result: raw,
    attempt: 1,
    created_at: started,
    started_at: started,
    finished_at: finished,
    service: service?.service ?? '',
    ...owner,
    url: b.url,
    raw_event_id: event.id,
    version,
  };
  const tables = [rowsOf('pipeline_runs', [run])];
  if (service === undefined) return tables;

  // A build deploys when the org mapping lists its pipeline under a service's `pipelines` (the CI
  // pipelines that deploy it): the build is then also a deployment of that service, to the environment
  // its parameters name (production when none does), with a status row for its start and its outcome.
  const environment = environmentOf(b.parameters);
  tables.push(
    rowsOf('deployments', [
      {
        source: 'jenkins',
        deployment_id: run.run_id,
        repo: '',
        service: service.service,
        environment,
        is_production: isProduction(environment, ctx.model) ? 1 : 0,
        sha,
        ref: branch,
        description: '',
        is_rollback: 0,
        created_at: started,
        ...owner,
        url: b.url,
        raw_event_id: event.id,
        version,
      },
    ]),
    rowsOf('deployment_statuses', [
      {
        source: 'jenkins',
        deployment_id: run.run_id,
        status_id: outcome,
        state: outcome,
        raw_state: raw,
        at: finished ?? started,
        raw_event_id: event.id,
        version,
      },
    ]),
  );
  return tables;
}

export const jenkinsMappers: SourceMappers = {
  source: 'jenkins',
  mappers: { 'jenkins.build': (event, ctx) => ok(mapBuild(event, ctx)) },
};
