import { describe, expect, it } from 'vitest';
import { generateDemoOrg } from '../../connectors/demo/generator.js';
import { rawEventBusMessage } from '../../connectors/core/publish.js';
import type { BusMessage } from '../../infra/bus/types.js';
import { buildRawEvent, rawEventSchema } from '../../schemas/raw-event.js';
import { decodeBatch, decodeMessage, encodePayload } from './normalizer.js';

const ingest = new Date('2026-10-01T00:00:00Z');

/** A message whose value is `text`, on the raw topic of `source`. */
const messageOf = (source: string, text: string, offset: number): BusMessage => ({
  topic: `raw.${source}`,
  partition: 0,
  offset: String(offset),
  key: null,
  value: Buffer.from(text),
  headers: {},
  timestamp: 0,
});

describe('decoding a batch', () => {
  it("gives every demo event the payload text and digest its serialized payload has, and the schema's event", () => {
    const demo = generateDemoOrg({ seed: 7, now: ingest, months: 2, teams: 2 });
    const messages = demo.records.map((r, i) => rawEventBusMessage(buildRawEvent(r, 'demo', ingest), i));
    const decoded = decodeBatch(messages);
    const types = new Set<string>();
    decoded.forEach((d, i) => {
      if (!d.ok) throw new Error(`demo message ${i} does not decode: ${d.reason}`);
      const event = rawEventSchema.parse(JSON.parse(messages[i]!.value!.toString('utf8')));
      expect(d.event).toEqual(event);
      expect(Object.keys(d.event)).toEqual(Object.keys(event));
      expect(d.payload).toEqual(encodePayload(event));
      types.add(event.type);
    });
    expect(types.size).toBeGreaterThan(10);
  });

  it('gives a payload written otherwise (spaced, escaped, integer keys, a key twice, non-ASCII) the text JSON.stringify writes', () => {
    const event = buildRawEvent(
      { source: 'github', type: 'github.issue', subject: 's', version: '1', time: '2026-09-01T00:00:00Z', payload: { x: 1 } },
      'webhook/github',
      ingest,
    );
    const envelope = JSON.stringify({ ...event, data: undefined }).slice(0, -1);
    const bodies = [
      '{ "a": 1, "b": [1, 2] }',
      '{"a":"caf\\u00e9","b":"a\\/b"}',
      '{"b":1,"2":"two","1":"one"}',
      '{"a":1,"a":2}',
      '{"a":"café 😀","n":1.50,"m":1E3,"z":-0}',
      '{"a":"café 😀","n":1.5,"m":1000}',
    ];
    const messages = bodies.map((body, i) => messageOf('github', `${envelope},"data":${body}}`, i));
    const decoded = decodeBatch(messages);
    decoded.forEach((d, i) => {
      if (!d.ok) throw new Error(`message ${i} does not decode: ${d.reason}`);
      const data: unknown = JSON.parse(bodies[i]!);
      expect(d.event.data).toEqual(data);
      expect(d.payload).toEqual(encodePayload({ ...event, data: data as object }));
    });
  });

  it('says what is wrong with an envelope as decodeMessage does', () => {
    const texts = ['', 'not json', '{"specversion":"1.0"}', '[]', `{"specversion":"1.0","data":{}}`];
    const messages = texts.map((t, i) => messageOf('jira', t, i));
    const decoded = decodeBatch(messages);
    decoded.forEach((d, i) => {
      const one = decodeMessage(messages[i]!);
      expect(d.ok).toBe(false);
      expect(d).toMatchObject(one);
    });
  });
});
