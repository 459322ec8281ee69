import { describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/load.js';
import { tempDir } from '../test/support/harness.js';
import { CONNECTORS } from './registry.js';

const sections: Record<string, Record<string, unknown>> = {
  github: {},
  jira: { baseUrl: 'https://acme.atlassian.net', email: 'bot@acme.example' },
  pagerduty: {},
  gitlab: { projects: ['acme/api'] },
  jenkins: { baseUrl: 'https://ci.acme.example' },
};
const tokens: Record<string, string> = {
  github: 'PTEL_GITHUB_TOKEN',
  jira: 'PTEL_JIRA_API_TOKEN',
  pagerduty: 'PTEL_PAGERDUTY_TOKEN',
  gitlab: 'PTEL_GITLAB_TOKEN',
  jenkins: 'PTEL_JENKINS_API_TOKEN',
};

/** The sources that need a secret; outcomes needs none (connectors/outcomes/outcomes.test.ts says what it needs). */
const withToken = CONNECTORS.filter((c) => tokens[c.source] !== undefined);

describe('what a source still needs', () => {
  it.each(withToken.map((c) => [c.source, c] as const))('%s names the config key, then the variable, then is ready', (source, c) => {
    const cwd = tempDir();
    expect(c.missing(loadConfig({ env: {}, cwd }))).toBe(`add sources.${source} to the config file; see ptel.example.yaml`);
    const overrides = { [`sources.${source}`]: sections[source] };
    expect(c.missing(loadConfig({ env: {}, cwd, overrides }))).toBe(`set ${tokens[source]} in the environment`);
    expect(c.missing(loadConfig({ env: { [tokens[source]!]: 't' }, cwd, overrides }))).toBeUndefined();
    expect(
      c.missing(
        loadConfig({ env: { [tokens[source]!]: 't' }, cwd, overrides: { [`sources.${source}`]: { ...sections[source], enabled: false } } }),
      ),
    ).toBe(`sources.${source}.enabled is false`);
  });

  it('names what else a source needs', () => {
    const cwd = tempDir();
    const jira = CONNECTORS.find((c) => c.source === 'jira')!;
    expect(
      jira.missing(
        loadConfig({ env: { PTEL_JIRA_API_TOKEN: 't' }, cwd, overrides: { 'sources.jira': { baseUrl: 'https://a.atlassian.net' } } }),
      ),
    ).toBe('set sources.jira.email, the account that owns the API token');
    const github = CONNECTORS.find((c) => c.source === 'github')!;
    expect(github.missing(loadConfig({ env: {}, cwd, overrides: { 'sources.github': { auth: 'app' } } }))).toBe(
      'set sources.github.appId and sources.github.installationId',
    );
  });
});
