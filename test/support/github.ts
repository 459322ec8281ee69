import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { tempDir } from './harness.js';

/**
 * A configuration with the GitHub source alone, on `baseUrl` (a fake's) for `repositories`, four
 * requests at a time, authenticated with `token`; `extra` adds to or overrides `sources.github`.
 */
export function githubSourceConfig(token: string, baseUrl: string, repositories: string[], extra: Record<string, unknown> = {}): Config {
  return loadConfig({
    env: { PTEL_GITHUB_TOKEN: token },
    overrides: { 'sources.github': { baseUrl, repositories, concurrency: 4, ...extra } },
    cwd: tempDir(),
  });
}
