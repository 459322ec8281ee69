import type { Connector, WebhookSource } from '../core/types.js';
import { createGithubClient, type GithubClient } from './client.js';
import { githubDoctor } from './doctor.js';
import { githubStreams } from './streams.js';
import { githubWebhook as webhook } from './webhook.js';

export type { GithubClient } from './client.js';

export const githubConnector: Connector<GithubClient> = {
  source: 'github',
  missing(config) {
    const s = config.sources.github;
    if (s === undefined) return 'add sources.github to the config file; see ptel.example.yaml';
    if (!s.enabled) return 'sources.github.enabled is false';
    if (s.auth === 'app') {
      if (s.appId === undefined || s.installationId === undefined) return 'set sources.github.appId and sources.github.installationId';
      return config.secrets.githubAppPrivateKey === undefined ? 'set PTEL_GITHUB_APP_PRIVATE_KEY in the environment' : undefined;
    }
    return config.secrets.githubToken === undefined ? 'set PTEL_GITHUB_TOKEN in the environment' : undefined;
  },
  client: (config, logger, clock) => createGithubClient(config, logger, clock !== undefined ? { clock } : {}),
  streams: githubStreams,
  doctor: githubDoctor,
};

export const githubWebhook: WebhookSource = webhook;
