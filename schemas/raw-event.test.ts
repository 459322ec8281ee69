import { describe, expect, it } from 'vitest';
import { buildRawEvent, plainRawEvent, rawEventSchema, type SourceRecord } from './raw-event.js';

const record: SourceRecord = {
  source: 'jira',
  type: 'jira.issue',
  subject: 'acme.atlassian.net/issue/10001',
  version: '2026-05-14T09:00:00.000Z',
  time: '2026-05-14T09:00:00.000Z',
  payload: { id: '10001', key: 'CHK-1' },
};

describe('building a RawEvent', () => {
  it('takes its ingest time from the caller; the id does not depend on it', () => {
    const first = buildRawEvent(record, 'jira/issues', new Date('2026-05-14T10:00:00Z'));
    const again = buildRawEvent(record, 'webhook/jira', new Date('2026-05-15T08:30:00Z'));
    expect(rawEventSchema.parse(first).ingesttime).toBe('2026-05-14T10:00:00.000Z');
    expect(again.ingesttime).toBe('2026-05-15T08:30:00.000Z');
    expect(again.id).toBe(first.id);
  });

  it('refuses an ingest time that is not a date, naming the entity', () => {
    expect(() => buildRawEvent(record, 'jira/issues', new Date('not a date'))).toThrow(
      'jira.issue acme.atlassian.net/issue/10001: the ingest time is not a valid date',
    );
  });
});

describe('checking an envelope without the schema', () => {
  const valid = buildRawEvent(record, 'jira/issues', new Date('2026-05-14T10:00:00Z'));
  const variants: Array<Record<string, unknown>> = [
    valid,
    { ...valid, time: '2024-02-29T23:59:59+05:30' },
    { ...valid, time: '2026-02-29T00:00:00Z' },
    { ...valid, time: '2026-05-14T09:00:00' },
    { ...valid, ingesttime: '2026-13-01T00:00:00Z' },
    { ...valid, id: 'not-a-uuid' },
    { ...valid, id: valid.id.toUpperCase() },
    { ...valid, specversion: '1.1' },
    { ...valid, source: 'gitlab' },
    { ...valid, source: 'svn' },
    { ...valid, type: 'Jira.issue' },
    { ...valid, subject: '' },
    { ...valid, subject: 'x'.repeat(1025) },
    { ...valid, entityversion: 'v'.repeat(257) },
    { ...valid, connector: 7 },
    { ...valid, datacontenttype: 'text/plain' },
    { ...valid, data: null },
    { ...valid, data: 0 },
    { ...valid, extra: true },
    Object.fromEntries(Object.entries(valid).filter(([k]) => k !== 'partitionkey')),
  ];

  it('accepts only what the schema accepts, and gives the same event', () => {
    for (const v of variants) {
      const parsed = rawEventSchema.safeParse(v);
      const plain = plainRawEvent(JSON.parse(JSON.stringify(v)));
      if (plain !== undefined) {
        expect(parsed.success).toBe(true);
        expect(JSON.stringify(plain)).toBe(JSON.stringify(parsed.data));
      }
    }
    expect(plainRawEvent(valid)).toEqual(valid);
    expect(plainRawEvent({ ...valid, time: '2024-02-29T23:59:59+05:30' })).toBeDefined();
    expect(plainRawEvent({ ...valid, extra: true })).toBeUndefined();
    expect(plainRawEvent([valid])).toBeUndefined();
  });
});
