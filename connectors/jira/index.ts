import type { Connector } from '../core/types.js';
import { createJiraClient, type JiraClient } from './client.js';
import { jiraDoctor } from './doctor.js';
import { jiraStreams } from './streams.js';

export type { JiraClient } from './client.js';
export { jiraWebhook } from './webhook.js';

export interface JiraConnectorOptions {
  /** Overrides sources.jira.deletionScanMinutes (tests). */
  deletionScanEveryMs?: number;
}

/** The Jira connector; options only for tests and tuning. */
export function createJiraConnector(options: JiraConnectorOptions = {}): Connector<JiraClient> {
  return {
    source: 'jira',
    missing(config) {
      const jira = config.sources.jira;
      if (jira === undefined) return 'add sources.jira to the config file; see ptel.example.yaml';
      if (!jira.enabled) return 'sources.jira.enabled is false';
      if (jira.deployment === 'cloud' && (jira.email ?? '') === '') return 'set sources.jira.email, the account that owns the API token';
      return (config.secrets.jiraApiToken ?? '') === '' ? 'set PTEL_JIRA_API_TOKEN in the environment' : undefined;
    },
    client: (config, logger, clock) => createJiraClient(config, logger, clock !== undefined ? { clock } : {}),
    streams: jiraStreams(options.deletionScanEveryMs !== undefined ? { scanEveryMs: options.deletionScanEveryMs } : {}),
    doctor: jiraDoctor,
  };
}

export const jiraConnector: Connector<JiraClient> = createJiraConnector();
