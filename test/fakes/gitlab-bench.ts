import { gitlabConnector } from '../../connectors/gitlab/index.js';
import { runSync, type StreamProgress } from '../../connectors/core/runner.js';
import { memoryCursorStore } from '../../connectors/core/cursor-store.js';
import { createLocalBus } from '../../infra/bus/local.js';
import { loadConfig } from '../../infra/config/load.js';
import { quietLogger, tempDir } from '../support/harness.js';
import { gitlabDataset, startGitlabFake } from './gitlab.js';

const total = (results: StreamProgress[]): number => results.reduce((n, r) => n + r.records, 0);

/** Full sync then a no-change sync of 8 projects (400 pipelines with 4 jobs, 100 deployments, 150 MRs each) from the fake. */
export async function benchGitlab(out: NodeJS.WritableStream): Promise<void> {
  const projects = gitlabDataset({
    projects: 8,
    pipelines: 400,
    jobsPerPipeline: 4,
    deployments: 100,
    mergeRequests: 150,
    commitsPerMergeRequest: 3,
  });
  const fake = await startGitlabFake({ projects, rateLimit: 1_000_000 });
  const bus = createLocalBus({ dir: tempDir('ptel-bench-') });
  const config = loadConfig({
    env: { PTEL_GITLAB_TOKEN: 'test-token' },
    overrides: { 'sources.gitlab': { baseUrl: fake.url, projects: projects.map((p) => p.path_with_namespace) } },
    cwd: tempDir(),
  });
  const cursors = memoryCursorStore();
  const logger = quietLogger();
  try {
    const t0 = performance.now();
    const full = await runSync({ config, connectors: [gitlabConnector], bus, cursors, logger });
    const seconds = (performance.now() - t0) / 1000;
    const records = total(full);
    const requests = fake.requests.total;
    out.write(
      `gitlab full sync: ${records} records, ${requests} requests, ${(requests / records).toFixed(3)} requests/record, ${Math.round(records / seconds)} records/s\n`,
    );
    fake.resetCounts();
    const again = await runSync({ config, connectors: [gitlabConnector], bus, cursors, logger });
    out.write(`gitlab no-change sync: ${total(again)} records, ${fake.requests.total} requests\n`);
    const failed = [...full, ...again].filter((r) => r.status !== 'ok');
    if (failed.length > 0) out.write(`failed streams: ${failed.map((r) => `${r.stream} ${r.scope}: ${r.error ?? ''}`).join('; ')}\n`);
  } finally {
    await bus.close();
    await fake.close();
  }
}
