import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { startHttpServer, type RunningServer } from '../../infra/observability/http.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { deterministicEventId, type RawEvent } from '../../schemas/raw-event.js';
import { readEvents } from '../../test/fakes/github.js';
import { quietLogger, tempDir } from '../../test/support/harness.js';
import { webhookRoutes } from '../core/webhooks.js';
import { githubWebhook } from './index.js';

const SECRET = 'test-webhook-secret';

/** Real deliveries published by GitHub's Octokit project, one list of examples per event. */
interface ExampleEvent {
  name: string;
  examples: Array<Record<string, unknown>>;
}
const require = createRequire(import.meta.url);
const examples = JSON.parse(
  readFileSync(require.resolve('@octokit/webhooks-examples/api.github.com/index.json'), 'utf8'),
) as ExampleEvent[];

function example(event: string, pick: (e: Record<string, unknown>) => boolean = () => true): Record<string, unknown> {
  const found = examples.find((e) => e.name === event)?.examples.find(pick);
  if (found === undefined) throw new Error(`no ${event} example`);
  return found;
}
const field = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], o);

const sign = (body: string, secret = SECRET): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

let server: RunningServer;
let bus: Bus;

beforeEach(async () => {
  const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: SECRET }, cwd: tempDir() });
  bus = createLocalBus({ dir: tempDir('ptel-bus-'), pollMs: 10 });
  const logger = quietLogger();
  server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    metrics: new PipelineMetrics({ defaultMetrics: false }),
    logger,
    readiness: {},
    routes: webhookRoutes({ sources: [githubWebhook], config, bus, logger }),
  });
});
afterEach(async () => {
  await server.close();
  await bus.close();
});

/** `signature`: null sends none. */
async function deliver(event: string, body: string, signature: string | null = sign(body)): Promise<Response> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-github-event': event,
    'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  };
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(`${server.url}/webhooks/github`, { method: 'POST', headers, body });
}

const summary = (events: RawEvent[]): string[] => events.map((e) => `${e.type} ${e.subject} ${e.entityversion}`);

describe('github webhook', () => {
  it('maps real deliveries of each event to records, payload = the delivery', async () => {
    const cases: Array<[string, Record<string, unknown>, string[]]> = [];
    const repo = 'codertocat/hello-world';
    const pr = example('pull_request', (e) => e['action'] === 'opened');
    cases.push([
      'pull_request',
      pr,
      [
        `github.pull_request ${repo}#2 2019-05-15T15:20:33.000Z`,
        `github.repository ${repo} ${new Date(String(field(pr, 'repository', 'updated_at'))).toISOString()}`,
      ],
    ]);
    cases.push([
      'pull_request_review',
      example('pull_request_review'),
      [`github.review ${repo}#2/reviews/237895671 2019-05-15T15:20:38.000Z|COMMENTED`],
    ]);
    const push = example('push', (e) => e['ref'] === 'refs/heads/master');
    cases.push(['push', push, ['6113728f27ae82c7b1a177c8d03f9e96e0adf246'].map((sha) => `github.commit ${repo}@${sha} ${sha}`)]);
    cases.push(['deployment', example('deployment'), [`github.deployment ${repo}/deployments/145988746 2019-05-15T15:20:53.000Z`]]);
    cases.push([
      'deployment_status',
      example('deployment_status'),
      [`github.deployment_status ${repo}/deployments/145988746/statuses/209916254 2019-05-15T15:20:55.000Z`],
    ]);
    cases.push([
      'release',
      example('release', (e) => e['action'] === 'published'),
      [`github.release ${repo}/releases/17372790 2019-05-15T15:20:53.000Z`],
    ]);
    // This real delivery says 'completed' in its action but 'queued' in its status: the status decides (rank 1).
    const run = example('workflow_run', (e) => e['action'] === 'completed');
    expect(field(run, 'workflow_run', 'status')).toBe('queued');
    cases.push([
      'workflow_run',
      run,
      [
        `github.workflow_run ${repo}/actions/runs/${String(field(run, 'workflow_run', 'id'))} ${new Date(String(field(run, 'workflow_run', 'updated_at'))).toISOString()}|1`,
      ],
    ]);
    const job = example('workflow_job', (e) => e['action'] === 'completed');
    cases.push([
      'workflow_job',
      job,
      [
        `github.workflow_job ${repo}/actions/jobs/${String(field(job, 'workflow_job', 'id'))} ${new Date(String(field(job, 'workflow_job', 'completed_at'))).toISOString()}|3`,
      ],
    ]);
    const created = example('repository', (e) => e['action'] === 'created');
    const createdName = String(field(created, 'repository', 'full_name')).toLowerCase();
    cases.push([
      'repository',
      created,
      [`github.repository ${createdName} ${new Date(String(field(created, 'repository', 'updated_at'))).toISOString()}`],
    ]);

    let seen = 0;
    for (const [event, body, expected] of cases) {
      const res = await deliver(event, JSON.stringify(body));
      expect(res.status, event).toBe(202);
      expect(await res.json()).toEqual({ accepted: expected.length });
      const events = (await readEvents(bus)).slice(seen);
      seen += events.length;
      expect(summary(events), event).toEqual(expected);
      for (const e of events) {
        expect(e.connector).toBe('webhook/github');
        expect(e.data).toEqual(body);
        expect(e.id).toBe(deterministicEventId('github', e.type, e.subject, e.entityversion));
      }
    }
  });

  it('accepts ping, pushes to other branches and unknown events without records', async () => {
    for (const [event, body] of [
      ['ping', example('ping')],
      ['push', example('push', (e) => e['ref'] === 'refs/tags/simple-tag')],
      ['star', { action: 'created', repository: field(example('ping'), 'repository') }],
    ] as const) {
      const res = await deliver(event, JSON.stringify(body));
      expect(res.status, event).toBe(202);
      expect(await res.json()).toEqual({ accepted: 0 });
    }
    expect(await readEvents(bus)).toEqual([]);
  });

  it('refuses a wrong or missing signature with 401 and publishes nothing', async () => {
    const body = JSON.stringify(example('pull_request'));
    expect((await deliver('pull_request', body, sign(body, 'another-secret'))).status).toBe(401);
    expect((await deliver('pull_request', body, null)).status).toBe(401);
    expect((await deliver('pull_request', body, 'sha256=')).status).toBe(401);
    // A signature over other bytes: the body was changed on the way.
    expect((await deliver('pull_request', body.replace('"opened"', '"closed"'), sign(body))).status).toBe(401);
    expect(await readEvents(bus)).toEqual([]);
  });

  it('answers 400 to malformed JSON, or to a delivery without what its records need, under a valid signature', async () => {
    const bad = '{"action": "opened", "pull_request": ';
    expect((await deliver('pull_request', bad)).status).toBe(400);
    const lacking = JSON.stringify({ action: 'opened', repository: field(example('pull_request'), 'repository') });
    const res = await deliver('pull_request', lacking);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toContain('pull_request');
    expect(await readEvents(bus)).toEqual([]);
  });

  it('a delivery sent twice gives the same event ids; GitHub signs no timestamp, so an old delivery still verifies', async () => {
    // The example was delivered in 2019: with no signed time there is no replay window to apply.
    const body = JSON.stringify(example('pull_request_review'));
    expect((await deliver('pull_request_review', body)).status).toBe(202);
    expect((await deliver('pull_request_review', body)).status).toBe(202);
    const events = await readEvents(bus);
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBe(events[1]!.id);
  });
});

describe('deletions', () => {
  it('a deleted release or repository is a version of its own, not a duplicate of the last live one', () => {
    const request = (event: string, body: Record<string, unknown>) => ({
      headers: { 'x-github-event': event },
      rawBody: Buffer.from(JSON.stringify(body)),
      body,
      receivedAt: new Date(),
    });
    const config = loadConfig({ env: { PTEL_GITHUB_WEBHOOK_SECRET: SECRET }, cwd: tempDir() });
    const live = example('release', (e) => e['action'] === 'published');
    const [published] = githubWebhook.records(request('release', live), config);
    const [deleted] = githubWebhook.records(request('release', { ...live, action: 'deleted' }), config);
    expect(deleted!.subject).toBe(published!.subject);
    expect(deleted!.version > published!.version).toBe(true);
    // GitHub's examples have no deleted repository: the edited one, deleted, carries the same updated_at.
    const repo = example('repository', (e) => e['action'] === 'edited');
    const [gone] = githubWebhook.records(request('repository', { ...repo, action: 'deleted' }), config);
    const [renamed] = githubWebhook.records(request('repository', repo), config);
    expect(gone!.version > renamed!.version).toBe(true);
  });
});
