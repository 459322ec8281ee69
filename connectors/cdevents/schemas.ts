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

const TYPE = /^dev\.cdevents\.([a-z]+)\.([a-z]+)\.(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$/;

/** The accepted kind of a type string: same major.minor as the spec's version, any patch. */
export function kindOf(type: string): CdeventKind | undefined {
  const m = TYPE.exec(type);
  if (m === null) return undefined;
  const kind = `${m[1]}.${m[2]}`;
  if (!(kind in CDEVENT_TYPES)) return undefined;
  const [major, minor] = CDEVENT_TYPES[kind as CdeventKind].version.split('.');
  return m[3] === major && m[4] === minor ? (kind as CdeventKind) : undefined;
}

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
