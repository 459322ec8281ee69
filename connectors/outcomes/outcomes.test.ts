import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { startPrometheusFake, type FakePrometheus, type Series } from '../../test/fakes/prometheus.js';
import { readTopic, syncTarget, type SyncTarget } from '../../test/support/bus.js';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, tempDir } from '../../test/support/harness.js';
import { mappedOk } from '../../test/support/mapping.js';
import { runSync } from '../core/runner.js';
import { outcomesConnector as connector } from './index.js';
import { instants, MAX_INSTANTS } from './streams.js';

const TOKEN = 'prom-test-token';
const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-20T12:00:00.000Z');
const s = (ms: number): number => ms / 1000;
const logger = quietLogger();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Checkout conversion, one sample every 30 minutes over the day up to T0, 0.30 rising by 0.01 an hour. */
const conversion: Series = {
  metric: { __name__: 'checkout_conversion_ratio', shop: 'eu' },
  samples: Array.from({ length: 49 }, (_, i) => [s(T0 - 24 * HOUR + i * 30 * 60_000), 0.3 + (i * 0.01) / 2] as [number, number]),
};

const program = (outcomes: unknown[], adopters: unknown[] = []) => ({
  id: 'payments',
  name: 'Payments',
  teams: [{ id: 'web', name: 'Web' }],
  outcomes,
  adopters,
});
const conversionOutcome = {
  name: 'checkout_conversion',
  target: 0.42,
  direction: 'at_least',
  due: '2026-12-31',
  unit: 'ratio',
  setAt: '2026-09-01T00:00:00Z',
  revisions: [{ at: '2026-11-01T00:00:00Z', target: 0.4, rationale: 'seasonal dip' }],
  actual: { prometheus: 'checkout_conversion_ratio{shop="eu"}' },
};

function configOf(
  url: string | undefined,
  programs: unknown[],
  env: Record<string, string> = { PTEL_OUTCOMES_PROMETHEUS_TOKEN: TOKEN },
): Config {
  return loadConfig({
    env,
    cwd: tempDir(),
    overrides: {
      'sources.outcomes': { intervalMinutes: 60, initialDays: 1, ...(url !== undefined ? { prometheus: { url } } : {}) },
      org: { programs },
    },
  });
}

async function setUp(series: Series[] = [conversion]): Promise<{ fake: FakePrometheus; target: SyncTarget; clock: ManualClock }> {
  const fake = await startPrometheusFake({ series, token: TOKEN });
  const target = await syncTarget();
  cleanups.push(
    () => fake.close(),
    () => target.close(),
  );
  return { fake, target, clock: new ManualClock(T0) };
}

const sync = (config: Config, { target, clock }: { target: SyncTarget; clock: ManualClock }, stream?: string) =>
  runSync({ config, connectors: [connector], bus: target.bus, cursors: target.cursors, logger, clock, filter: { stream } });

const values = (events: RawEvent[]) =>
  events
    .filter((e) => e.type === 'ingest.outcome_actual')
    .map((e) => e.data as { observed_at: string; value: number })
    .map((d) => [d.observed_at, Math.round(d.value * 1000) / 1000]);

describe('outcomes source', () => {
  it('publishes the targets with their revisions and the adopters, once while the configuration is unchanged', async () => {
    const set = await setUp();
    const config = configOf(undefined, [
      program(
        [{ ...conversionOutcome, actual: undefined }],
        [{ name: 'Team Web', targetDate: '2026-12-15', jira: { label: 'enable-web' } }],
      ),
    ]);
    expect(connector.missing(config)).toBeUndefined();
    const [first] = await sync(config, set);
    expect(first).toMatchObject({ source: 'outcomes', stream: 'targets', status: 'ok', records: 3 });
    // The next interval: nothing changed, nothing published.
    await set.clock.advance(HOUR);
    expect((await sync(config, set))[0]).toMatchObject({ status: 'ok', records: 0 });

    const events = await readTopic(set.target.bus, 'raw.ingest');
    expect(events.map((e) => [e.source, e.type, e.connector])).toEqual([
      ['ingest', 'ingest.outcome_target', 'outcomes/targets'],
      ['ingest', 'ingest.outcome_target', 'outcomes/targets'],
      ['ingest', 'ingest.adopter', 'outcomes/targets'],
    ]);
    const tables = mappedOk(events);
    expect(tables['outcome_targets']!.map((r) => [r['target'], r['due'], r['set_at'], r['rationale']])).toEqual([
      [0.42, '2026-12-31', '2026-09-01T00:00:00.000Z', ''],
      [0.4, '2026-12-31', '2026-11-01T00:00:00.000Z', 'seasonal dip'],
    ]);
    expect(tables['adopters']).toEqual([
      expect.objectContaining({
        adopter: 'Team Web',
        adopter_kind: 'team',
        target_date: '2026-12-15',
        jira_label: 'enable-web',
        jira_issue: '',
      }),
    ]);

    // A backfill publishes them again: the same event ids.
    const again = await runSync({
      config,
      connectors: [connector],
      bus: set.target.bus,
      cursors: set.target.cursors,
      logger,
      clock: set.clock,
      backfillSince: new Date(T0 - HOUR),
    });
    expect(again[0]).toMatchObject({ records: 3 });
    const both = await readTopic(set.target.bus, 'raw.ingest');
    expect(new Set(both.map((e) => e.id)).size).toBe(3);
  });

  it('pulls an actual at each interval instant since its cursor, with the bearer token', async () => {
    const set = await setUp();
    const config = configOf(set.fake.url, [program([conversionOutcome])]);
    const progress = await sync(config, set, 'prometheus');
    expect(progress).toEqual([
      expect.objectContaining({ stream: 'prometheus', scope: 'payments/checkout_conversion', status: 'ok', records: 25 }),
    ]);
    // First pull: from initialDays (1) back, one instant per hour on the hour; each the last sample at or before it.
    const first = values(await readTopic(set.target.bus, 'raw.ingest'));
    expect(first.length).toBe(25);
    expect(first[0]).toEqual(['2026-11-19T12:00:00.000Z', 0.3]);
    expect(first.at(-1)).toEqual(['2026-11-20T12:00:00.000Z', 0.54]);
    expect(set.fake.queries.every((q) => q.query === 'checkout_conversion_ratio{shop="eu"}')).toBe(true);

    // Two hours later, with a sample a minute before each new instant: the pull resumes after its cursor.
    set.fake.series[0]!.samples.push([s(T0 + HOUR - 60_000), 0.6], [s(T0 + 2 * HOUR - 60_000), 0.61]);
    await set.clock.advance(2 * HOUR);
    const asked = set.fake.queries.length;
    await sync(config, set, 'prometheus');
    expect(set.fake.queries.slice(asked).map((q) => q.time)).toEqual([s(T0 + HOUR), s(T0 + 2 * HOUR)]);
    const all = await readTopic(set.target.bus, 'raw.ingest');
    expect(values(all).slice(25)).toEqual([
      ['2026-11-20T13:00:00.000Z', 0.6],
      ['2026-11-20T14:00:00.000Z', 0.61],
    ]);
    expect(all.every((e) => e.connector === 'outcomes/prometheus')).toBe(true);
    expect(mappedOk(all.slice(-1))['outcome_actuals']![0]).toMatchObject({ origin: 'prometheus', value: 0.61 });
  });

  it('resumes an interrupted pull after the last page it published', async () => {
    const set = await setUp();
    const config = loadConfig({
      env: { PTEL_OUTCOMES_PROMETHEUS_TOKEN: TOKEN },
      cwd: tempDir(),
      overrides: {
        'sources.outcomes': { intervalMinutes: 30, initialDays: 2, prometheus: { url: set.fake.url } },
        org: { programs: [program([conversionOutcome])] },
      },
    });
    // 97 instants in pages of 50, the samples in the last 49 of them: the 60th query fails.
    set.fake.failNext(422, 1, 59);
    const [failed] = await sync(config, set, 'prometheus');
    expect(failed).toMatchObject({ status: 'failed', records: 2, requests: 50 });
    // The next pull asks for the second page's instants only.
    const [resumed] = await sync(config, set, 'prometheus');
    expect(resumed).toMatchObject({ status: 'ok', records: 47, requests: 47 });
    const events = await readTopic(set.target.bus, 'raw.ingest');
    expect(values(events).length).toBe(49);
    expect(new Set(events.map((e) => e.id)).size).toBe(49);
  });

  it('publishes nothing for an instant without a sample, and refuses a query giving more than one series', async () => {
    const other: Series = { metric: { __name__: 'checkout_conversion_ratio', shop: 'us' }, samples: conversion.samples };
    const set = await setUp([conversion, other]);
    const config = configOf(set.fake.url, [
      program([
        { ...conversionOutcome, name: 'gone', actual: { prometheus: 'missing_metric' } },
        { ...conversionOutcome, name: 'split', actual: { prometheus: 'checkout_conversion_ratio' } },
      ]),
    ]);
    const progress = await sync(config, set, 'prometheus');
    expect(progress.find((p) => p.scope === 'payments/gone')).toMatchObject({ status: 'ok', records: 0, requests: 25 });
    const split = progress.find((p) => p.scope === 'payments/split')!;
    expect(split.status).toBe('failed');
    expect(split.error).toContain('outcome payments/split');
    expect(split.error).toContain(`GET ${set.fake.url}/api/v1/query`);
    expect(split.error).toContain("query 'checkout_conversion_ratio' gives 2 series");
  });

  it('names the outcome, the endpoint and the error of a refused query, a failed one and a wrong token', async () => {
    const set = await setUp();
    const bad = configOf(set.fake.url, [program([{ ...conversionOutcome, actual: { prometheus: 'rate(x[5m' } }])]);
    const [parse] = await sync(bad, set, 'prometheus');
    expect(parse!.error).toMatch(
      /^outcome payments\/checkout_conversion: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: HTTP 400: bad_data: parse error/,
    );

    set.fake.failNext(422);
    const [failed] = await sync(configOf(set.fake.url, [program([conversionOutcome])]), set, 'prometheus');
    expect(failed!.error).toMatch(
      /^outcome payments\/checkout_conversion: GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query: HTTP 422: execution: injected failure 422/,
    );

    const wrongToken = configOf(set.fake.url, [program([conversionOutcome])], { PTEL_OUTCOMES_PROMETHEUS_TOKEN: 'wrong' });
    const [denied] = await sync(wrongToken, set, 'prometheus');
    expect(denied!.error).toContain('outcome payments/checkout_conversion: GET');
    expect(denied!.error).toContain('401 unauthorized');

    const checks = await connector.doctor(connector.client(wrongToken, logger, set.clock), wrongToken);
    expect(checks).toEqual([
      expect.objectContaining({ name: 'outcomes prometheus', ok: false, detail: expect.stringContaining('401') as unknown }),
    ]);
  });

  it('doctor checks the endpoint, then runs each query, naming the one that fails', async () => {
    const set = await setUp();
    const config = configOf(set.fake.url, [
      program([conversionOutcome, { ...conversionOutcome, name: 'broken', actual: { prometheus: 'sum(x{' } }]),
    ]);
    const checks = await connector.doctor(connector.client(config, logger, set.clock), config);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['outcomes prometheus', true],
      ['outcome payments/checkout_conversion', true],
      ['outcome payments/broken', false],
    ]);
    expect(checks[1]!.detail).toBe('the query runs: 0.54 at 2026-11-20T12:00:00.000Z');
    expect(checks[2]!.detail).toContain('parse error');
  });

  it('says what it still needs', () => {
    const cwd = tempDir();
    expect(connector.missing(loadConfig({ env: {}, cwd }))).toBe('add sources.outcomes to the config file; see ptel.example.yaml');
    expect(connector.missing(loadConfig({ env: {}, cwd, overrides: { 'sources.outcomes': { enabled: false } } }))).toBe(
      'sources.outcomes.enabled is false',
    );
    expect(connector.missing(configOf(undefined, [program([conversionOutcome])]))).toBe(
      'set sources.outcomes.prometheus.url: outcome payments/checkout_conversion is queried there (org.programs[].outcomes[].actual.prometheus)',
    );
  });

  it('spreads the instants of a long first pull wider, on whole multiples of the interval', () => {
    const step = 15 * 60_000;
    const now = T0;
    const long = instants(now - 180 * 24 * HOUR, now, step);
    expect(long.length).toBeLessThanOrEqual(MAX_INSTANTS);
    expect(long.length).toBeGreaterThan(MAX_INSTANTS / 2);
    expect(long.every((t) => t % step === 0)).toBe(true);
    expect(instants(now - 3 * step, now, step)).toEqual([now - 2 * step, now - step, now]);
    expect(instants(now, now, step)).toEqual([]);
  });
});
