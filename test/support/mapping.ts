import type { Row } from '../../infra/store/batch-writer.js';
import type { Store } from '../../infra/store/client.js';
import { buildRawEvent, type RawEvent, type SourceRecord } from '../../schemas/raw-event.js';
import { createMapperRegistry } from '../../connectors/mappers.js';
import { mapContext, type MapContext, type Outcome } from '../../mapping/registry.js';

/** The RawEvents a connector would publish for these records (pull: `<source>/<stream>`; webhook: `webhook/<source>`). */
export function eventsOf(records: SourceRecord[], connector: string, ingestTime = new Date('2026-06-01T00:00:00Z')): RawEvent[] {
  return records.map((r) => buildRawEvent(r, connector, ingestTime));
}

/** Maps events with the product's registry; rows per table from the ok outcomes, plus every outcome. */
export function mapEvents(
  events: RawEvent[],
  context: MapContext = mapContext(),
): { tables: Record<string, Row[]>; outcomes: Array<{ event: RawEvent; outcome: Outcome }> } {
  const registry = createMapperRegistry();
  const tables: Record<string, Row[]> = {};
  const outcomes: Array<{ event: RawEvent; outcome: Outcome }> = [];
  for (const event of events) {
    const outcome = registry.apply(event, context);
    outcomes.push({ event, outcome });
    if (outcome.kind !== 'ok') continue;
    for (const t of outcome.rows) (tables[t.table] ??= []).push(...t.rows);
  }
  return { tables, outcomes };
}

/** Rows of one table from mapEvents, failing loudly when an event was not mapped. */
export function mappedOk(events: RawEvent[], context?: MapContext): Record<string, Row[]> {
  const { tables, outcomes } = mapEvents(events, context);
  const bad = outcomes.filter((o) => o.outcome.kind !== 'ok');
  if (bad.length > 0) {
    const first = bad[0]!;
    throw new Error(
      `${bad.length} event(s) not mapped, first ${first.event.type} ${first.event.subject}: ${JSON.stringify(first.outcome)}`,
    );
  }
  return tables;
}

/** Inserts mapped rows into their tables of a migrated store, so a test proves they fit the schema. */
export async function insertTables(store: Store, tables: Record<string, readonly object[]>): Promise<void> {
  for (const [table, values] of Object.entries(tables)) {
    if (values.length > 0) await store.client.insert({ table, values: [...values], format: 'JSONEachRow' });
  }
}
