import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { systemClock, type Clock } from '../../infra/clock.js';
import type { Config } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { demoOrgConfig, generateDemoOrg, type DemoOrg } from './generator.js';

/** What fixes the demo's history: the generator's settings and the instant its history ends. */
export interface DemoAnchor {
  seed: number;
  months: number;
  teams: number;
  /** The end of the history: the UTC day the deployment first used these settings (ISO 8601). */
  now: string;
}

/** The table the anchors live in (migration 0019). */
export const DEMO_ANCHORS_TABLE = 'demo_anchors';

/** The file an earlier version kept the anchor in, in the data folder of an embedded store. */
const ANCHOR_FILE = 'demo-anchor.json';

const fileSchema = z.object({ seed: z.number().int(), now: z.iso.datetime(), months: z.number().int(), teams: z.number().int() });

/** ClickHouse's code for a table that does not exist. */
const UNKNOWN_TABLE = '60';

/** The earliest anchor stored for these settings, if any. */
async function storedAnchor(store: Store, wanted: Omit<DemoAnchor, 'now'>): Promise<string | undefined> {
  let rows: Array<{ anchors: string; now_ms: string }>;
  try {
    const rs = await store.client.query({
      query:
        `SELECT count() AS anchors, toUnixTimestamp64Milli(min(now)) AS now_ms FROM ${DEMO_ANCHORS_TABLE} ` +
        'WHERE seed = {seed:Int64} AND months = {months:UInt32} AND teams = {teams:UInt32}',
      query_params: wanted,
      format: 'JSONEachRow',
    });
    rows = await rs.json<{ anchors: string; now_ms: string }>();
  } catch (err) {
    if ((err as { code?: unknown }).code === UNKNOWN_TABLE) {
      throw new Error(
        `the demo's anchor table '${DEMO_ANCHORS_TABLE}' does not exist in database '${store.database}': run ptel migrate first`,
        { cause: err },
      );
    }
    throw err;
  }
  const row = rows[0];
  if (row === undefined || Number(row.anchors) === 0) return undefined;
  return new Date(Number(row.now_ms)).toISOString();
}

/** The anchor an earlier version kept in the data folder of an embedded store, when it has these settings. */
function anchorFile(config: Config, wanted: Omit<DemoAnchor, 'now'>): string | undefined {
  try {
    const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path.join(config.dataDir, ANCHOR_FILE), 'utf8')));
    if (parsed.success && parsed.data.seed === wanted.seed && parsed.data.months === wanted.months && parsed.data.teams === wanted.teams) {
      return new Date(parsed.data.now).toISOString();
    }
  } catch {
    // no such file, or not one we can read: nothing to take over
  }
  return undefined;
}

/**
 * The demo's anchor for this deployment, kept in the store so that every process of the deployment, on
 * any host, generates the same history (the same entity versions, the same event ids), and running the
 * demo again adds nothing. The first use of a seed and size decides its "now": the clock's UTC day (or,
 * for an embedded store, the anchor an earlier version left in the data folder). Processes that decide
 * at the same time each write their day and then read back the earliest day written, so they converge:
 * writers on the same day write the same anchor. A new seed or size starts a new anchor.
 */
export async function demoAnchor(store: Store, config: Config, clock: Pick<Clock, 'date'> = systemClock): Promise<DemoAnchor> {
  const wanted = { seed: config.demo.seed, months: config.demo.months, teams: config.demo.teams };
  const known = await storedAnchor(store, wanted);
  if (known !== undefined) return { ...wanted, now: known };
  const today = clock.date();
  today.setUTCHours(0, 0, 0, 0);
  const proposed = (store.kind !== 'server' ? anchorFile(config, wanted) : undefined) ?? today.toISOString();
  await store.client.insert({
    table: DEMO_ANCHORS_TABLE,
    values: [{ ...wanted, now: proposed, written_at: clock.date().toISOString() }],
    format: 'JSONEachRow',
  });
  const decided = await storedAnchor(store, wanted);
  if (decided === undefined) {
    throw new Error(`the demo's anchor written to ${store.database}.${DEMO_ANCHORS_TABLE} could not be read back`);
  }
  return { ...wanted, now: decided };
}

/** The demo organisation of this deployment (see demoAnchor), its whole history. */
export async function loadDemo(
  store: Store,
  config: Config,
  clock: Pick<Clock, 'date'> = systemClock,
): Promise<DemoOrg & { now: string; teams: number }> {
  const anchor = await demoAnchor(store, config, clock);
  const demo = generateDemoOrg({ seed: anchor.seed, now: new Date(anchor.now), months: anchor.months, teams: anchor.teams });
  return { ...demo, now: anchor.now, teams: anchor.teams };
}

/**
 * The org mapping of the configured demo organisation, without generating its history. It depends on
 * the seed and the number of teams alone, not on the anchor: a process that only maps (a normalizer)
 * needs neither the store's anchor nor the history.
 */
export function loadDemoOrgConfig(config: Config): DemoOrg['org'] {
  return demoOrgConfig({ seed: config.demo.seed, teams: config.demo.teams, months: config.demo.months });
}
