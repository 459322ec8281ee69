import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { issueRecord as gitlabIssueRecord } from '../../connectors/gitlab/records.js';
import { gitlabWebhook } from '../../connectors/gitlab/webhook.js';
import { issueRecord } from '../../connectors/jira/records.js';
import * as S from '../../connectors/jira/schemas.js';
import { createLocalBus } from '../../infra/bus/local.js';
import type { Bus } from '../../infra/bus/types.js';
import { loadConfig } from '../../infra/config/load.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { migrate, readMigrations } from '../../infra/store/migrate.js';
import { mapContext } from '../../mapping/registry.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { ManualClock } from '../../test/support/clock.js';
import { queryRows, repoRoot, tempDir, testStore, uniqueName, waitFor } from '../../test/support/harness.js';
import { eventsOf, insertTables, mappedOk } from '../../test/support/mapping.js';
import { batchNormalizer } from '../../test/support/normalize.js';
import { encodePayload, rawEventRow } from './normalizer.js';
import { COLLISION_FIELD, dataQualitySummary, rawEventCollisions } from './quality.js';
import { replay } from './replay.js';

/**
 * Two real Jira Server deliveries for issue BUG-15 with the same fields.updated: the issue was
 * reassigned and commented on within one millisecond. They share one event id, but their payloads
 * differ, and so do the rows mapped from them (the assignee, among others).
 */
const delivery = (name: string): RawEvent => {
  const body = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/jira', name), 'utf8')) as { issue: unknown };
  return eventsOf([issueRecord('acme.atlassian.net', S.issue.parse(body.issue), body)], 'webhook/jira')[0]!;
};
const reassigned = delivery('reassigned_v2.json');
const commented = delivery('commented_v2.json');
const digestOf = (e: RawEvent): string => encodePayload(e).digest;
// Their rows tie on every rank but the digest: the payload with the greatest digest is kept.
const [loser, winner] = [reassigned, commented].sort((a, b) => (digestOf(a) < digestOf(b) ? -1 : 1)) as [RawEvent, RawEvent];
const assigneeOf = (e: RawEvent): unknown => mappedOk([e])['work_items']![0]!['assignee'];

const clock = new ManualClock('2026-06-01T10:00:00.000Z');
const metrics = new PipelineMetrics({ defaultMetrics: false });
const bus: Bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
const stores: Store[] = [];

afterAll(async () => {
  await bus.close();
  for (const s of stores) await s.close();
});

async function freshStore(): Promise<Store> {
  const store = await testStore();
  stores.push(store);
  return store;
}

const writerOf = (store: Store): BatchWriter => new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 10, lingerMs: 1 });

/** One normalizer: its own batch writer on the shared store, as a second process would have. */
const normalizer = (store: Store, writer: BatchWriter = writerOf(store), topic = 'raw.jira'): ((events: RawEvent[]) => Promise<void>) =>
  batchNormalizer({ bus, writer, metrics, clock, topic });

interface Stored {
  raw: Array<{ digest: string; data: string }>;
  item: Array<{ assignee: string; raw_event_id: string }>;
}

/** What the store holds for BUG-15: its raw event and its work item, as every reader sees them (FINAL). */
async function stored(store: Store): Promise<Stored> {
  return {
    raw: await queryRows(store, 'SELECT digest, data FROM raw_events FINAL WHERE id = {id:String}', { id: winner.id }),
    item: await queryRows(store, "SELECT assignee, raw_event_id FROM work_items FINAL WHERE source = 'jira' AND item_id = '10400'"),
  };
}

const kept: Stored = {
  raw: [{ digest: digestOf(winner), data: encodePayload(winner).data }],
  item: [{ assignee: assigneeOf(winner) as string, raw_event_id: winner.id }],
};

/** Replays the store with today's mappers, as `ptel replay` does. */
async function replayed(store: Store): Promise<Stored> {
  const writer = writerOf(store);
  await replay({ store, writer, registry: createMapperRegistry(), context: mapContext(), clock });
  await writer.close();
  return stored(store);
}

/** A batch writer whose first write waits until it is let go, to order two normalizers' writes. */
class HeldWriter extends BatchWriter {
  waiting = false;
  private release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  override async write(batches: Array<{ table: string; rows: Array<Record<string, unknown>> }>): Promise<void> {
    this.waiting = true;
    await this.gate;
    return super.write(batches);
  }

  letGo(): void {
    this.release();
  }
}

describe('payloads that differ under one event id', () => {
  it('are two real deliveries with one id, different digests and different rows', () => {
    expect(reassigned.id).toBe(commented.id);
    expect(reassigned.time).toBe(commented.time);
    expect(digestOf(reassigned)).not.toBe(digestOf(commented));
    expect(assigneeOf(reassigned)).not.toEqual(assigneeOf(commented));
    // The same payload always has the same digest: re-deliveries are no collision.
    expect(digestOf(delivery('reassigned_v2.json'))).toBe(digestOf(reassigned));
  });

  it('the digest the normalizer writes is the one raw_events computes from data for rows stored without it', async () => {
    const store = await freshStore();
    const { digest: _written, ...withoutDigest } = rawEventRow(reassigned, { topic: 'raw.jira', partition: 0, offset: '0' });
    await store.client.insert({ table: 'raw_events', values: [withoutDigest], format: 'JSONEachRow' });
    const [row] = await queryRows<{ digest: string }>(store, 'SELECT digest FROM raw_events');
    expect(row!.digest).toBe(digestOf(reassigned));
  });

  const arrivals: Array<[string, (store: Store) => Promise<void>]> = [
    ['in one batch, the greater digest first', (s) => normalizer(s)([winner, loser])],
    ['in one batch, the greater digest last', (s) => normalizer(s)([loser, winner])],
    [
      'through two normalizers one after the other, the greater digest first',
      async (s) => {
        await normalizer(s)([winner]);
        await normalizer(s)([loser]);
      },
    ],
    [
      'through two normalizers one after the other, the greater digest last',
      async (s) => {
        await normalizer(s)([loser]);
        await normalizer(s)([winner]);
      },
    ],
  ];
  // Two normalizers that looked the id up before either wrote, then wrote in the given order.
  for (const [first, second] of [
    ['greater', 'lesser'],
    ['lesser', 'greater'],
  ] as const) {
    arrivals.push([
      `through two normalizers at once, the ${first} digest written first`,
      async (s) => {
        const writers = {
          greater: new HeldWriter(s, { flushRows: 1000, flushIntervalMs: 10 }),
          lesser: new HeldWriter(s, { flushRows: 1000, flushIntervalMs: 10 }),
        };
        const runs = { greater: normalizer(s, writers.greater)([winner]), lesser: normalizer(s, writers.lesser)([loser]) };
        await waitFor('both normalizers to have looked the id up', () => writers.greater.waiting && writers.lesser.waiting, Boolean, {
          timeoutMs: 10_000,
          intervalMs: 5,
        });
        writers[first].letGo();
        await runs[first];
        writers[second].letGo();
        await runs[second];
      },
    ]);
  }

  for (const [how, arrive] of arrivals) {
    it(`keep the payload with the greatest digest, their rows tying, in raw_events, the domain rows and a replay: ${how}`, async () => {
      const store = await freshStore();
      await arrive(store);
      expect(await stored(store)).toEqual(kept);
      expect(await replayed(store)).toEqual(kept);
      // One id, counted once, with both payloads' digests.
      expect(await rawEventCollisions(store)).toEqual([
        expect.objectContaining({
          type: 'jira.issue',
          id: winner.id,
          digests: [digestOf(loser), digestOf(winner)].sort(),
          kept: digestOf(winner),
        }),
      ]);
    });
  }

  it('are counted once per id however often each payload comes again, and shown among the data-quality notes', async () => {
    const store = await freshStore();
    const superseded = async (): Promise<number> =>
      (await metrics.events.get()).values.find((v) => v.labels['outcome'] === 'superseded' && v.labels['type'] === 'jira.issue')?.value ??
      0;
    const before = await superseded();
    await normalizer(store)([loser, loser]);
    await clock.set('2026-06-01T11:00:00.000Z');
    await normalizer(store)([winner, loser]);
    await clock.set('2026-06-01T12:00:00.000Z');
    await normalizer(store)([loser]);
    await normalizer(store)([winner, winner]);
    expect(await stored(store)).toEqual(kept);
    // The loser, once the winner was there or beside it, was neither stored nor mapped.
    expect((await superseded()) - before).toBe(2);
    const collisions = await rawEventCollisions(store);
    expect(collisions).toEqual([
      {
        source: 'jira',
        type: 'jira.issue',
        subject: winner.subject,
        id: winner.id,
        digests: [digestOf(loser), digestOf(winner)].sort(),
        kept: digestOf(winner),
        firstSeen: '2026-06-01T11:00:00.000Z',
        lastSeen: '2026-06-01T12:00:00.000Z',
      },
    ]);
    const notes = await dataQualitySummary(store, { source: 'jira' });
    expect(notes.filter((n) => n.field === COLLISION_FIELD)).toEqual([
      {
        source: 'jira',
        entity: 'issue',
        field: COLLISION_FIELD,
        problem: expect.stringContaining('ranking highest') as unknown,
        notes: 1,
        lastSeen: '2026-06-01T12:00:00.000Z',
        exampleEventId: winner.id,
      },
    ]);
  });

  it('identical re-deliveries are no collision', async () => {
    const store = await freshStore();
    await normalizer(store)([reassigned, reassigned]);
    await normalizer(store)([delivery('reassigned_v2.json')]);
    expect(await rawEventCollisions(store)).toEqual([]);
    expect((await dataQualitySummary(store)).filter((n) => n.field === COLLISION_FIELD)).toEqual([]);
    expect((await stored(store)).item).toEqual([{ assignee: assigneeOf(reassigned), raw_event_id: reassigned.id }]);
  });

  it('rows stored before raw_events had a digest take part by the digest of their data', async () => {
    const store = await testStore(uniqueName('t'), { migrate: false });
    stores.push(store);
    const migrations = readMigrations();
    await migrate(
      store,
      migrations.filter((m) => m.version < 18),
    );
    // As the normalizer stored it then: the raw row without a digest column, and its domain rows.
    const { digest: _digest, ...oldRow } = rawEventRow(winner, { topic: 'raw.jira', partition: 0, offset: '0' });
    await store.client.insert({ table: 'raw_events', values: [oldRow], format: 'JSONEachRow' });
    await insertTables(store, mappedOk([winner]));
    await migrate(store, migrations);

    await normalizer(store)([winner]);
    expect(await rawEventCollisions(store)).toEqual([]);
    await normalizer(store)([loser]);
    expect(await stored(store)).toEqual(kept);
    expect(await rawEventCollisions(store)).toEqual([expect.objectContaining({ id: winner.id, kept: digestOf(winner) })]);
  });
});

describe('a delivery and a pull of one GitLab issue version', () => {
  // The real delivery of an incident's close, and the issue as GET /projects/:id/issues/:iid lists it
  // at the same updated_at (the documented shape, the facts of the delivery).
  const body = JSON.parse(readFileSync(path.join(repoRoot, 'test/fixtures/gitlab/issue_hook__incident_closed.json'), 'utf8')) as {
    object_attributes: Record<string, unknown>;
  };
  const a = body.object_attributes;
  const config = loadConfig({ env: {}, cwd: tempDir() });
  const [delivered] = eventsOf(
    gitlabWebhook.records({ headers: {}, rawBody: Buffer.from(''), body, receivedAt: new Date('2026-06-01T00:00:00Z') }, config),
    'webhook/gitlab',
  );
  const user = { id: 34850171 };
  const rest = {
    id: a['id'],
    iid: a['iid'],
    project_id: a['project_id'],
    title: a['title'],
    description: a['description'],
    state: 'closed',
    created_at: a['created_at'],
    updated_at: a['updated_at'],
    closed_at: a['closed_at'],
    closed_by: user,
    labels: [],
    milestone: null,
    assignees: [user],
    assignee: user,
    author: user,
    type: 'INCIDENT',
    issue_type: 'incident',
    weight: null,
    due_date: null,
    severity: 'UNKNOWN',
    web_url: a['url'],
  };
  const [pulled] = eventsOf(
    [gitlabIssueRecord('gitlab.com', 'sathwikshetty33-group/mVc', 6, 'closed', a['updated_at'] as string, rest)],
    'gitlab/issues',
  );
  const versionOf = (e: RawEvent): unknown => mappedOk([e])['work_items']![0]!['version'];

  it('share one id, and the row of the pull outranks the row of the delivery, whichever digest is greater', () => {
    expect(pulled!.id).toBe(delivered!.id);
    // The digest alone would keep the delivery.
    expect(digestOf(delivered!) > digestOf(pulled!)).toBe(true);
    expect(Number(versionOf(pulled!))).toBeGreaterThan(Number(versionOf(delivered!)));
  });

  for (const order of [
    [delivered!, pulled!],
    [pulled!, delivered!],
  ]) {
    it(`keep the pulled payload in raw_events, as the work item does, arriving ${order[0]!.connector} first`, async () => {
      const store = await freshStore();
      for (const e of order) await normalizer(store, writerOf(store), 'raw.gitlab')([e]);
      const held = async (): Promise<unknown> => ({
        raw: await queryRows(store, 'SELECT digest FROM raw_events FINAL WHERE id = {id:String}', { id: pulled!.id }),
        item: await queryRows(store, "SELECT toString(version) AS version FROM work_items FINAL WHERE source = 'gitlab'"),
      });
      const expected = { raw: [{ digest: digestOf(pulled!) }], item: [{ version: String(versionOf(pulled!)) }] };
      expect(await held()).toEqual(expected);
      expect(await rawEventCollisions(store)).toEqual([expect.objectContaining({ id: pulled!.id, kept: digestOf(pulled!) })]);
      const writer = writerOf(store);
      await replay({ store, writer, registry: createMapperRegistry(), context: mapContext(), clock });
      await writer.close();
      expect(await held()).toEqual(expected);
    });
  }
});
