import type { Connector, WebhookSource } from '../core/types.js';
import { createGithubClient, type GithubClient } from './client.js';
import { githubDoctor } from './doctor.js';
import { githubStreams } from './streams.js';
import { githubWebhook as webhook } from './webhook.js';

export type { GithubClient } from './client.js';

export const githubConnector: Connector<GithubClient> = {
  source: 'github',
  configured(config) {
    const s = config.sources.github;
    if (s === undefined || !s.enabled) return false;
    if (s.auth === 'app')
      return s.appId !== undefined && s.installationId !== undefined && config.secrets.githubAppPrivateKey !== undefined;
    return config.secrets.githubToken !== undefined;
  },
  client: (config, logger) => createGithubClient(config, logger),
  streams: githubStreams,
  doctor: githubDoctor,
};

export const githubWebhook: WebhookSource = webhook;
