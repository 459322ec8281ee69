import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { startHttpServer, type RunningServer } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { buildRawEvent, deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import { quietLogger, repoRoot, tempDir } from '../../test/support/harness.js';
import { subjects, timeVersion } from '../core/entities.js';
import { webhookRoutes } from '../core/webhooks.js';
import { issueRecord, sprintVersion, versionHash } from './records.js';
import { jiraWebhook } from './webhook.js';
import { readTopic } from '../../test/support/bus.js';

const SECRET = 'jira-webhook-secret';
const SITE = 'acme.atlassian.net';
const fixture = (name: string): Buffer => readFileSync(path.join(repoRoot, 'test/fixtures/jira', name));
const sign = (body: Buffer, secret = SECRET): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

const readJira = (b: Bus, topic = 'raw.jira'): Promise<RawEvent[]> => readTopic(b, topic);

let server: RunningServer;
let bus: Bus;
let config: Config;

async function start(jira: Record<string, unknown> = {}): Promise<void> {
  const dir = tempDir();
  config = loadConfig({
    env: { PTEL_JIRA_API_TOKEN: 't', PTEL_JIRA_WEBHOOK_SECRET: SECRET },
    overrides: { 'sources.jira': { baseUrl: `https://${SITE}`, email: 'bot@acme.example', ...jira } },
    cwd: dir,
  });
  bus = createLocalBus({ dir, pollMs: 10 });
  const logger = quietLogger();
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
    logger,
    readiness: {},
    routes: webhookRoutes({ sources: [jiraWebhook], config, bus, logger }),
  });
}

const post = (body: Buffer, headers: Record<string, string>): Promise<Response> =>
  fetch(`${server.url}/webhooks/jira`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

const signed = (name: string): Promise<Response> => {
  const body = fixture(name);
  return post(body, { 'x-hub-signature': sign(body) });
};

describe('jira webhook', () => {
  beforeEach(() => start());
  afterEach(async () => {
    await server.close();
    await bus.close();
  });

  it('turns signed issue deliveries into the jira.issue version a pull gives', async () => {
    for (const name of ['created_v2.json', 'issue_created_with_custom_fields.json', 'issue_updated__status.json']) {
      const res = await signed(name);
      expect(res.status, name).toBe(202);
      expect(await res.json()).toEqual({ accepted: 1 });
    }
    const events = await readJira(bus);
    expect(events.map((e) => [e.type, e.subject, e.entityversion, e.connector])).toEqual([
      ['jira.issue', subjects.jiraIssue(SITE, '10400'), timeVersion('2013-03-27T16:53:58.301+0000'), 'webhook/jira'],
      ['jira.issue', subjects.jiraIssue(SITE, '10033'), timeVersion('2026-04-25T18:35:13.605+0530'), 'webhook/jira'],
      ['jira.issue', subjects.jiraIssue(SITE, '10000'), timeVersion('2017-01-30T18:32:14.716+0100'), 'webhook/jira'],
    ]);
    // The whole delivery is the payload, so mappers see the webhook shape.
    expect((events[0]!.data as { webhookEvent: string }).webhookEvent).toBe('jira:issue_created');
    // Same id as the pull of the same issue version.
    const delivered = JSON.parse(fixture('issue_created_with_custom_fields.json').toString('utf8')) as {
      issue: { id: string; fields: { updated: string } };
    };
    const pulled = buildRawEvent(issueRecord(SITE, delivered.issue, delivered.issue), 'jira/issues', new Date('2026-06-01T00:00:00Z'));
    expect(events[1]!.id).toBe(pulled.id);
  });

  it('turns a deletion into jira.issue_deleted', async () => {
    expect((await signed('deleted_v2.json')).status).toBe(202);
    const [event] = await readJira(bus);
    expect([event!.type, event!.subject, event!.entityversion]).toEqual([
      'jira.issue_deleted',
      subjects.jiraIssue(SITE, '10400'),
      'deleted',
    ]);
  });

  it('accepts events the pipeline has no use for without publishing', async () => {
    for (const name of ['comment_created.json', 'worklog_created.json', 'example_anomalous_payload.json', 'change_status_v1.json']) {
      const res = await signed(name);
      expect(res.status, name).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0 });
    }
    expect(await readJira(bus)).toEqual([]);
  });

  it('refuses a wrong or missing signature with 401 and publishes nothing', async () => {
    const body = fixture('created_v2.json');
    expect((await post(body, { 'x-hub-signature': sign(body, 'not-the-secret') })).status).toBe(401);
    expect((await post(body, { 'x-hub-signature': sign(Buffer.from('other')) })).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    // A Cloud site does not take a bearer token instead of the signature.
    expect((await post(body, { authorization: `Bearer ${SECRET}` })).status).toBe(401);
    expect(await readJira(bus)).toEqual([]);
  });

  it('answers 400 to malformed JSON with a valid signature, and to an issue event without fields.updated', async () => {
    expect((await signed('comment_created_no_issue_details.json')).status).toBe(400);
    const body = Buffer.from(JSON.stringify({ webhookEvent: 'jira:issue_updated', timestamp: 1, issue: { id: '1', fields: {} } }));
    const res = await post(body, { 'x-hub-signature': sign(body) });
    expect(res.status).toBe(400);
    expect(await readJira(bus)).toEqual([]);
  });

  it('gives a delivery sent twice the same event ids', async () => {
    await signed('updated_priority_v2.json');
    await signed('updated_priority_v2.json');
    const events = await readJira(bus);
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBe(events[1]!.id);
  });

  it('turns sprint and version events into the versions the pull gives', async () => {
    const sprint = {
      id: 37,
      self: `https://${SITE}/rest/agile/1.0/sprint/37`,
      state: 'active',
      name: 'PAY Sprint 12',
      startDate: '2026-10-05T09:30:00.000Z',
      endDate: '2026-10-19T09:30:00.000Z',
      originBoardId: 3,
      goal: 'Ship refunds',
    };
    const version = {
      self: `https://${SITE}/rest/api/2/version/10010`,
      id: '10010',
      name: 'v1.4',
      archived: false,
      released: true,
      releaseDate: '2026-10-20',
      projectId: 10000,
    };
    for (const body of [
      { timestamp: 1_790_000_000_000, webhookEvent: 'sprint_started', sprint },
      { timestamp: 1_790_000_000_000, webhookEvent: 'jira:version_released', version },
      { timestamp: 1_790_000_000_000, webhookEvent: 'sprint_deleted', sprint },
    ]) {
      const raw = Buffer.from(JSON.stringify(body));
      expect((await post(raw, { 'x-hub-signature': sign(raw) })).status).toBe(202);
    }
    const events = await readJira(bus);
    expect(events.map((e) => e.id)).toEqual([
      deterministicEventId('jira', 'jira.sprint', subjects.jiraSprint(SITE, 37), sprintVersion(sprint)),
      deterministicEventId('jira', 'jira.version', subjects.jiraVersion(SITE, '10010'), versionHash(version)),
    ]);
    expect(events[0]!.time).toBe('2026-10-05T09:30:00.000Z');
  });
});

describe('jira webhook on Data Center', () => {
  beforeEach(() => start({ deployment: 'datacenter', email: undefined }));
  afterEach(async () => {
    await server.close();
    await bus.close();
  });

  it('accepts the signature or a bearer token, and refuses a wrong token', async () => {
    const body = fixture('created_v2.json');
    expect((await post(body, { authorization: `Bearer ${SECRET}` })).status).toBe(202);
    expect((await post(body, { 'x-hub-signature': sign(body) })).status).toBe(202);
    expect((await post(body, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    const events = await readJira(bus);
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBe(events[1]!.id);
  });
});
