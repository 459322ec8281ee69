import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { deterministicEventId } from '../../schemas/raw-event.js';
import { tempDir, repoRoot } from '../../test/support/harness.js';
import { subjects, timeVersion } from '../core/entities.js';
import { WebhookPayloadError } from '../core/webhooks.js';
import { readTopic, startWebhookServer } from '../../test/support/bus.js';
import { cdeventsWebhook } from './index.js';
import { CDEVENT_TYPES, eventSchema, kindOf, type CdeventKind } from './schemas.js';
import { cdeventRecord } from './webhook.js';

const ROOT = path.join(repoRoot, 'test/fixtures/cdevents');
type Json = Record<string, unknown>;

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const examples = readdirSync(path.join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, event: JSON.parse(readFileSync(path.join(ROOT, 'examples', file), 'utf8')) as Json }));
const typeOf = (e: Json): string => (e['context'] as { type: string }).type;
const accepted = examples.filter((x) => kindOf(typeOf(x.event)) !== undefined);
const specSchema = (kind: string): Json =>
  JSON.parse(readFileSync(path.join(ROOT, 'schemas', `${kind.replace('.', '')}.json`), 'utf8')) as Json;

/** Every `required` field of a spec schema, as paths into the event, with the schema node of its parent. */
function requiredPaths(node: Json, at: string[] = []): string[][] {
  const out: string[][] = [];
  for (const name of (node['required'] as string[] | undefined) ?? []) out.push([...at, name]);
  for (const [name, child] of Object.entries((node['properties'] as Record<string, Json> | undefined) ?? {})) {
    if (child['type'] === 'object' || child['properties'] !== undefined) out.push(...requiredPaths(child, [...at, name]));
  }
  return out;
}

function without(event: Json, p: string[]): Json | undefined {
  const copy = structuredClone(event);
  let cur: Json = copy;
  for (const k of p.slice(0, -1)) {
    const next = cur[k];
    if (next === null || typeof next !== 'object') return undefined; // the example does not hold this optional parent
    cur = next as Json;
  }
  delete cur[p[p.length - 1]!];
  return copy;
}

describe('CDEvents schemas against the specification', () => {
  it('accepts every type the brief lists, at the spec versions of the fixtures', () => {
    expect(accepted.map((x) => kindOf(typeOf(x.event))).sort()).toEqual(Object.keys(CDEVENT_TYPES).sort());
    for (const kind of Object.keys(CDEVENT_TYPES) as CdeventKind[]) {
      const spec = specSchema(kind) as { properties: { context: { properties: { type: { enum: string[] } } } } };
      expect(spec.properties.context.properties.type.enum).toEqual([`dev.cdevents.${kind}.${CDEVENT_TYPES[kind].version}`]);
    }
    expect(kindOf('dev.cdevents.pipelinerun.finished.0.3.7')).toBe('pipelinerun.finished');
    expect(kindOf('dev.cdevents.pipelinerun.finished.0.4.0')).toBeUndefined();
    expect(kindOf('dev.cdevents.approval.created.0.1.0')).toBeUndefined();
  });

  it.each(accepted.map((x) => [x.file, x.event] as const))('%s is accepted and maps to its record', (_file, event) => {
    const kind = kindOf(typeOf(event))!;
    expect(eventSchema(kind).safeParse(event).success).toBe(true);
    const context = event['context'] as { id: string; source: string; timestamp: string };
    const subject = event['subject'] as { id: string; source?: string };
    const record = cdeventRecord(event);
    expect(record).toEqual({
      source: 'cdevents',
      type: `cdevents.${kind.split('.')[0]!}`,
      subject: subjects.cdeventsSubject(subject.source ?? context.source, subject.id),
      version: timeVersion(context.timestamp, context.id),
      time: new Date(context.timestamp).toISOString(),
      payload: event,
    });
  });

  it('requires every field the spec schemas require (checked programmatically)', () => {
    let checked = 0;
    for (const { event } of accepted) {
      const kind = kindOf(typeOf(event))!;
      for (const p of requiredPaths(specSchema(kind))) {
        const mutated = without(event, p);
        if (mutated === undefined) continue;
        const r = eventSchema(kind).safeParse(mutated);
        expect(r.success, `${kind}: ${p.join('.')} is required by the spec`).toBe(false);
        if (r.success) continue;
        expect(r.error.issues.some((i) => i.path.join('.') === p.join('.') || i.path.join('.') === p.slice(0, -1).join('.'))).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(accepted.length * 7);
  });

  it('refuses a wrong type or a missing field with a message naming the field', () => {
    const deployed = structuredClone(examples.find((x) => x.file === 'service_deployed.json')!.event);
    (deployed['subject'] as Json)['content'] = { environment: { id: 'prod' } };
    expect(() => cdeventRecord(deployed)).toThrow(/field 'subject\.content\.artifactId'/);
    const finished = structuredClone(examples.find((x) => x.file === 'pipelinerun_finished.json')!.event);
    ((finished['subject'] as Json)['content'] as Json)['outcome'] = 42;
    expect(() => cdeventRecord(finished)).toThrow(/field 'subject\.content\.outcome'/);
    const badTime = structuredClone(finished);
    (badTime['context'] as Json)['timestamp'] = 'yesterday';
    expect(() => cdeventRecord(badTime)).toThrow(WebhookPayloadError);
    // A spec type the model does not use is still validated (its envelope); a type outside the spec is refused.
    expect(() => cdeventRecord({ context: { type: 'dev.cdevents.approval.created.0.1.0' } })).toThrow(/field 'context\.specversion'/);
    expect(() => cdeventRecord({ context: { type: 'dev.cdevents.approval.created.9.1.0' } })).toThrow(
      /field 'context\.type': unsupported type/,
    );
    expect(() => cdeventRecord({ context: { type: 'dev.cdevents.widget.polished.0.1.0' } })).toThrow(
      /field 'context\.type': unsupported type/,
    );
    expect(cdeventRecord(examples.find((x) => x.file === 'approval_created.json')!.event)).toMatchObject({ type: 'cdevents.event' });
  });
});

describe('CDEvents webhook', () => {
  const token = 'cd-token';
  async function server(): Promise<{ url: string; bus: Bus }> {
    const config = loadConfig({ env: { PTEL_CDEVENTS_WEBHOOK_TOKEN: token }, overrides: { 'sources.cdevents': {} }, cwd: tempDir() });
    const ws = await startWebhookServer([cdeventsWebhook], config);
    const bus = ws.bus;
    const running = { url: ws.url, close: () => ws.close() };
    cleanups.push(
      () => running.close(),
      () => bus.close(),
    );
    return { url: `${running.url}/webhooks/cdevents`, bus };
  }
  const example = (file: string): Json => structuredClone(examples.find((x) => x.file === file)!.event);
  const structured = (e: Json): Json => {
    const c = e['context'] as { id: string; source: string; type: string; timestamp: string };
    return {
      specversion: '1.0',
      id: c.id,
      source: c.source,
      type: c.type,
      time: c.timestamp,
      datacontenttype: 'application/json',
      data: e,
    };
  };
  const post = (url: string, body: unknown, headers: Record<string, string>, auth: string | null = `Bearer ${token}`) =>
    fetch(url, {
      method: 'POST',
      body: typeof body === 'string' ? body : JSON.stringify(body),
      headers: { ...headers, ...(auth !== null ? { authorization: auth } : {}) },
    });
  const binaryHeaders = (e: Json): Record<string, string> => {
    const c = e['context'] as { id: string; source: string; type: string; timestamp: string };
    return {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': c.id,
      'ce-source': c.source,
      'ce-type': c.type,
      'ce-time': c.timestamp,
    };
  };
  const idOf = (e: Json): string => {
    const r = cdeventRecord(e);
    return deterministicEventId('cdevents', r.type, r.subject, r.version);
  };

  it('accepts structured, binary and batched deliveries, with the CDEvent as data', async () => {
    const { url, bus } = await server();
    const deployed = example('service_deployed.json');
    const finished = example('pipelinerun_finished.json');
    const incident = example('incident_detected.json');
    (incident['context'] as Json)['id'] = 'another-id';
    expect((await post(url, structured(deployed), { 'content-type': 'application/cloudevents+json; charset=utf-8' })).status).toBe(202);
    expect((await post(url, finished, binaryHeaders(finished))).status).toBe(202);
    const batch = await post(url, [structured(incident), structured(deployed)], { 'content-type': 'application/cloudevents-batch+json' });
    expect(batch.status).toBe(202);
    expect(await batch.json()).toEqual({ accepted: 2 });
    const events = await readTopic(bus, 'raw.cdevents');
    expect(events.map((e) => e.id)).toEqual([idOf(deployed), idOf(finished), idOf(incident), idOf(deployed)]);
    expect(events[1]?.data).toEqual(finished);
    expect(events[1]?.type).toBe('cdevents.pipelinerun');
    expect(events[0]?.connector).toBe('webhook/cdevents');
  });

  it('refuses a wrong or missing bearer token with 401 and publishes nothing', async () => {
    const { url, bus } = await server();
    const e = example('build_started.json');
    expect((await post(url, structured(e), { 'content-type': 'application/cloudevents+json' }, 'Bearer nope')).status).toBe(401);
    expect((await post(url, structured(e), { 'content-type': 'application/cloudevents+json' }, null)).status).toBe(401);
    expect((await post(url, e, binaryHeaders(e), `Basic ${Buffer.from(`x:${token}`).toString('base64')}`)).status).toBe(401);
    expect(await readTopic(bus, 'raw.cdevents')).toHaveLength(0);
  });

  it('answers 400 naming the field for unknown types, invalid events and incomplete CloudEvents', async () => {
    const { url, bus } = await server();
    const errorOf = async (res: Response): Promise<string> => {
      expect(res.status).toBe(400);
      return ((await res.json()) as { error: string }).error;
    };
    const unknown = example('approval_created.json');
    (unknown['context'] as Json)['type'] = 'dev.cdevents.widget.polished.0.1.0';
    expect(await errorOf(await post(url, structured(unknown), { 'content-type': 'application/cloudevents+json' }))).toMatch(
      /context\.type/,
    );
    // A valid event of a spec type the model does not use is accepted (and dropped by the normalizer with its type).
    const approval = example('approval_created.json');
    const accepted = await post(url, structured(approval), { 'content-type': 'application/cloudevents+json' });
    expect(accepted.status).toBe(202);
    const broken = example('service_deployed.json');
    delete (broken['subject'] as Json)['id'];
    expect(await errorOf(await post(url, broken, binaryHeaders(broken)))).toMatch(/field 'subject\.id'/);
    const ok = example('change_merged.json');
    const noType = binaryHeaders(ok);
    delete noType['ce-type'];
    expect(await errorOf(await post(url, ok, noType))).toMatch(/ce-type/);
    expect(await errorOf(await post(url, ok, { 'content-type': 'application/json' }))).toMatch(/ce-specversion/);
    expect(
      await errorOf(
        await post(
          url,
          { ...structured(ok), type: 'dev.cdevents.change.created.0.4.0' },
          { 'content-type': 'application/cloudevents+json' },
        ),
      ),
    ).toMatch(/field 'type'/);
    expect(await errorOf(await post(url, '{"context": ', binaryHeaders(ok)))).toMatch(/not JSON/);
    // Only the accepted approval event was published.
    expect((await readTopic(bus, 'raw.cdevents')).map((e) => e.type)).toEqual(['cdevents.event']);
  });

  it('an event delivered twice keeps its id', async () => {
    const { url, bus } = await server();
    const e = example('ticket_closed.json');
    for (let i = 0; i < 2; i++) expect((await post(url, e, binaryHeaders(e))).status).toBe(202);
    const events = await readTopic(bus, 'raw.cdevents');
    expect(events.map((x) => x.id)).toEqual([idOf(e), idOf(e)]);
  });
});
