import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { subjects } from '../core/entities.js';
import type { WebhookSource } from '../core/types.js';
import { verifyBearer, WebhookPayloadError } from '../core/webhooks.js';
import { buildVersion } from './builds.js';

/**
 * What POST /webhooks/jenkins accepts: the JSON of the Notification plugin (format JSON, protocol
 * HTTP), or the same shape sent by a post-build step:
 *
 *   { "name": "deploy", "url": "job/payments/job/deploy/",
 *     "build": { "full_url": "https://ci.example.com/job/payments/job/deploy/42/", "number": 42,
 *                "phase": "STARTED" | "COMPLETED" | "FINALIZED" | "QUEUED",
 *                "status": "SUCCESS" | "FAILURE" | "UNSTABLE" | "ABORTED" | "NOT_BUILT" (once completed),
 *                "timestamp": 1767225600000 (start, ms), "duration": 95000 (optional),
 *                "url": "job/payments/job/deploy/42/",
 *                "scm": { "url": "...", "branch": "origin/main", "commit": "<sha>" }, ... } }
 *
 * `build.url` (relative to the Jenkins root) gives the job path; `build.timestamp` is required, as
 * it is part of the build's version. QUEUED deliveries (no build yet) give no records.
 */
const deliverySchema = z.looseObject({
  name: z.string().optional(),
  url: z.string().optional(),
  build: z.looseObject({
    full_url: z.string().optional(),
    number: z.number().int().nonnegative(),
    phase: z.string().min(1),
    status: z.string().nullish(),
    timestamp: z.number().int().nonnegative().optional(),
    duration: z.number().nonnegative().optional(),
    url: z.string().min(1),
  }),
});

/** 'job/a/job/b/42/' -> 'a/b'. */
function jobPathOf(buildUrl: string): string {
  const segments = new URL(buildUrl, 'http://jenkins.invalid/').pathname.split('/').filter((s) => s !== '');
  const names: string[] = [];
  for (let i = 0; i < segments.length - 1; i++) if (segments[i] === 'job') names.push(decodeURIComponent(segments[++i]!));
  return names.join('/');
}

/** The host of subjects: the configured Jenkins (as a pull names it), else the delivery's own URL. */
function hostOf(config: Config, fullUrl: string | undefined): string {
  const base = config.sources.jenkins?.baseUrl ?? fullUrl;
  if (base === undefined) throw new WebhookPayloadError('build.full_url is missing and sources.jenkins.baseUrl is not configured');
  return new URL(base).host;
}

export function jenkinsWebhookRecords(body: unknown, config: Config, receivedAt: Date): SourceRecord[] {
  const parsed = deliverySchema.safeParse(body);
  if (!parsed.success) throw new WebhookPayloadError(`not a Jenkins build notification: ${parsed.error.issues[0]?.message ?? ''}`);
  const { build } = parsed.data;
  const phase = build.phase.toUpperCase();
  if (phase === 'QUEUED') return [];
  if (build.timestamp === undefined) throw new WebhookPayloadError('build.timestamp (the start, in ms) is missing');
  const jobPath = jobPathOf(build.url);
  if (jobPath === '') throw new WebhookPayloadError(`build.url '${build.url}' names no job (expected job/<name>/.../<number>/)`);
  const running = phase === 'STARTED' || build.status === undefined || build.status === null || build.status === '';
  const end = build.duration !== undefined ? build.timestamp + build.duration : receivedAt.getTime();
  return [
    {
      source: 'jenkins',
      type: 'jenkins.build',
      subject: subjects.jenkinsBuild(hostOf(config, build.full_url), jobPath, build.number),
      version: buildVersion(build.timestamp, build.status, running),
      time: new Date(running ? build.timestamp : end).toISOString(),
      payload: body as object,
    },
  ];
}

export const jenkinsWebhook: WebhookSource = {
  source: 'jenkins',
  path: 'jenkins',
  enabled: (config) => (config.secrets.jenkinsWebhookToken ?? '') !== '',
  // Jenkins has no signed webhook: the sender presents `Authorization: Bearer <PTEL_JENKINS_WEBHOOK_TOKEN>`.
  verify: (_rawBody, headers, config) =>
    verifyBearer(headers, config.secrets.jenkinsWebhookToken || undefined, {
      unset: 'no Jenkins webhook token is configured',
      missing: 'missing Authorization: Bearer token',
      mismatch: 'the bearer token does not match',
    }),
  records: (request, config) => jenkinsWebhookRecords(request.body, config, request.receivedAt),
};
