/**
 * PagerDuty connector bench: a full sync and a no-change incremental sync of a large dataset served
 * by the fake API, through runSync into an in-process bus; prints records, requests and throughput.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import { pagerdutyConnector } from '../../connectors/pagerduty/index.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { startPagerdutyFake, syntheticPagerdutyData } from './pagerduty.js';

const SERVICES = 20;
const INCIDENTS_PER_SERVICE = 250;
const DAYS = 170;

const sum = (results: StreamProgress[], f: (r: StreamProgress) => number): number => results.reduce((n, r) => n + f(r), 0);

export async function benchPagerduty(out: NodeJS.WritableStream): Promise<void> {
  const data = syntheticPagerdutyData({ services: SERVICES, incidentsPerService: INCIDENTS_PER_SERVICE, days: DAYS });
  const fake = await startPagerdutyFake({ token: 'bench-token', data });
  const dir = await mkdtemp(path.join(tmpdir(), 'ptel-pd-bench-'));
  const bus = createLocalBus({ dir });
  const logger = createLogger({ level: 'silent' });
  const config = loadConfig({
    env: { PTEL_PAGERDUTY_TOKEN: 'bench-token' },
    overrides: { 'sources.pagerduty': { baseUrl: fake.url, services: [...fake.services.keys()], initialDays: DAYS + 10 } },
    cwd: dir,
  });
  const cursors = memoryCursorStore();
  const run = () => runSync({ config, connectors: [pagerdutyConnector], bus, cursors, logger });
  try {
    const started = performance.now();
    const full = await run();
    const seconds = (performance.now() - started) / 1000;
    const failed = full.filter((r) => r.status !== 'ok');
    if (failed.length > 0)
      throw new Error(`bench sync failed: ${failed.map((r) => `${r.stream}/${r.scope}: ${r.error ?? ''}`).join('; ')}`);
    const records = sum(full, (r) => r.records);
    const requests = fake.requests.total;
    out.write(
      `pagerduty full sync: ${records} records, ${requests} requests, ${(requests / records).toFixed(4)} requests/record, ` +
        `${Math.round(records / seconds)} records/s (${seconds.toFixed(2)} s)\n`,
    );
    // The next sync starts in a later second, so its windows are not empty.
    await new Promise((r) => setTimeout(r, 1_050 - (Date.now() % 1000)));
    fake.resetCounts();
    const again = await run();
    out.write(`pagerduty no-change sync: ${sum(again, (r) => r.records)} records, ${fake.requests.total} requests\n`);
  } finally {
    await bus.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
