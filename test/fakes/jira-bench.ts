import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import type { Connector } from '../../connectors/core/types.js';
import { jiraConnector } from '../../connectors/jira/index.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { startJiraFake } from './jira.js';

const total = (results: StreamProgress[], field: 'records' | 'requests'): number => results.reduce((n, r) => n + r[field], 0);

/**
 * A full Jira sync of a year of an eight-team demo organisation from the fake API, then a no-change
 * incremental sync, through runSync into a local bus: records, requests and throughput.
 */
export async function benchJira(out: NodeJS.WritableStream): Promise<void> {
  const fake = await startJiraFake({ demo: { teams: 8, months: 12 } });
  const dir = mkdtempSync(path.join(tmpdir(), 'ptel-jira-bench-'));
  const bus = createLocalBus({ dir });
  try {
    const config = loadConfig({
      env: { PTEL_JIRA_API_TOKEN: 'jira-test-token' },
      overrides: {
        'sources.jira': {
          baseUrl: fake.url,
          email: 'bot@acme.example',
          projects: [...fake.data.projects.keys()],
          boards: [...fake.data.sprints.keys()],
          initialDays: 3650,
        },
      },
      cwd: dir,
    });
    const options = {
      config,
      connectors: [jiraConnector as Connector],
      bus,
      cursors: memoryCursorStore(),
      logger: createLogger({ level: 'silent' }),
    };
    const started = process.hrtime.bigint();
    const full = await runSync(options);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const failed = full.filter((r) => r.status !== 'ok');
    if (failed.length > 0) throw new Error(`jira bench: ${failed.map((r) => `${r.stream}/${r.scope}: ${r.error ?? ''}`).join('; ')}`);
    const records = total(full, 'records');
    const requests = fake.requests.total;
    out.write(
      `jira full sync: ${records} records, ${requests} requests, ${(requests / records).toFixed(4)} requests/record, ` +
        `${Math.round(records / seconds)} records/s (${seconds.toFixed(2)} s)\n`,
    );
    fake.resetCounts();
    const again = await runSync(options);
    out.write(`jira no-change incremental sync: ${fake.requests.total} requests, ${total(again, 'records')} records\n`);
  } finally {
    await bus.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
