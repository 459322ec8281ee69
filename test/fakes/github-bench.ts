import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { githubConnector } from '../../connectors/github/index.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { createLogger } from '../../infra/observability/logger.js';
import { startGithubFake } from './github.js';

const sum = (results: StreamProgress[], f: (r: StreamProgress) => number): number => results.reduce((n, r) => n + f(r), 0);

/**
 * Full sync, then a no-change incremental sync, of the demo organisation's GitHub data (six
 * repositories, some five thousand entity versions) served by the fake API, into an in-process bus.
 */
export async function benchGithub(out: NodeJS.WritableStream): Promise<void> {
  const token = 'ghp_bench';
  const fake = await startGithubFake({ token, prefix: '/api/v3' });
  const dir = mkdtempSync(path.join(tmpdir(), 'ptel-github-bench-'));
  const bus = createLocalBus({ dir, pollMs: 50 });
  try {
    const repositories = [...fake.repos.values()].map((r) => String(r.repo['full_name']));
    const config = loadConfig({
      env: { PTEL_GITHUB_TOKEN: token },
      overrides: { 'sources.github': { baseUrl: fake.baseUrl, repositories, concurrency: 8, initialDays: 3650 } },
      cwd: dir,
    });
    const base = { config, connectors: [githubConnector], bus, cursors: memoryCursorStore(), logger: createLogger({ level: 'silent' }) };

    const started = performance.now();
    const full = await runSync(base);
    const seconds = (performance.now() - started) / 1000;
    const records = sum(full, (r) => r.records);
    const requests = fake.requests.total;
    const failed = full.filter((r) => r.status !== 'ok');
    out.write(`github full sync: ${repositories.length} repositories, ${full.length} stream/repository pairs\n`);
    out.write(`  records ${records}, requests ${requests}, requests/record ${(requests / Math.max(1, records)).toFixed(3)}, `);
    out.write(`records/s ${Math.round(records / seconds)} (${seconds.toFixed(2)} s)\n`);
    for (const [type, n] of perStream(full)) out.write(`  ${type}: ${n.records} records, ${n.requests} requests\n`);
    if (failed.length > 0) out.write(`  FAILED: ${failed.map((r) => `${r.stream} ${r.scope}: ${r.error ?? ''}`).join('; ')}\n`);

    fake.resetCounts();
    const again = await runSync(base);
    out.write(
      `github no-change sync: records ${sum(again, (r) => r.records)}, requests ${fake.requests.total} ` +
        `(${fake.requests.notModified} answered 304)\n`,
    );
  } finally {
    await bus.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function perStream(results: StreamProgress[]): Map<string, { records: number; requests: number }> {
  const m = new Map<string, { records: number; requests: number }>();
  for (const r of results) {
    const e = m.get(r.stream) ?? { records: 0, requests: 0 };
    e.records += r.records;
    e.requests += r.requests;
    m.set(r.stream, e);
  }
  return m;
}
