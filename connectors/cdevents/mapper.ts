import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  DeploymentState,
  DomainTable,
  DomainTables,
  IncidentStatus,
  LifecycleEntity,
  LifecycleEventRow,
  PullRequestState,
  RunResult,
  RunStatus,
  StatusCategory,
  WorkItemKind,
} from '../../schemas/domain.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { subjects } from '../core/entities.js';
import { drop, MappingError, ok, parsePayload, type MapContext, type Mapper, type SourceMappers } from '../../mapping/registry.js';
import { iso, isProduction, ownerColumns, rowsOf, rowVersion } from '../../mapping/rows.js';
import { kindOf } from './schemas.js';

/**
 * A CDEvent reports one step of an entity's lifecycle (a run queued, started, finished), not the whole
 * entity: each event becomes a row version stamped with the event's own time, and a lifecycle rank
 * breaks ties within a millisecond. A row holds what its event says; facts only an earlier event
 * carried (a run's start time once it has finished) are not repeated by the later one.
 */

const ref = z.object({ id: z.string(), source: z.string().optional() });

/** The fields every mapper reads; the content is read by each kind's own schema. */
const envelope = z.object({
  context: z.object({ id: z.string(), source: z.string(), type: z.string(), timestamp: z.string() }),
  subject: z.object({ id: z.string(), source: z.string().optional(), content: z.record(z.string(), z.unknown()) }),
});

interface Event {
  /** 'pipelinerun', 'service' ... */
  subject: string;
  /** 'queued', 'deployed' ... */
  predicate: string;
  /** The source the subject id is unique within. */
  source: string;
  id: string;
  contextId: string;
  at: string;
  content: Record<string, unknown>;
}

function cdevent(event: RawEvent): Event {
  const e = parsePayload(envelope, event.data, event);
  const kind = kindOf(e.context.type);
  if (kind === undefined)
    throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field 'context.type': unsupported '${e.context.type}'`);
  const [subject, predicate] = kind.split('.') as [string, string];
  if (`cdevents.${subject}` !== event.type)
    throw new MappingError(
      'invalid_payload',
      `${event.type} ${event.subject}: field 'context.type': '${e.context.type}' is not a ${event.type}`,
    );
  return {
    subject,
    predicate,
    source: e.subject.source ?? e.context.source,
    id: e.subject.id,
    contextId: e.context.id,
    at: iso(e.context.timestamp, 'context.timestamp'),
    content: e.subject.content,
  };
}

const content = <S extends z.ZodType>(schema: S, e: Event, event: RawEvent): z.infer<S> =>
  parsePayload(schema, e.content, event, 'subject.content');

/** The lifecycle rank of a predicate inside one millisecond. */
const RANK: Record<string, number> = {
  queued: 0,
  created: 0,
  detected: 0,
  published: 0,
  started: 1,
  updated: 1,
  reviewed: 1,
  reported: 1,
  finished: 2,
  merged: 2,
  abandoned: 2,
  resolved: 2,
  closed: 2,
  deployed: 2,
  upgraded: 2,
  rolledback: 2,
  removed: 3,
};
const version = (e: Event): number => rowVersion(e.at, RANK[e.predicate] ?? 0);

/**
 * A git commit in a package URL: the purl version when it is a commit id (pkg:golang/x@234fd47e),
 * else a vcs_url qualifier ending in @<commit>. Image digests (sha256:...) are not commits.
 */
export function shaOfPurl(purl: string | undefined): string {
  if (purl === undefined || !purl.startsWith('pkg:')) return '';
  const [main = '', query = ''] = purl.split('#')[0]!.split('?');
  const at = main.lastIndexOf('@');
  const v = at < 0 ? '' : decodeURIComponent(main.slice(at + 1));
  if (/^[0-9a-f]{7,40}$/i.test(v)) return v.toLowerCase();
  const vcs = new URLSearchParams(query).get('vcs_url');
  const m = vcs === null ? null : /@([0-9a-f]{7,40})$/i.exec(vcs);
  return m === null ? '' : m[1]!.toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Pipeline runs, task runs, builds, test suite runs

const RUN_STATUS: Record<string, RunStatus> = { queued: 'queued', started: 'running', finished: 'done' };

/** CDEvents outcomes -> results. 'error' (the run could not complete, e.g. its infrastructure failed) is a failure. */
const OUTCOME: Record<string, RunResult> = { success: 'success', failure: 'failure', error: 'failure', cancel: 'cancelled' };

const runTimes = (e: Event) => ({
  started_at: e.predicate === 'started' ? e.at : null,
  finished_at: e.predicate === 'finished' ? e.at : null,
});

const pipelineRunContent = z.object({ pipelineName: z.string().optional(), uri: z.string().optional(), outcome: z.string().optional() });

function runRow(event: RawEvent, ctx: MapContext, e: Event, pipeline: string, name: string, url: string, outcome: string) {
  const service = pipeline === '' ? undefined : ctx.owners.service({ pipeline });
  return {
    source: 'cdevents',
    run_id: event.subject,
    repo: '',
    pipeline,
    name,
    sha: '',
    branch: '',
    trigger: '',
    status: RUN_STATUS[e.predicate] ?? 'done',
    result: OUTCOME[outcome] ?? '',
    raw_result: outcome,
    attempt: 1,
    // Only the queued event knows when the run was created; a later one stands in with its own time.
    created_at: e.at,
    ...runTimes(e),
    service: service?.service ?? '',
    ...ownerColumns(ctx.owners.owner('ciPipeline', pipeline) ?? service),
    url,
    raw_event_id: event.id,
    version: version(e),
  } as const;
}

const mapPipelineRun: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(pipelineRunContent, e, event);
  // A finished or queued event may omit the pipeline name; the run then has no pipeline in its row.
  const pipeline = c.pipelineName === undefined || c.pipelineName === '' ? '' : `cdevents:${e.source} ${c.pipelineName}`;
  return ok([rowsOf('pipeline_runs', [runRow(event, ctx, e, pipeline, c.pipelineName ?? '', c.uri ?? '', c.outcome ?? '')])]);
};

/** A build is a run of the source's build pipeline. */
const mapBuild: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(z.object({ artifactId: z.string().optional() }), e, event);
  const row = runRow(event, ctx, e, `cdevents:${e.source} build`, 'build', '', '');
  return ok([rowsOf('pipeline_runs', [{ ...row, sha: shaOfPurl(c.artifactId) }])]);
};

const taskRunContent = z.object({
  taskName: z.string().optional(),
  uri: z.string().optional(),
  outcome: z.string().optional(),
  pipelineRun: ref.optional(),
});

const mapTaskRun: Mapper = (event) => {
  const e = cdevent(event);
  const c = content(taskRunContent, e, event);
  const run = c.pipelineRun;
  return ok([
    rowsOf('pipeline_jobs', [
      {
        source: 'cdevents',
        job_id: event.subject,
        run_id: run === undefined ? '' : subjects.cdeventsSubject(run.source ?? e.source, run.id),
        repo: '',
        // A task run names its pipeline run, not the pipeline: the run's row has it.
        pipeline: '',
        name: c.taskName ?? '',
        sha: '',
        status: RUN_STATUS[e.predicate] ?? 'done',
        result: OUTCOME[c.outcome ?? ''] ?? '',
        raw_result: c.outcome ?? '',
        ...runTimes(e),
        team: '',
        program: '',
        url: c.uri ?? '',
        raw_event_id: event.id,
        version: version(e),
      },
    ]),
  ]);
};

const testSuiteRunContent = z.object({
  outcome: z.string(),
  testSuite: z.object({ id: z.string(), name: z.string().optional(), uri: z.string().optional() }).optional(),
});

/** A test suite run is a CI step: a job of no known pipeline run, named by its suite. */
const mapTestSuiteRun: Mapper = (event) => {
  const e = cdevent(event);
  const c = content(testSuiteRunContent, e, event);
  return ok([
    rowsOf('pipeline_jobs', [
      {
        source: 'cdevents',
        job_id: event.subject,
        run_id: '',
        repo: '',
        pipeline: '',
        name: c.testSuite?.name ?? c.testSuite?.id ?? '',
        sha: '',
        status: RUN_STATUS[e.predicate] ?? 'done',
        result: OUTCOME[c.outcome] ?? '',
        raw_result: c.outcome,
        ...runTimes(e),
        team: '',
        program: '',
        url: c.testSuite?.uri ?? '',
        raw_event_id: event.id,
        version: version(e),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Changes

const CHANGE_STATE: Record<string, PullRequestState> = {
  created: 'open',
  updated: 'open',
  reviewed: 'open',
  merged: 'merged',
  abandoned: 'closed',
};

/**
 * The number of a change: its id when the id is a number (a pull request number), else a stable
 * digest of the id (48 bits), so every change still has its own row.
 */
function changeNumber(id: string): number {
  if (/^\d{1,15}$/.test(id)) return Number(id);
  return Number.parseInt(createHash('sha256').update(id).digest('hex').slice(0, 12), 16);
}

const changeContent = z.object({ repository: ref.optional(), description: z.string().optional() });

const mapChange: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(changeContent, e, event);
  const state = CHANGE_STATE[e.predicate];
  if (state === undefined) throw new MappingError('invalid_payload', `${event.type} ${event.subject}: unknown predicate '${e.predicate}'`);
  // A change names its repository; without one, the source that reports it stands in.
  const repo = (c.repository?.id ?? e.source).toLowerCase();
  return ok([
    rowsOf('pull_requests', [
      {
        source: 'cdevents',
        repo,
        number: changeNumber(e.id),
        pr_id: event.subject,
        // The description (change.created only) is the change's only text.
        title: c.description ?? '',
        author: '',
        state,
        raw_state: e.predicate,
        draft: 0,
        base_branch: '',
        head_branch: '',
        head_sha: '',
        merge_commit_sha: '',
        labels: [],
        created_at: e.at,
        updated_at: e.at,
        merged_at: state === 'merged' ? e.at : null,
        closed_at: state === 'open' ? null : e.at,
        ...ownerColumns(ctx.owners.owner('repository', repo)),
        url: '',
        raw_event_id: event.id,
        is_deleted: 0,
        version: version(e),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Services: each deployed / upgraded / rolledback / removed / published event is one deployment

/**
 * A service event reports a change that has happened: deployed, upgraded, rolled back and published
 * (made reachable) succeeded; removed takes the service out of the environment (inactive).
 */
const SERVICE_STATE: Record<string, DeploymentState> = {
  deployed: 'success',
  upgraded: 'success',
  rolledback: 'success',
  published: 'success',
  removed: 'inactive',
};

const serviceContent = z.object({ environment: ref.optional(), artifactId: z.string().optional() });

const mapService: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(serviceContent, e, event);
  const state = SERVICE_STATE[e.predicate];
  if (state === undefined) throw new MappingError('invalid_payload', `${event.type} ${event.subject}: unknown predicate '${e.predicate}'`);
  const service = ctx.owners.service({ name: e.id });
  const environment = c.environment?.id ?? '';
  // The subject is the service; the event is the deployment.
  const deploymentId = `${event.subject} ${e.contextId}`;
  return ok([
    rowsOf('deployments', [
      {
        source: 'cdevents',
        deployment_id: deploymentId,
        repo: '',
        service: service?.service ?? e.id,
        environment,
        is_production: isProduction(environment, ctx.model) ? 1 : 0,
        sha: shaOfPurl(c.artifactId),
        ref: '',
        description: c.artifactId ?? '',
        is_rollback: e.predicate === 'rolledback' ? 1 : 0,
        created_at: e.at,
        ...ownerColumns(service ?? ctx.owners.owner('service', e.id)),
        url: '',
        raw_event_id: event.id,
        version: version(e),
      },
    ]),
    rowsOf('deployment_statuses', [
      {
        source: 'cdevents',
        deployment_id: deploymentId,
        status_id: e.predicate,
        state,
        raw_state: e.predicate,
        at: e.at,
        raw_event_id: event.id,
        version: version(e),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Incidents

const INCIDENT_STATUS: Record<string, IncidentStatus> = { detected: 'triggered', reported: 'triggered', resolved: 'resolved' };

const incidentContent = z.object({ description: z.string().optional(), service: ref.optional(), ticketURI: z.string().optional() });

const mapIncident: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(incidentContent, e, event);
  const status = INCIDENT_STATUS[e.predicate];
  if (status === undefined) throw new MappingError('invalid_payload', `${event.type} ${event.subject}: unknown predicate '${e.predicate}'`);
  const service = c.service === undefined ? undefined : ctx.owners.service({ name: c.service.id });
  return ok([
    rowsOf('incidents', [
      {
        source: 'cdevents',
        incident_id: event.subject,
        number: e.id,
        title: c.description ?? '',
        service_id: c.service?.id ?? '',
        service: service?.service ?? '',
        // The spec gives an incident no urgency or severity.
        urgency: '',
        severity: '',
        raw_severity: '',
        status,
        raw_status: e.predicate,
        created_at: e.at,
        acknowledged_at: null,
        resolved_at: status === 'resolved' ? e.at : null,
        description: c.description ?? '',
        ...ownerColumns(service ?? ctx.owners.owner('service', c.service?.id)),
        url: c.ticketURI ?? '',
        raw_event_id: event.id,
        version: version(e),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Tickets

/** Ticket types (free text in the spec) -> work item kinds, case-insensitive; others are 'other'. */
const TICKET_KIND: Record<string, WorkItemKind> = {
  bug: 'bug',
  defect: 'bug',
  story: 'story',
  feature: 'story',
  task: 'task',
  subtask: 'subtask',
  'sub-task': 'subtask',
  epic: 'epic',
  risk: 'risk',
  decision: 'decision',
  action: 'action',
};

/** Ticket predicates -> status categories. An update does not say whether work started: still to do. */
const TICKET_CATEGORY: Record<string, StatusCategory> = { created: 'todo', updated: 'todo', closed: 'done' };

/** Common priority names -> rank (1 highest .. 5 lowest); other names rank 0 (unknown). */
const PRIORITY_RANK: Record<string, number> = {
  blocker: 1,
  critical: 1,
  highest: 1,
  urgent: 1,
  high: 2,
  major: 2,
  medium: 3,
  normal: 3,
  low: 4,
  minor: 4,
  lowest: 5,
  trivial: 5,
};

const ticketContent = z.object({
  summary: z.string().optional(),
  ticketType: z.string().optional(),
  group: z.string().optional(),
  priority: z.string().optional(),
  labels: z.array(z.string()).optional(),
  milestone: z.string().optional(),
  resolution: z.string().optional(),
  uri: z.string(),
});

const mapTicket: Mapper = (event, ctx) => {
  const e = cdevent(event);
  const c = content(ticketContent, e, event);
  const category = TICKET_CATEGORY[e.predicate];
  if (category === undefined)
    throw new MappingError('invalid_payload', `${event.type} ${event.subject}: unknown predicate '${e.predicate}'`);
  const type = c.ticketType ?? '';
  const priority = c.priority ?? '';
  return ok([
    rowsOf('work_items', [
      {
        source: 'cdevents',
        item_id: event.subject,
        key: e.id,
        project: c.group ?? '',
        type,
        kind: TICKET_KIND[type.toLowerCase()] ?? 'other',
        status: e.predicate,
        status_category: category,
        priority,
        priority_rank: PRIORITY_RANK[priority.toLowerCase()] ?? 0,
        // Creator and assignees are free-text names of an unknown system: not stored.
        assignee: '',
        reporter: '',
        components: [],
        labels: c.labels ?? [],
        due_date: null,
        start_date: null,
        fix_versions: c.milestone === undefined ? [] : [c.milestone],
        affects_versions: [],
        sprints: [],
        parent_id: '',
        story_points: null,
        original_estimate_seconds: null,
        time_spent_seconds: null,
        severity: '',
        found_in: '',
        created_at: e.at,
        updated_at: e.at,
        resolved_at: e.predicate === 'closed' ? e.at : null,
        resolution: c.resolution ?? '',
        summary: c.summary ?? '',
        // The ticket's group is the nearest thing to a project the org mapping could name.
        ...ownerColumns(ctx.owners.owner('jiraProject', c.group)),
        url: c.uri,
        raw_event_id: event.id,
        is_deleted: 0,
        version: version(e),
      },
    ]),
  ]);
};

// ---------------------------------------------------------------------------------------------
// Kinds no table holds

const dropWith =
  (reason: string): Mapper =>
  () =>
    drop(reason);

/**
 * Each CDEvent is one step of its entity's life, and the entity's row keeps only the latest: the step
 * and its time also go to lifecycle_events, so a finished run keeps when it was queued and started, a
 * resolved incident when it was detected. (Deployments keep every step as deployment_statuses.)
 */
function withLifecycle<T extends DomainTable>(
  mapper: Mapper,
  table: T,
  entity: LifecycleEntity,
  key: (row: DomainTables[T]) => string,
): Mapper {
  return (event, ctx, notes) => {
    const out = mapper(event, ctx, notes);
    if (out.kind !== 'ok') return out;
    const row = out.rows.find((t) => t.table === table)?.rows[0] as DomainTables[T] | undefined;
    if (row === undefined) return out;
    const e = cdevent(event);
    const step: LifecycleEventRow = {
      source: 'cdevents',
      entity,
      entity_id: key(row),
      step: e.predicate,
      at: e.at,
      raw_event_id: event.id,
      version: version(e),
    };
    return ok([...out.rows, rowsOf('lifecycle_events', [step])], out.notes);
  };
}

export const cdeventsMappers: SourceMappers = {
  source: 'cdevents',
  mappers: {
    'cdevents.pipelinerun': withLifecycle(mapPipelineRun, 'pipeline_runs', 'pipeline_run', (r) => r.run_id),
    'cdevents.taskrun': withLifecycle(mapTaskRun, 'pipeline_jobs', 'pipeline_job', (r) => r.job_id),
    'cdevents.build': withLifecycle(mapBuild, 'pipeline_runs', 'pipeline_run', (r) => r.run_id),
    'cdevents.change': withLifecycle(mapChange, 'pull_requests', 'pull_request', (r) => `${r.repo}#${r.number}`),
    'cdevents.service': mapService,
    'cdevents.incident': withLifecycle(mapIncident, 'incidents', 'incident', (r) => r.incident_id),
    'cdevents.ticket': withLifecycle(mapTicket, 'work_items', 'work_item', (r) => r.item_id),
    'cdevents.testsuiterun': withLifecycle(mapTestSuiteRun, 'pipeline_jobs', 'pipeline_job', (r) => r.job_id),
    // No domain table describes environments; deployments carry the environment they went to.
    'cdevents.environment': dropWith('an environment event carries no domain fact: deployments name their environment'),
    // An artifact is a build output; what reached users is reported by the service events.
    'cdevents.artifact': dropWith('an artifact event carries no domain fact: service events report deployments'),
    // One row per test case would drown the jobs; the suite run carries the outcome.
    'cdevents.testcaserun': dropWith('a test case run is below the granularity of pipeline jobs: its suite run is mapped'),
    // Spec types the model does not use (approval, branch, repository, test output, test runs queued or
    // started): kept in raw_events, dropped here with the type in the reason.
    'cdevents.event': (event) => {
      const type = (event.data as { context?: { type?: unknown } } | null)?.context?.type;
      return drop(`a ${typeof type === 'string' ? type : 'generic CDEvent'} event carries no domain fact the model uses`);
    },
  },
};
