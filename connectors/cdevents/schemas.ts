import { z } from 'zod';

/**
 * The CDEvents this pipeline accepts, written from the CDEvents specification (0.6.0-draft schemas;
 * the event versions below are the ones that draft defines, accepted at any patch level). Objects are
 * strict because the spec's schemas forbid additional properties.
 */
const text = z.string().min(1);
const ref = z.strictObject({ id: text, source: text.optional() });
const outcome = z.enum(['success', 'failure', 'cancel', 'error']);
const severity = z.enum(['low', 'medium', 'high', 'critical']);

export const contextSchema = z.strictObject({
  specversion: text,
  id: text,
  source: text,
  type: text,
  timestamp: z.iso.datetime({ offset: true }),
  schemaUri: text.optional(),
  chainId: text.optional(),
  links: z.array(z.record(z.string(), z.unknown())).optional(),
});

const pipelineRun = { pipelineName: z.string().optional(), uri: z.string().optional() };
const taskRun = { taskName: z.string().optional(), uri: z.string().optional(), pipelineRun: ref.optional() };
const change = { repository: ref.optional() };
const deployed = { environment: ref, artifactId: text };
const incident = { description: z.string().optional(), environment: ref, service: ref.optional(), artifactId: z.string().optional() };
const testCase = z.strictObject({
  id: text,
  version: z.string().optional(),
  name: z.string().optional(),
  type: z.string().optional(),
  uri: z.string().optional(),
});
const testSuite = z.strictObject({ id: text, version: z.string().optional(), name: z.string().optional(), uri: z.string().optional() });
const ticket = {
  summary: z.string().optional(),
  ticketType: z.string().optional(),
  group: z.string().optional(),
  creator: z.string().optional(),
  assignees: z.array(z.string()).optional(),
  priority: z.string().optional(),
  labels: z.array(z.string()).optional(),
  milestone: z.string().optional(),
  uri: text,
};

/** `<subject>.<predicate>` -> the event version of the spec, and the subject content's schema. */
export const CDEVENT_TYPES = {
  'pipelinerun.queued': { version: '0.3.0', content: z.strictObject(pipelineRun) },
  'pipelinerun.started': { version: '0.3.0', content: z.strictObject({ pipelineName: text, uri: text }) },
  'pipelinerun.finished': {
    version: '0.3.0',
    content: z.strictObject({ ...pipelineRun, outcome: outcome.optional(), errors: z.string().optional() }),
  },
  'taskrun.started': { version: '0.3.0', content: z.strictObject(taskRun) },
  'taskrun.finished': {
    version: '0.3.0',
    content: z.strictObject({ ...taskRun, outcome: outcome.optional(), errors: z.string().optional() }),
  },
  'build.queued': { version: '0.3.0', content: z.strictObject({}) },
  'build.started': { version: '0.3.0', content: z.strictObject({}) },
  'build.finished': { version: '0.3.0', content: z.strictObject({ artifactId: z.string().optional() }) },
  'change.created': { version: '0.4.0', content: z.strictObject({ ...change, description: z.string().optional() }) },
  'change.updated': { version: '0.3.0', content: z.strictObject(change) },
  'change.reviewed': { version: '0.3.0', content: z.strictObject(change) },
  'change.merged': { version: '0.3.0', content: z.strictObject(change) },
  'change.abandoned': { version: '0.3.0', content: z.strictObject(change) },
  'service.deployed': { version: '0.3.0', content: z.strictObject(deployed) },
  'service.upgraded': { version: '0.3.0', content: z.strictObject(deployed) },
  'service.rolledback': { version: '0.3.0', content: z.strictObject(deployed) },
  'service.removed': { version: '0.3.0', content: z.strictObject({ environment: ref.optional() }) },
  'service.published': { version: '0.3.0', content: z.strictObject({ environment: ref.optional() }) },
  'environment.created': { version: '0.3.0', content: z.strictObject({ name: z.string().optional(), uri: z.string().optional() }) },
  'environment.modified': { version: '0.3.0', content: z.strictObject({ name: z.string().optional(), uri: z.string().optional() }) },
  'environment.deleted': { version: '0.3.0', content: z.strictObject({ name: z.string().optional() }) },
  'incident.detected': { version: '0.3.0', content: z.strictObject(incident) },
  'incident.reported': { version: '0.3.0', content: z.strictObject({ ...incident, ticketURI: text }) },
  'incident.resolved': { version: '0.3.0', content: z.strictObject(incident) },
  'artifact.packaged': {
    version: '0.3.0',
    content: z.strictObject({ change: ref, sbom: z.strictObject({ uri: text }).optional() }),
  },
  'artifact.published': {
    version: '0.3.0',
    content: z.strictObject({ sbom: z.strictObject({ uri: text }).optional(), user: z.string().optional() }),
  },
  'testcaserun.finished': {
    version: '0.3.0',
    content: z.strictObject({
      outcome,
      severity: severity.optional(),
      reason: z.string().optional(),
      environment: ref,
      testSuiteRun: ref.optional(),
      testCase: testCase.optional(),
    }),
  },
  'testsuiterun.finished': {
    version: '0.3.0',
    content: z.strictObject({
      environment: ref,
      testSuite: testSuite.optional(),
      outcome,
      severity: severity.optional(),
      reason: z.string().optional(),
    }),
  },
  'ticket.created': { version: '0.2.0', content: z.strictObject({ ...ticket, summary: text, creator: text }) },
  'ticket.updated': { version: '0.2.0', content: z.strictObject({ ...ticket, updatedBy: z.string().optional() }) },
  'ticket.closed': { version: '0.2.0', content: z.strictObject({ ...ticket, resolution: text, updatedBy: z.string().optional() }) },
} as const;

export type CdeventKind = keyof typeof CDEVENT_TYPES;

/**
 * The spec's other event types (same draft), which the domain model has no use for: accepted when
 * valid and dropped with a counted reason, as other sources' unused event types are. Their content
 * is not read, so only the envelope is checked.
 */
export const UNUSED_CDEVENT_TYPES: Record<string, string> = {
  'approval.created': '0.1.0',
  'approval.updated': '0.1.0',
  'approval.closed': '0.1.0',
  'artifact.deleted': '0.2.0',
  'artifact.downloaded': '0.2.0',
  'artifact.signed': '0.3.0',
  'branch.created': '0.3.0',
  'branch.deleted': '0.3.0',
  'repository.created': '0.3.0',
  'repository.modified': '0.3.0',
  'repository.deleted': '0.3.0',
  'testcaserun.queued': '0.3.0',
  'testcaserun.started': '0.3.0',
  'testcaserun.skipped': '0.2.0',
  'testoutput.published': '0.3.0',
  'testsuiterun.queued': '0.3.0',
  'testsuiterun.started': '0.3.0',
};

const TYPE = /^dev\.cdevents\.([a-z]+)\.([a-z]+)\.(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** `<subject>.<predicate>` of a type string whose major.minor is `versions`' entry for it (any patch). */
function matching(type: string, versions: (kind: string) => string | undefined): string | undefined {
  const m = TYPE.exec(type);
  if (m === null) return undefined;
  const kind = `${m[1]}.${m[2]}`;
  const [major, minor] = versions(kind)?.split('.') ?? [];
  return major !== undefined && m[3] === major && m[4] === minor ? kind : undefined;
}

/** The accepted kind of a type string: same major.minor as the spec's version, any patch. */
export function kindOf(type: string): CdeventKind | undefined {
  return matching(type, (k) => (k in CDEVENT_TYPES ? CDEVENT_TYPES[k as CdeventKind].version : undefined)) as CdeventKind | undefined;
}

/** The kind of a spec event type the model does not use (see UNUSED_CDEVENT_TYPES), at its version. */
export function unusedKindOf(type: string): string | undefined {
  return matching(type, (k) => UNUSED_CDEVENT_TYPES[k]);
}

/** A CDEvent of an unused kind: the envelope every CDEvent has, its content not read. */
export const unusedEventSchema = z.strictObject({
  context: contextSchema,
  subject: z.strictObject({
    id: text,
    source: text.optional(),
    type: z.string().optional(),
    content: z.record(z.string(), z.unknown()),
  }),
  customData: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  customDataContentType: z.string().optional(),
});

/** The whole event of one kind: context, subject (with its content), and the optional custom data. */
export function eventSchema(kind: CdeventKind) {
  return z.strictObject({
    context: contextSchema,
    subject: z.strictObject({ id: text, source: text.optional(), type: z.string().optional(), content: CDEVENT_TYPES[kind].content }),
    customData: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
    customDataContentType: z.string().optional(),
  });
}

export type CdEvent = z.infer<ReturnType<typeof eventSchema>>;

/** A structured-mode CloudEvent carrying a CDEvent in `data`. */
export const structuredCloudEvent = z.object({
  specversion: z.literal('1.0'),
  id: text,
  source: text,
  type: text,
  data: z.unknown(),
});
