import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Bus } from '../../infra/bus/types.js';
import { fixedClock } from '../../infra/clock.js';
import { readTopic, startWebhookServer, type WebhookServer } from '../../test/support/bus.js';
import { repoRoot, tempDir } from '../../test/support/harness.js';
import { createHmac } from 'node:crypto';
import { cdeventsWebhook } from '../cdevents/index.js';
import { githubWebhook } from '../github/webhook.js';
import { buildRawEvent } from '../../schemas/raw-event.js';
import { pullRequestExample } from '../../test/support/distributed.js';
import { jiraWebhook } from '../jira/webhook.js';
import { pagerdutyWebhook } from '../pagerduty/webhook.js';
import { createProgressDisplay } from './progress.js';
import { hmacMatches } from './webhooks.js';
import type { StreamProgress } from './runner.js';
import { cdeventExample, structuredCloudEvent } from '../../test/support/cdevents.js';

const TOKEN = 'receiver-test-token';
/** The spec's example as a structured-mode CloudEvent. */
const example = structuredCloudEvent(cdeventExample('pipelinerun_finished'));
const servers: WebhookServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(env: Record<string, string>, maxBodyBytes = 1024 * 1024): Promise<WebhookServer> {
  const config = loadConfig({ env, overrides: { 'sources.cdevents': {}, 'webhooks.maxBodyBytes': maxBodyBytes }, cwd: tempDir() });
  const s = await startWebhookServer([cdeventsWebhook], config);
  servers.push(s);
  return s;
}

const post = (s: WebhookServer, body: Buffer | string, token = TOKEN): Promise<Response> =>
  fetch(`${s.url}/webhooks/cdevents`, {
    method: 'POST',
    headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${token}` },
    body,
  });

describe('the webhook receiver', () => {
  it('answers 413 to an oversized body without reading it, and keeps serving', async () => {
    const s = await start({ PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN }, 2048);
    const big = Buffer.alloc(64 * 1024, 0x20);
    const refused = await post(s, big).catch((err: unknown) => err);
    // The server may close the connection before the client has sent everything; either way nothing is accepted.
    if (refused instanceof Response) expect(refused.status).toBe(413);
    const ok = await post(s, example);
    expect(ok.status).toBe(202);
    expect(await ok.json()).toEqual({ accepted: 1 });
    expect(await readTopic(s.bus, 'raw.cdevents')).toHaveLength(1);
  });

  it('answers 404 for a source whose secret is not set, rather than accept unsigned data', async () => {
    const s = await start({});
    const r = await post(s, example);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: string }).error).toContain('not configured');
  });

  it('answers 503 and publishes nothing when the bus is down, so the sender delivers again', async () => {
    const s = await start({ PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN });
    const bus: Bus = s.bus;
    bus.publish = () => Promise.reject(new Error('disk full'));
    const r = await post(s, example);
    expect(r.status).toBe(503);
  });
});

describe('the webhook receiver on a clock', () => {
  it("stamps a delivery's events with the clock's time of receipt", async () => {
    const at = Date.parse('2026-05-14T10:30:00Z');
    const config = loadConfig({ env: { PTEL_CDEVENTS_WEBHOOK_TOKEN: TOKEN }, overrides: { 'sources.cdevents': {} }, cwd: tempDir() });
    const running = await startWebhookServer([cdeventsWebhook], config, fixedClock(at));
    servers.push(running);
    const r = await fetch(`${running.url}/webhooks/cdevents`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json', authorization: `Bearer ${TOKEN}` },
      body: example,
    });
    expect(r.status).toBe(202);
    const events = await readTopic(running.bus, 'raw.cdevents');
    expect(events.map((e) => [e.id, e.ingesttime])).toEqual([[expect.any(String), '2026-05-14T10:30:00.000Z']]);
  });
});

describe("a delivery's events on the bus", () => {
  it('carry the body as the payload: byte for byte what serializing the event gives, for a compact or an indented body', async () => {
    const at = Date.parse('2026-05-14T10:30:00Z');
    const secret = 'bus-secret';
    const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: secret }, cwd: tempDir() });
    const running = await startWebhookServer([githubWebhook], config, fixedClock(at));
    servers.push(running);
    const published: string[] = [];
    const publish = running.bus.publish.bind(running.bus);
    running.bus.publish = (topic, messages) => {
      published.push(...messages.map((m) => m.value.toString()));
      return publish(topic, messages);
    };
    const body = pullRequestExample();
    const headers = { 'content-type': 'application/json', 'x-github-event': 'pull_request', 'x-github-delivery': 'd-1' };
    const expected = githubWebhook
      .records({ headers, rawBody: Buffer.alloc(0), body, receivedAt: new Date(at) }, config)
      .map((r) => JSON.stringify(buildRawEvent(r, 'webhook/github', new Date(at))));
    expect(expected).toHaveLength(2);
    for (const text of [JSON.stringify(body), JSON.stringify(body, null, 2)]) {
      const r = await fetch(`${running.url}/webhooks/github`, {
        method: 'POST',
        headers: { ...headers, 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(text).digest('hex')}` },
        body: text,
      });
      expect(r.status).toBe(202);
    }
    expect(published.slice(0, 2)).toEqual(expected);
    expect(published.slice(2).map((v) => JSON.parse(v) as unknown)).toEqual(expected.map((v) => JSON.parse(v) as unknown));
  });
});

describe('what an entity cannot exist without, checked before the answer', () => {
  const SECRET = 'check-secret';
  const fixture = (p: string): Record<string, unknown> =>
    JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures', p), 'utf8')) as Record<string, unknown>;
  const hmac = (body: string): string => createHmac('sha256', SECRET).update(body).digest('hex');

  async function server(): Promise<WebhookServer> {
    const config = loadConfig({
      env: { PTEL_PAGERDUTY_WEBHOOK_SECRETS: SECRET, PTEL_JIRA_WEBHOOK_SECRET: SECRET, PTEL_JIRA_API_TOKEN: 't' },
      overrides: { 'sources.jira': { baseUrl: 'https://acme.atlassian.net', email: 'bot@acme.example' } },
      cwd: tempDir(),
    });
    const s = await startWebhookServer([pagerdutyWebhook, jiraWebhook], config);
    servers.push(s);
    return s;
  }

  it('answers 400 naming the field, and publishes nothing, when a record lacks what its mapper requires', async () => {
    const s = await server();
    // A status PagerDuty's incidents do not have: the mapper could not place the incident's version.
    const pd = fixture('pagerduty/triggered_v3.json') as { event: { data: Record<string, unknown> } };
    pd.event.data['status'] = 'snoozed';
    const pdBody = JSON.stringify(pd);
    const r1 = await fetch(`${s.url}/webhooks/pagerduty`, {
      method: 'POST',
      body: pdBody,
      headers: { 'content-type': 'application/json', 'x-pagerduty-signature': `v1=${hmac(pdBody)}` },
    });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: string }).error).toContain("field 'event.data.status'");
    // An issue without its key.
    const jira = fixture('jira/issue_updated__status.json') as { issue: Record<string, unknown> };
    delete jira.issue['key'];
    const jiraBody = JSON.stringify(jira);
    const r2 = await fetch(`${s.url}/webhooks/jira`, {
      method: 'POST',
      body: jiraBody,
      headers: { 'content-type': 'application/json', 'x-hub-signature': `sha256=${hmac(jiraBody)}` },
    });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: string }).error).toContain("field 'issue.key'");
    expect(await readTopic(s.bus, 'raw.pagerduty')).toEqual([]);
    expect(await readTopic(s.bus, 'raw.jira')).toEqual([]);
    // The same deliveries as sent are accepted.
    const ok = JSON.stringify(fixture('pagerduty/triggered_v3.json'));
    const r3 = await fetch(`${s.url}/webhooks/pagerduty`, {
      method: 'POST',
      body: ok,
      headers: { 'content-type': 'application/json', 'x-pagerduty-signature': `v1=${hmac(ok)}` },
    });
    expect(r3.status).toBe(202);
    expect(await readTopic(s.bus, 'raw.pagerduty')).toHaveLength(1);
  });
});

describe('a signature over the raw body', () => {
  const body = Buffer.from('{"action":"opened"}');
  const hex = createHmac('sha256', 'the-secret').update(body).digest('hex');

  it('matches the HMAC of the body under the secret, with its prefix, around blanks', () => {
    expect(hmacMatches('the-secret', body, `sha256=${hex}`)).toBe(true);
    expect(hmacMatches('the-secret', body, ` sha256=${hex}\n`)).toBe(true);
    expect(hmacMatches('the-secret', body, `v1=${hex}`, 'v1=')).toBe(true);
  });

  it('refuses another secret, another body, another prefix, a cut or garbled digest, and none', () => {
    expect(hmacMatches('other-secret', body, `sha256=${hex}`)).toBe(false);
    expect(hmacMatches('the-secret', Buffer.from('{"action":"closed"}'), `sha256=${hex}`)).toBe(false);
    expect(hmacMatches('the-secret', body, `sha1=${hex}`)).toBe(false);
    expect(hmacMatches('the-secret', body, `sha256=${hex.slice(0, 63)}`)).toBe(false);
    expect(hmacMatches('the-secret', body, `sha256=${hex}0`)).toBe(false);
    expect(hmacMatches('the-secret', body, `sha256=${hex.toUpperCase()}`)).toBe(false);
    expect(hmacMatches('the-secret', body, `sha256=${'z'.repeat(64)}`)).toBe(false);
    expect(hmacMatches('the-secret', body, '')).toBe(false);
    expect(hmacMatches('the-secret', body, undefined)).toBe(false);
  });
});

describe('sync progress', () => {
  const progress = (status: StreamProgress['status'], pages: number, error?: string): StreamProgress => ({
    source: 'github',
    stream: 'pull_requests',
    scope: 'acme/api',
    status,
    records: pages * 100,
    requests: pages,
    pages,
    ...(error !== undefined ? { error } : {}),
  });

  const capture = (isTTY: boolean): { out: Writable & { isTTY: boolean }; text: () => string } => {
    let text = '';
    const out = Object.assign(
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          text += chunk.toString();
          cb();
        },
      }),
      { isTTY },
    );
    return { out, text: () => text };
  };

  it('writes plain start and end lines when the output is not a terminal', () => {
    const { out, text } = capture(false);
    const d = createProgressDisplay(out);
    d.update(progress('running', 0));
    d.update(progress('running', 3));
    d.update(progress('failed', 3, 'GET /x: 401 unauthorized'));
    d.done();
    expect(text()).toBe(
      'sync github/pull_requests acme/api: started\nsync github/pull_requests acme/api: failed, 300 records, 3 requests: GET /x: 401 unauthorized\n',
    );
  });

  it('redraws one line per stream in place on a terminal', () => {
    const { out, text } = capture(true);
    const d = createProgressDisplay(out);
    d.update(progress('running', 2));
    d.update({ ...progress('running', 1), stream: 'commits' });
    d.update(progress('ok', 4));
    d.done();
    const t = text();
    expect(t).toContain('\x1b[2A'); // moved up over the two stream lines to redraw them
    expect(t).toMatch(/done\s+github\/pull_requests acme\/api\s+400 records\s+4 requests/);
    expect(t).toMatch(/github\/commits acme\/api\s+100 records/);
  });
});
