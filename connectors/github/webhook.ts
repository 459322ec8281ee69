import { z } from 'zod';
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { hmacMatches, WebhookPayloadError } from '../core/webhooks.js';
import type { WebhookSource } from '../core/types.js';
import {
  deploymentSchema,
  deploymentStatusSchema,
  issueSchema,
  jobSchema,
  milestoneSchema,
  pullSchema,
  releaseSchema,
  repoSchema,
  reviewSchema,
  runSchema,
  toRecord,
} from './records.js';

const delivery = z.object({ repository: repoSchema });

/** Each event's delivery schema, built once: a schema is compiled on its first parse, so one built per delivery costs that each time. */
const DELIVERIES = {
  pull_request: delivery.extend({ pull_request: pullSchema }),
  pull_request_review: delivery.extend({ pull_request: z.object({ number: z.number().int() }), review: reviewSchema }),
  push: delivery.extend({
    ref: z.string(),
    commits: z.array(z.object({ id: z.string().min(7), timestamp: z.string().min(1) })).default([]),
  }),
  deployment: delivery.extend({ deployment: deploymentSchema }),
  deployment_status: delivery.extend({ deployment: z.object({ id: z.number().int() }), deployment_status: deploymentStatusSchema }),
  release: delivery.extend({ release: releaseSchema, action: z.string().optional() }),
  workflow_run: delivery.extend({ workflow_run: runSchema }),
  workflow_job: delivery.extend({ workflow_job: jobSchema }),
  issues: delivery.extend({ issue: issueSchema, action: z.string().optional() }),
  milestone: delivery.extend({ milestone: milestoneSchema, action: z.string().optional() }),
  repository: delivery.extend({ action: z.string().optional() }),
};

function parse<T>(schema: z.ZodType<T>, body: unknown, event: string): T {
  const r = schema.safeParse(body);
  if (!r.success) throw new WebhookPayloadError(`GitHub '${event}' delivery lacks what its records need: ${z.prettifyError(r.error)}`);
  return r.data;
}

type Mapper = (body: unknown, event: string) => SourceRecord[];

/** The records of each event GitHub delivers; the payload of each is the whole delivery body. */
const EVENTS: Record<string, Mapper> = {
  pull_request: (body, event) => {
    const d = parse(DELIVERIES.pull_request, body, event);
    const name = d.repository.full_name;
    return [toRecord.pullRequest(name, d.pull_request, body as Payload), toRecord.repository(d.repository, body as Payload)];
  },
  pull_request_review: (body, event) => {
    const d = parse(DELIVERIES.pull_request_review, body, event);
    const at = d.review.submitted_at;
    return at === null || at === undefined
      ? []
      : [toRecord.review(d.repository.full_name, d.pull_request.number, d.review, at, body as Payload)];
  },
  push: (body, event) => {
    const d = parse(DELIVERIES.push, body, event);
    // Only the default branch: the commits stream pulls that branch, so both give the same records.
    if (d.repository.default_branch === undefined || d.ref !== `refs/heads/${d.repository.default_branch}`) return [];
    return d.commits.map((c) => toRecord.commit(d.repository.full_name, c.id, c.timestamp, body as Payload));
  },
  deployment: (body, event) => {
    const d = parse(DELIVERIES.deployment, body, event);
    return [toRecord.deployment(d.repository.full_name, d.deployment, body as Payload)];
  },
  deployment_status: (body, event) => {
    const d = parse(DELIVERIES.deployment_status, body, event);
    return [toRecord.deploymentStatus(d.repository.full_name, d.deployment.id, d.deployment_status, body as Payload)];
  },
  release: (body, event) => {
    const d = parse(DELIVERIES.release, body, event);
    return [toRecord.release(d.repository.full_name, d.release, body as Payload, d.action === 'deleted')];
  },
  workflow_run: (body, event) => {
    const d = parse(DELIVERIES.workflow_run, body, event);
    return [toRecord.workflowRun(d.repository.full_name, d.workflow_run, body as Payload)];
  },
  workflow_job: (body, event) => {
    const d = parse(DELIVERIES.workflow_job, body, event);
    return [toRecord.workflowJob(d.repository.full_name, d.workflow_job, body as Payload)];
  },
  /**
   * An issue as it is after the change. A pull request's milestone changes come as issues deliveries too:
   * they are not work items. The history (closed, reopened, milestone moves) comes from the issue events
   * stream, which has each event's own id and time; a delivery has neither.
   */
  issues: (body, event) => {
    const d = parse(DELIVERIES.issues, body, event);
    if (d.issue.pull_request !== undefined && d.issue.pull_request !== null) return [];
    return [toRecord.issue(d.repository.full_name, d.issue, body as Payload, d.action === 'deleted')];
  },
  milestone: (body, event) => {
    const d = parse(DELIVERIES.milestone, body, event);
    return [toRecord.milestone(d.repository.full_name, d.milestone, body as Payload, d.action === 'deleted')];
  },
  repository: (body, event) => {
    const d = parse(DELIVERIES.repository, body, event);
    return [toRecord.repository(d.repository, body as Payload, d.action === 'deleted')];
  },
};

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

/**
 * GitHub signs the raw body with the webhook secret (X-Hub-Signature-256: sha256=<hex HMAC>). It
 * signs no timestamp, so there is no replay window; a delivery sent again has the same event ids.
 */
export const githubWebhook: WebhookSource = {
  source: 'github',
  path: 'github',
  enabled: (config) => config.secrets.githubWebhookSecret !== undefined,
  verify(rawBody, headers, config) {
    const secret = config.secrets.githubWebhookSecret;
    if (secret === undefined) return { ok: false, reason: 'no GitHub webhook secret is configured (PTEL_GITHUB_WEBHOOK_SECRET)' };
    const signature = one(headers['x-hub-signature-256']);
    if (signature === undefined || signature === '') return { ok: false, reason: 'missing X-Hub-Signature-256 header' };
    return hmacMatches(secret, rawBody, signature)
      ? { ok: true }
      : { ok: false, reason: 'X-Hub-Signature-256 does not match the body and the configured secret' };
  },
  records(request) {
    const event = one(request.headers['x-github-event']);
    if (event === undefined) throw new WebhookPayloadError('missing X-GitHub-Event header');
    const map = EVENTS[event];
    // ping and events the pipeline has no use for: accepted, nothing published.
    return map === undefined ? [] : map(request.body, event);
  },
};
