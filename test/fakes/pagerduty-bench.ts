/**
 * PagerDuty connector bench: a full sync and a no-change incremental sync of a large dataset served
 * by the fake API, then a ten-year backfill of a quiet service, through runSync into an in-process
 * bus; prints records, requests and throughput beside the request bound of the data served.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Figures } from '../../bench/figures.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import { pagerdutyConnector } from '../../connectors/pagerduty/index.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { addRequestFigure } from './request-figure.js';
import { pagerdutyRequestBound, startPagerdutyFake, syntheticPagerdutyData, type PagerdutyDataset } from './pagerduty.js';

const SERVICES = 20;
const INCIDENTS_PER_SERVICE = 250;
const DAYS = 170;
/** The quiet service: a handful of incidents over ten years, backfilled whole. */
const QUIET_INCIDENTS = 5;
const QUIET_DAYS = 3650;

const sum = (results: StreamProgress[], f: (r: StreamProgress) => number): number => results.reduce((n, r) => n + f(r), 0);

interface Synced {
  records: number;
  requests: number;
  seconds: number;
  bound: ReturnType<typeof pagerdutyRequestBound>;
  fake: Awaited<ReturnType<typeof startPagerdutyFake>>;
  run: () => Promise<StreamProgress[]>;
}

/** Serves `data`, runs one full sync over `initialDays` and measures it beside the bound; `then` gets the rest. */
async function withSync(data: PagerdutyDataset, initialDays: number, then: (s: Synced) => Promise<void> | void): Promise<void> {
  const fake = await startPagerdutyFake({ token: 'bench-token', data });
  const dir = await mkdtemp(path.join(tmpdir(), 'ptel-pd-bench-'));
  const bus = createLocalBus({ dir });
  const logger = createLogger({ level: 'silent' });
  const config = loadConfig({
    env: { PTEL_PAGERDUTY_TOKEN: 'bench-token' },
    overrides: { 'sources.pagerduty': { baseUrl: fake.url, services: [...fake.services.keys()], initialDays } },
    cwd: dir,
  });
  const cursors = memoryCursorStore();
  const run = () => runSync({ config, connectors: [pagerdutyConnector], bus, cursors, logger });
  try {
    const to = new Date(Math.floor(Date.now() / 1000) * 1000);
    const bound = pagerdutyRequestBound(data, [...fake.services.keys()], new Date(to.getTime() - initialDays * 86_400_000), to);
    const started = performance.now();
    const full = await run();
    const seconds = (performance.now() - started) / 1000;
    const failed = full.filter((r) => r.status !== 'ok');
    if (failed.length > 0)
      throw new Error(`bench sync failed: ${failed.map((r) => `${r.stream}/${r.scope}: ${r.error ?? ''}`).join('; ')}`);
    await then({ records: sum(full, (r) => r.records), requests: fake.requests.total, seconds, bound, fake, run });
  } finally {
    await bus.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const boundText = (b: Synced['bound']): string =>
  `request bound ${b.total} (services ${b.services}, incidents ${b.incidents}, log entries ${b.logEntries})`;

export async function benchPagerduty(out: NodeJS.WritableStream, figures?: Figures): Promise<void> {
  const data = syntheticPagerdutyData({ services: SERVICES, incidentsPerService: INCIDENTS_PER_SERVICE, days: DAYS });
  await withSync(data, DAYS + 10, async ({ records, requests, seconds, bound, fake, run }) => {
    out.write(
      `pagerduty full sync: ${records} records, ${requests} requests, ${(requests / records).toFixed(4)} requests/record, ` +
        `${Math.round(records / seconds)} records/s (${seconds.toFixed(2)} s); ${boundText(bound)}\n`,
    );
    addRequestFigure(figures, 'pagerduty full sync requests', requests, bound.total, 'PagerDuty');
    // The next sync starts in a later second, so its windows are not empty.
    await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1000)));
    fake.resetCounts();
    const again = await run();
    out.write(`pagerduty no-change sync: ${sum(again, (r) => r.records)} records, ${fake.requests.total} requests\n`);
  });

  const quiet = syntheticPagerdutyData({ services: 1, incidentsPerService: QUIET_INCIDENTS, days: QUIET_DAYS - 10 });
  await withSync(quiet, QUIET_DAYS, ({ records, requests, bound, fake }) => {
    const incidents = fake.requests.log.filter((r) => r.path === '/incidents').length;
    out.write(
      `pagerduty quiet service, ${QUIET_DAYS}-day backfill: ${records} records, ${requests} requests ` +
        `(incidents ${incidents}, log entries ${fake.requests.log.filter((r) => r.path === '/log_entries').length}); ${boundText(bound)}\n`,
    );
    addRequestFigure(figures, 'pagerduty quiet service backfill requests', requests, bound.total, 'PagerDuty');
  });
}
