import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Bus } from '../../infra/bus/types.js';
import { readTopic, startWebhookServer, type WebhookServer } from '../../test/support/bus.js';
import { repoRoot, tempDir } from '../../test/support/harness.js';
import { cdeventsWebhook } from '../cdevents/index.js';
import { createProgressDisplay } from './progress.js';
import type { StreamProgress } from './runner.js';

const TOKEN = 'receiver-test-token';
const cdevent = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/cdevents/examples/pipelinerun_finished.json'), 'utf8')) as {
  context: { id: string; source: string; type: string; timestamp: string };
};
/** The spec's example as a structured-mode CloudEvent. */
const example = JSON.stringify({
  specversion: '1.0',
  id: cdevent.context.id,
  source: cdevent.context.source,
  type: cdevent.context.type,
  time: cdevent.context.timestamp,
  datacontenttype: 'application/json',
  data: cdevent,
});
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
