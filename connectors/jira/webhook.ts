import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../../infra/config/schema.js';
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import type { VerifyResult, WebhookRequest, WebhookSource } from '../core/types.js';
import { constantTimeEqual, hmacMatches, WebhookPayloadError } from '../core/webhooks.js';
import { missingRequired } from '../../mapping/registry.js';
import { jiraSite } from './client.js';
import { jiraMappers } from './mapper.js';
import { issueDeletedRecord, issueRecord, sprintRecord, versionRecord } from './records.js';
import * as S from './schemas.js';

const headerOf = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Jira Cloud admin webhooks saved with a secret sign the raw body: `X-Hub-Signature: sha256=<hex
 * HMAC-SHA256>` (WebSub style). Jira signs no timestamp, so a replay cannot be told apart by age; a
 * replayed delivery gives the same event ids and is stored once. Data Center sites whose webhooks
 * cannot sign may instead put a proxy in front that sends `Authorization: Bearer <secret>`.
 */
function verify(rawBody: Buffer, headers: IncomingHttpHeaders, config: Config): VerifyResult {
  const secret = config.secrets.jiraWebhookSecret;
  if (secret === undefined || secret === '')
    return { ok: false, reason: 'no Jira webhook secret is configured (PTEL_JIRA_WEBHOOK_SECRET)' };
  const signature = headerOf(headers, 'x-hub-signature');
  if (signature !== undefined) {
    return hmacMatches(secret, rawBody, signature) ? { ok: true } : { ok: false, reason: 'X-Hub-Signature does not match the body' };
  }
  if (config.sources.jira?.deployment === 'datacenter') {
    const auth = headerOf(headers, 'authorization');
    if (auth !== undefined && auth.startsWith('Bearer ') && constantTimeEqual(auth.slice('Bearer '.length).trim(), secret))
      return { ok: true };
    return { ok: false, reason: 'missing X-Hub-Signature and no valid Authorization bearer token' };
  }
  return { ok: false, reason: 'missing X-Hub-Signature header' };
}

function need<T>(value: T | undefined, event: string, what: string): T {
  if (value === undefined) throw new WebhookPayloadError(`${event} delivery without ${what}`);
  return value;
}

/**
 * Which records a delivery carries. Issue events become the same jira.issue version a pull reads
 * (subject from the issue id, version from fields.updated); deletions become jira.issue_deleted;
 * sprint and version events the same jira.sprint / jira.version versions as the pull. Comments,
 * worklogs, attachments and issue links change the issue's `updated`, so the jira:issue_updated
 * delivery or the next pull carries them: they add nothing here. Unknown events are accepted and
 * ignored.
 */
function records(request: WebhookRequest, config: Config): SourceRecord[] {
  const body = S.delivery.safeParse(request.body);
  if (!body.success) throw new WebhookPayloadError('the delivery is not a JSON object');
  const d = body.data;
  const event = d.webhookEvent ?? '';
  const site = jiraSite(config);
  const payload = request.body as Payload;
  const at = d.timestamp !== undefined ? new Date(d.timestamp) : request.receivedAt;
  switch (event) {
    case 'jira:issue_created':
    case 'jira:issue_updated': {
      const issue = S.issue.safeParse(need(d.issue, event, 'an issue'));
      if (!issue.success) throw new WebhookPayloadError(`${event} delivery whose issue lacks id or fields.updated`);
      return [issueRecord(site, issue.data, payload)];
    }
    case 'jira:issue_deleted': {
      const issue = S.anyObject.extend({ id: S.issue.shape.id }).safeParse(need(d.issue, event, 'an issue'));
      if (!issue.success) throw new WebhookPayloadError(`${event} delivery whose issue lacks an id`);
      return [issueDeletedRecord(site, issue.data.id, at, payload)];
    }
    case 'sprint_created':
    case 'sprint_updated':
    case 'sprint_started':
    case 'sprint_closed': {
      const sprint = S.sprint.safeParse(need(d.sprint, event, 'a sprint'));
      if (!sprint.success) throw new WebhookPayloadError(`${event} delivery whose sprint lacks id or state`);
      return [sprintRecord(site, sprint.data, payload, at)];
    }
    case 'jira:version_created':
    case 'jira:version_updated':
    case 'jira:version_released':
    case 'jira:version_unreleased': {
      const version = S.version.safeParse(need(d.version, event, 'a version'));
      if (!version.success) throw new WebhookPayloadError(`${event} delivery whose version lacks an id`);
      return [versionRecord(site, version.data, payload, at)];
    }
    default:
      return [];
  }
}

export const jiraWebhook: WebhookSource = {
  source: 'jira',
  path: 'jira',
  enabled: (config) => config.sources.jira !== undefined && (config.secrets.jiraWebhookSecret ?? '') !== '',
  verify: (rawBody, headers, config) => verify(rawBody, headers, config),
  records,
  check: (record) => missingRequired(jiraMappers, record),
};
