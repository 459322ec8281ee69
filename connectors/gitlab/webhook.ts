import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { constantTimeEqual, WebhookPayloadError } from '../core/webhooks.js';
import type { WebhookRequest, WebhookSource } from '../core/types.js';
import { missingRequired } from '../../mapping/registry.js';
import { hostOf } from './client.js';
import { gitlabMappers } from './mapper.js';
import { deploymentRecord, issueRecord, jobRecord, mergeRequestRecord, pipelineRecord } from './records.js';

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected a timestamp');
const project = z.object({ path_with_namespace: z.string().min(1), web_url: z.string().optional() });

const pipelineHook = z.object({
  object_kind: z.literal('pipeline'),
  project,
  object_attributes: z.object({ id: z.number(), status: z.string(), created_at: time, finished_at: time.nullish() }),
  builds: z
    .array(z.object({ id: z.number(), status: z.string(), created_at: time, started_at: time.nullish(), finished_at: time.nullish() }))
    .nullish(),
});

/** Job hooks (object_kind 'build') of older GitLab versions carry no project object, only the repository's homepage. */
const jobHook = z.object({
  object_kind: z.literal('build'),
  build_id: z.number(),
  build_status: z.string(),
  build_created_at: time.nullish(),
  build_started_at: time.nullish(),
  build_finished_at: time.nullish(),
  project: project.optional(),
  repository: z.object({ homepage: z.string().min(1) }).optional(),
});

const deploymentHook = z.object({
  object_kind: z.literal('deployment'),
  project,
  deployment_id: z.number(),
  status: z.string(),
  status_changed_at: time,
});

const mergeRequestHook = z.object({
  object_kind: z.literal('merge_request'),
  project,
  object_attributes: z.object({ iid: z.number(), state: z.string(), updated_at: time }),
});

/** Issue deliveries (confidential ones too): the issue, whose `changes` give its state and milestone moves. */
const issueHook = z.object({
  object_kind: z.literal('issue'),
  project,
  object_attributes: z.object({ id: z.number(), iid: z.number(), state: z.string(), updated_at: time }),
});

function parse<T>(schema: z.ZodType<T>, body: unknown, kind: string): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new WebhookPayloadError(`GitLab ${kind} delivery: field '${issue?.path.join('.') ?? ''}' ${issue?.message ?? 'is invalid'}`);
  }
  return r.data;
}

/** The project path and the instance host of a delivery; the host of the configured instance wins so pulls and webhooks agree. */
function locate(
  config: Config,
  p: { path_with_namespace: string; web_url?: string | undefined } | undefined,
  homepage?: string,
): { host: string; path: string } {
  const configured = config.sources.gitlab !== undefined ? hostOf(config.sources.gitlab.baseUrl) : undefined;
  if (p !== undefined) return { host: configured ?? hostOf(p.web_url ?? 'https://gitlab.com'), path: p.path_with_namespace };
  if (homepage === undefined)
    throw new WebhookPayloadError("GitLab job delivery: field 'project.path_with_namespace' is missing (and no 'repository.homepage')");
  let url: URL;
  try {
    url = new URL(homepage);
  } catch {
    throw new WebhookPayloadError("GitLab job delivery: field 'repository.homepage' is not a URL");
  }
  return { host: configured ?? url.host.toLowerCase(), path: url.pathname.replace(/^\/+|\/+$/g, '') };
}

type Mapper = (body: unknown, config: Config, receivedAt: Date) => SourceRecord[];

/** Deliveries by object_kind; kinds not listed (push, tag_push, note, release ...) are accepted and dropped. */
const MAPPERS: Record<string, Mapper> = {
  pipeline: (body, config) => {
    const h = parse(pipelineHook, body, 'pipeline');
    const { host, path } = locate(config, h.project);
    const p = h.object_attributes;
    const records = [pipelineRecord(host, path, p, body, p.finished_at ?? p.created_at)];
    // The pipeline hook lists its jobs: each becomes a job version (the payload stays the whole delivery).
    for (const b of h.builds ?? [])
      records.push(jobRecord(host, path, b.id, b.status, body, b.finished_at ?? b.started_at ?? b.created_at));
    return records;
  },
  build: (body, config, receivedAt) => {
    const h = parse(jobHook, body, 'job');
    const { host, path } = locate(config, h.project, h.repository?.homepage);
    const when = h.build_finished_at ?? h.build_started_at ?? h.build_created_at ?? receivedAt.toISOString();
    return [jobRecord(host, path, h.build_id, h.build_status, body, when)];
  },
  deployment: (body, config) => {
    const h = parse(deploymentHook, body, 'deployment');
    const { host, path } = locate(config, h.project);
    return [deploymentRecord(host, path, h.deployment_id, h.status, body, h.status_changed_at)];
  },
  merge_request: (body, config) => {
    const h = parse(mergeRequestHook, body, 'merge request');
    const { host, path } = locate(config, h.project);
    const a = h.object_attributes;
    return [mergeRequestRecord(host, path, a.iid, a.state, a.updated_at, body)];
  },
  issue: (body, config) => {
    const h = parse(issueHook, body, 'issue');
    const { host, path } = locate(config, h.project);
    const a = h.object_attributes;
    return [issueRecord(host, path, a.iid, a.state, a.updated_at, body)];
  },
};

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * GitLab project and group webhooks send the configured secret token verbatim in X-Gitlab-Token;
 * nothing is signed and there is no timestamp, so replays cannot be refused by age (a replay has the
 * same event ids and is stored once).
 */
export const gitlabWebhook: WebhookSource = {
  source: 'gitlab',
  path: 'gitlab',
  enabled: (config) => config.secrets.gitlabWebhookToken !== undefined,
  verify(_rawBody, headers, config) {
    const expected = config.secrets.gitlabWebhookToken;
    const received = header(headers, 'x-gitlab-token');
    if (expected === undefined) return { ok: false, reason: 'no GitLab webhook token is configured' };
    if (received === undefined || received === '') return { ok: false, reason: 'missing X-Gitlab-Token header' };
    return constantTimeEqual(expected, received) ? { ok: true } : { ok: false, reason: 'X-Gitlab-Token does not match' };
  },
  records(request: WebhookRequest, config) {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new WebhookPayloadError('GitLab delivery: the body is not a JSON object');
    const kind = (body as { object_kind?: unknown }).object_kind;
    if (typeof kind !== 'string') throw new WebhookPayloadError("GitLab delivery: field 'object_kind' is missing");
    const mapper = MAPPERS[kind];
    return mapper === undefined ? [] : mapper(body, config, request.receivedAt);
  },
  check: (record) => missingRequired(gitlabMappers, record),
};
