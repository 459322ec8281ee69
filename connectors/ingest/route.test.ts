import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import { fixedClock } from '../../infra/clock.js';
import { INGEST_KIND_NAMES } from '../../schemas/ingest.js';
import { deterministicEventId } from '../../schemas/raw-event.js';
import { readTopic, startWebhookServer, type WebhookServer } from '../../test/support/bus.js';
import { tempDir } from '../../test/support/harness.js';
import { rowRecord } from './records.js';
import { VALID_ROWS } from '../../test/support/ingest.js';
import { INGEST_SOURCES } from './route.js';

const TOKEN = 'survey-intake-token';
const AT = '2026-12-07T12:00:00.000Z';
const servers: WebhookServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(
  env: Record<string, string> = { PTEL_INGEST_SURVEY_RESPONSE_TOKEN: TOKEN },
  overrides: Record<string, unknown> = {},
): Promise<WebhookServer> {
  const config = loadConfig({ env, overrides: { 'webhooks.maxBodyBytes': 4096, ...overrides }, cwd: tempDir() });
  const s = await startWebhookServer(INGEST_SOURCES, config, fixedClock(Date.parse(AT)));
  servers.push(s);
  return s;
}

const post = (s: WebhookServer, body: string, options: { kind?: string; type?: string; token?: string | null } = {}): Promise<Response> =>
  fetch(`${s.url}/ingest/${options.kind ?? 'survey_response'}`, {
    method: 'POST',
    headers: {
      'content-type': options.type ?? 'application/json',
      ...(options.token !== null ? { authorization: `Bearer ${options.token ?? TOKEN}` } : {}),
    },
    body,
  });

const answer = (id: string, score: number | string = 4): Record<string, unknown> => ({
  ...VALID_ROWS.survey_response.row,
  response_id: id,
  score,
});
const CSV_HEADER = 'survey,program,response_id,submitted_at,score,comment_count';

describe('POST /ingest/<kind>', () => {
  it('202 {accepted: N} once the rows are on the bus, from a JSON array, an object, NDJSON and CSV', async () => {
    const s = await start();
    const array = await post(s, JSON.stringify([answer('a'), answer('b', 2)]));
    expect(array.status).toBe(202);
    expect(await array.json()).toEqual({ accepted: 2 });
    expect((await post(s, JSON.stringify(answer('c')))).status).toBe(202);
    const ndjson = await post(s, `${JSON.stringify(answer('d'))}\n${JSON.stringify(answer('e'))}\n`, { type: 'application/x-ndjson' });
    expect(await ndjson.json()).toEqual({ accepted: 2 });
    const csv = await post(s, `${CSV_HEADER}\r\nstakeholder_satisfaction,payments,"f,1",2026-11-30T17:00:00Z,5,3\r\n`, {
      type: 'text/csv; charset=utf-8',
    });
    expect(await csv.json()).toEqual({ accepted: 1 });

    const events = await readTopic(s.bus, 'raw.ingest');
    expect(events).toHaveLength(6);
    const first = rowRecord('survey_response', answer('a'), { row: 1 });
    if (!first.ok) throw new Error(first.error);
    expect(events[0]).toMatchObject({
      id: deterministicEventId('ingest', 'ingest.survey_response', first.record.subject, first.record.version),
      type: 'ingest.survey_response',
      connector: 'ingest/survey_response',
      ingesttime: AT,
      data: first.record.payload,
    });
    expect(events[5]!.data).toMatchObject({ score: 5, comment_count: 3 });
  });

  it('the same rows sent twice are the same events', async () => {
    const s = await start();
    const body = JSON.stringify([answer('a'), answer('b')]);
    expect((await post(s, body)).status).toBe(202);
    expect((await post(s, body)).status).toBe(202);
    const ids = (await readTopic(s.bus, 'raw.ingest')).map((e) => e.id);
    expect(ids.slice(2)).toEqual(ids.slice(0, 2));
  });

  it('401 naming what is wrong with the token, before the body is read', async () => {
    const s = await start();
    const missing = await post(s, 'not even json', { token: null });
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({
      error: 'missing Authorization: Bearer token (the token of survey_response, PTEL_INGEST_SURVEY_RESPONSE_TOKEN)',
    });
    const wrong = await post(s, JSON.stringify(answer('a')), { token: 'another' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: 'the bearer token is not the token of survey_response (PTEL_INGEST_SURVEY_RESPONSE_TOKEN)',
    });
    // Each kind has its own token: this one is not the adopters'.
    expect((await post(s, JSON.stringify(VALID_ROWS.adopter.row), { kind: 'adopter' })).status).toBe(404);
    expect(await readTopic(s.bus, 'raw.ingest')).toEqual([]);
  });

  it('404 for a kind without a token (naming the variable), for an unknown kind, and with the intake turned off', async () => {
    const s = await start();
    const untokened = await post(s, JSON.stringify(VALID_ROWS.adopter.row), { kind: 'adopter' });
    expect(untokened.status).toBe(404);
    expect(await untokened.json()).toEqual({
      error: 'the adopter intake is not configured on this server: set PTEL_INGEST_ADOPTER_TOKEN to the token its senders use',
    });
    const unknown = await post(s, '{}', { kind: 'budgets' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe(
      `no route for POST /ingest/budgets; served under /ingest/: ${INGEST_KIND_NAMES.map((k) => `/ingest/${k}`)
        .sort()
        .join(', ')}`,
    );
    const off = await start({ PTEL_INGEST_SURVEY_RESPONSE_TOKEN: TOKEN }, { 'sources.ingest': { enabled: false } });
    const r = await post(off, JSON.stringify(answer('a')));
    expect(r.status).toBe(404);
    expect(await r.json()).toEqual({ error: 'the intake is turned off on this server (sources.ingest.enabled is false)' });
  });

  it('400 naming each refused row and field; nothing of the body is published', async () => {
    const s = await start();
    const csv = [
      CSV_HEADER,
      'stakeholder_satisfaction,payments,a,2026-11-30T17:00:00Z,4,0',
      'stakeholder_satisfaction,payments,b,2026-11-30T17:00:00Z,9,0',
      'stakeholder_satisfaction,payments,c,yesterday,3,0',
    ].join('\n');
    const r = await post(s, csv, { type: 'text/csv' });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({
      error:
        "2 of 3 rows refused, nothing of the body was taken: row 2 (line 3): field 'score': expected a whole number from 1 to 5; " +
        "row 3 (line 4): field 'submitted_at': expected an ISO 8601 date-time with a zone, for example 2026-11-30T17:00:00Z",
    });
    const named = await post(s, JSON.stringify([answer('a'), { ...answer('b'), name: 'Ada' }]));
    expect(named.status).toBe(400);
    expect(((await named.json()) as { error: string }).error).toMatch(/row 2 \(index 1, line 1\): field 'name': not accepted/);
    const garbled = await post(s, '[{"score": 4}', {});
    expect(garbled.status).toBe(400);
    expect(((await garbled.json()) as { error: string }).error).toMatch(/^the json body cannot be read: /);
    const empty = await post(s, '[]');
    expect(await empty.json()).toEqual({ error: 'the body holds no survey_response rows' });
    const xml = await post(s, '<row/>', { type: 'application/xml' });
    expect(xml.status).toBe(400);
    expect(((await xml.json()) as { error: string }).error).toMatch(
      /^Content-Type application\/xml is not taken; send one of application\/json, /,
    );
    expect(await readTopic(s.bus, 'raw.ingest')).toEqual([]);
  });

  it('413 over webhooks.maxBodyBytes, and keeps serving', async () => {
    const s = await start();
    const big = JSON.stringify(Array.from({ length: 100 }, (_, i) => answer(`r${i}`)));
    const refused = await post(s, big).catch((err: unknown) => err);
    // The server may close the connection before the client has sent everything; either way nothing is accepted.
    if (refused instanceof Response) expect(refused.status).toBe(413);
    expect((await post(s, JSON.stringify(answer('a')))).status).toBe(202);
    expect(await readTopic(s.bus, 'raw.ingest')).toHaveLength(1);
  });
});
