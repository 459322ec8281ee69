import { describe, expect, it } from 'vitest';
import { buildRawEvent, rawEventSchema, type SourceRecord } from './raw-event.js';

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
