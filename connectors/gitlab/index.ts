import type { Check, Connector, WebhookSource } from '../core/types.js';
import { SourceError } from '../../infra/http-retry.js';
import { createGitlabClient, projectId, type GitlabClient } from './client.js';
import { gitlabStreams } from './streams.js';
import { gitlabWebhook as webhook } from './webhook.js';

async function check(name: string, fn: () => Promise<string>): Promise<Check> {
  try {
    return { name, ok: true, detail: await fn() };
  } catch (err) {
    return { name, ok: false, detail: err instanceof SourceError || err instanceof Error ? err.message : String(err) };
  }
}

export const gitlabConnector: Connector<GitlabClient> = {
  source: 'gitlab',
  missing(config) {
    const s = config.sources.gitlab;
    if (s === undefined) return 'add sources.gitlab to the config file; see ptel.example.yaml';
    if (!s.enabled) return 'sources.gitlab.enabled is false';
    if (s.projects.length === 0) return 'list the projects to pull in sources.gitlab.projects';
    return config.secrets.gitlabToken === undefined ? 'set PTEL_GITLAB_TOKEN in the environment' : undefined;
  },
  client: (config, logger, clock) => createGitlabClient(config, logger, clock !== undefined ? { clock } : {}),
  streams: gitlabStreams,
  async doctor(client, config) {
    const checks: Check[] = [
      await check('gitlab token', async () => {
        const { body } = await client.get('/user');
        const user = (body as { username?: unknown }).username;
        return `valid, authenticated as ${typeof user === 'string' ? user : 'an unnamed user'} on ${client.host}`;
      }),
    ];
    for (const scope of config.sources.gitlab?.projects ?? []) {
      checks.push(
        await check(`gitlab project ${scope}`, async () => {
          const { body } = await client.get(`/projects/${projectId(scope)}`);
          const path = (body as { path_with_namespace?: unknown }).path_with_namespace;
          return `visible as ${typeof path === 'string' ? path : scope}`;
        }),
        await check(`gitlab pipelines of ${scope}`, async () => {
          await client.get(`/projects/${projectId(scope)}/pipelines`, { per_page: 1 });
          return 'readable';
        }),
      );
    }
    return checks;
  },
};

export const gitlabWebhook: WebhookSource = webhook;
