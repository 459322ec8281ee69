import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { outcomesConnector as connector } from '../../connectors/outcomes/index.js';
import { runSync } from '../../connectors/core/runner.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { openStore, type Store } from '../../infra/store/client.js';
import { readTopic, syncTarget, type SyncTarget } from '../support/bus.js';
import { ManualClock } from '../support/clock.js';
import { quietLogger, tempDir, uniqueName } from '../support/harness.js';
import { mappedOk } from '../support/mapping.js';

/**
 * Outcome actuals pulled from a ClickHouse server's HTTP interface (the one services.sh runs): each
 * outcome's SQL is run at each interval instant with {at:DateTime64(3)}, its one row's `value` an actual.
 */
describe('outcome actuals from ClickHouse', () => {
  const T0 = Date.parse('2026-11-20T12:00:00.000Z');
  const HOUR = 3_600_000;
  const database = uniqueName('it_outcomes');
  const logger = quietLogger();
  let admin: Store;
  let target: SyncTarget;

  beforeAll(async () => {
    admin = await openStore({
      kind: 'server',
      url: inject('clickhouseUrl'),
      username: 'default',
      password: undefined,
      database: 'default',
    });
    await admin.client.command({ query: `CREATE DATABASE \`${database}\`` });
    await admin.client.command({
      query: `CREATE TABLE \`${database}\`.conversions (at DateTime64(3, 'UTC'), shop String, ratio Float64) ENGINE = MergeTree ORDER BY at`,
    });
    await admin.client.insert({
      table: `\`${database}\`.conversions`,
      values: [
        { at: '2026-11-19 16:00:00.000', shop: 'eu', ratio: 0.3 },
        { at: '2026-11-20 04:00:00.000', shop: 'eu', ratio: 0.35 },
        { at: '2026-11-20 11:00:00.000', shop: 'eu', ratio: 0.4 },
        { at: '2026-11-20 11:00:00.000', shop: 'us', ratio: 0.5 },
      ],
      format: 'JSONEachRow',
    });
    target = await syncTarget();
  });
  afterAll(async () => {
    await target.close();
    await admin.client.command({ query: `DROP DATABASE IF EXISTS \`${database}\`` });
    await admin.close();
  });

  const configOf = (sql: string, name = 'conversion'): Config =>
    loadConfig({
      env: {},
      cwd: tempDir(),
      overrides: {
        'sources.outcomes': {
          intervalMinutes: 360,
          initialDays: 1,
          clickhouse: { url: inject('clickhouseUrl'), user: 'default', database },
        },
        org: {
          programs: [
            {
              id: 'payments',
              name: 'Payments',
              teams: [{ id: 'web', name: 'Web' }],
              outcomes: [
                {
                  name,
                  target: 0.42,
                  direction: 'at_least',
                  due: '2026-12-31',
                  setAt: '2026-09-01T00:00:00Z',
                  actual: { clickhouse: sql },
                },
              ],
            },
          ],
        },
      },
    });
  const sync = (config: Config) =>
    runSync({
      config,
      connectors: [connector],
      bus: target.bus,
      cursors: target.cursors,
      logger,
      clock: new ManualClock(T0),
      filter: { stream: 'clickhouse' },
    });

  it('runs the query at each instant since the cursor, with the instant as {at}', async () => {
    const config = configOf(
      "SELECT ratio AS value FROM conversions WHERE shop = 'eu' AND at <= {at:DateTime64(3)} ORDER BY at DESC LIMIT 1",
    );
    const [progress] = await sync(config);
    // Instants every 6 hours from a day back: the first has no row before it, so no value.
    expect(progress).toMatchObject({
      source: 'outcomes',
      stream: 'clickhouse',
      scope: 'payments/conversion',
      status: 'ok',
      records: 4,
      requests: 5,
    });
    const events = await readTopic(target.bus, 'raw.ingest');
    expect(events.map((e) => e.connector)).toEqual(Array(4).fill('outcomes/clickhouse'));
    const rows = mappedOk(events)['outcome_actuals']!;
    expect(rows.map((r) => [r['observed_at'], r['value'], r['origin']])).toEqual([
      [new Date(T0 - 18 * HOUR).toISOString(), 0.3, 'clickhouse'],
      [new Date(T0 - 12 * HOUR).toISOString(), 0.3, 'clickhouse'],
      [new Date(T0 - 6 * HOUR).toISOString(), 0.35, 'clickhouse'],
      [new Date(T0).toISOString(), 0.4, 'clickhouse'],
    ]);
    // Again at the same instant: the cursor holds, nothing is asked.
    expect((await sync(config))[0]).toMatchObject({ status: 'ok', records: 0, requests: 0 });

    const checks = await connector.doctor(connector.client(config, logger, new ManualClock(T0)), config);
    expect(checks.map((c) => [c.name, c.ok, c.detail.replace(/http:\/\/\S+/, 'URL')])).toEqual([
      ['outcomes clickhouse', true, 'ClickHouse URL answers with sources.outcomes.clickhouse.user and PTEL_OUTCOMES_CLICKHOUSE_PASSWORD'],
      ['outcome payments/conversion', true, 'the query runs: 0.4 at 2026-11-20T12:00:00.000Z'],
    ]);
  });

  it('names the outcome, the endpoint and the server error of a query that fails, or gives more than one row', async () => {
    const [wrong] = await sync(configOf('SELECT ratio AS value FROM no_such_table', 'wrong'));
    expect(wrong).toMatchObject({ status: 'failed' });
    expect(wrong!.error).toMatch(/^outcome payments\/wrong: POST http:\/\/\S+: Code: 60\. DB::Exception: .*'no_such_table'/);
    const [two] = await sync(configOf("SELECT ratio AS value FROM conversions WHERE at = '2026-11-20 11:00:00'", 'two'));
    expect(two!.error).toMatch(
      /^outcome payments\/two: POST http:\/\/\S+: the query gives 2 rows; it must give one row with column 'value'$/,
    );
    const [column] = await sync(configOf('SELECT 1 AS ratio', 'column'));
    expect(column!.error).toContain("the query has no column 'value' (columns: ratio)");
  });
});
