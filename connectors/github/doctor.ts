import type { Config } from '../../infra/config/schema.js';
import type { Check } from '../core/types.js';
import { get, type GithubClient } from './client.js';
import { graphql } from './graphql.js';
import { repositories } from './streams.js';

/** Classic-token scopes that let the streams read private repositories (public_repo covers only public ones). */
const REPO_SCOPES = ['repo', 'public_repo'];
/** What a GitHub App installation (or fine-grained token) needs to read every stream. */
const APP_PERMISSIONS = ['metadata', 'contents', 'pull_requests', 'deployments', 'actions', 'issues'];

async function check(name: string, probe: () => Promise<string>): Promise<Check> {
  try {
    return { name, ok: true, detail: await probe() };
  } catch (err) {
    return { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

const header = (headers: Record<string, string | number | undefined>, name: string): string | undefined => {
  const v = headers[name];
  return v === undefined ? undefined : String(v);
};

/** Checks the credentials, their scopes or permissions, and that each repository and its endpoints answer. */
export async function githubDoctor(client: GithubClient, config: Config): Promise<Check[]> {
  const settings = config.sources.github;
  const checks: Check[] = [];
  const once = { ...client, retry: { ...client.retry, attempts: 1, maxRateLimitWaitMs: 5_000 } };
  if (settings?.auth === 'app') {
    const id = settings.installationId;
    checks.push(
      await check('GitHub App installation', async () => {
        if (settings.appId === undefined || id === undefined) {
          throw new Error('sources.github.appId and sources.github.installationId must be set for auth: app');
        }
        const res = await get(once, '/app/installations/{installation_id}', { params: { installation_id: id } });
        const perms = (res.data as { permissions?: Record<string, string> }).permissions ?? {};
        const missing = APP_PERMISSIONS.filter((p) => perms[p] === undefined);
        if (missing.length > 0)
          throw new Error(`installation ${id} lacks read permission for: ${missing.join(', ')}; grant them in the App settings`);
        return `installation ${id}: ${APP_PERMISSIONS.map((p) => `${p}: ${perms[p] ?? 'none'}`).join(', ')}`;
      }),
    );
  } else {
    checks.push(
      await check('GitHub token', async () => {
        if (config.secrets.githubToken === undefined) throw new Error('PTEL_GITHUB_TOKEN is not set');
        const res = await get(once, '/user');
        const login = (res.data as { login?: string }).login ?? 'unknown';
        const scopes = header(res.headers, 'x-oauth-scopes');
        // Only classic tokens report scopes; fine-grained ones are checked per repository below.
        if (scopes === undefined) return `authenticated as ${login} (fine-grained token: permissions checked per repository)`;
        const list = scopes
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        if (!list.some((s) => REPO_SCOPES.includes(s))) {
          throw new Error(
            `authenticated as ${login} but the token has scopes [${list.join(', ')}]; it needs 'repo' (or 'public_repo' for public repositories only)`,
          );
        }
        return `authenticated as ${login}; scopes: ${list.join(', ')}`;
      }),
    );
  }
  if (client.api === 'graphql') {
    checks.push(
      await check('GitHub GraphQL API', async () => {
        const path = new URL(client.graphqlUrl).pathname;
        try {
          const data = await graphql(
            once,
            'doctor',
            'query doctor { rateLimit { cost limit remaining resetAt } }',
            {},
            {
              needs: 'Metadata: read',
              estimate: 1,
            },
          );
          const rl = (data as { rateLimit?: { limit?: number; remaining?: number; resetAt?: string } } | null)?.rateLimit;
          return `POST ${path} answers; ${rl?.remaining ?? '?'} of ${rl?.limit ?? '?'} points left until ${rl?.resetAt ?? '?'}`;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          throw new Error(`${message}; a server without the GraphQL API needs sources.github.api: rest`, { cause: err });
        }
      }),
    );
  }
  const endpoints: Array<[string, string]> = [
    ['repository', '/repos/{owner}/{repo}'],
    ['pull requests', '/repos/{owner}/{repo}/pulls'],
    ['Actions runs', '/repos/{owner}/{repo}/actions/runs'],
    ['deployments', '/repos/{owner}/{repo}/deployments'],
    // Issues, their events and milestones all need the Issues permission.
    ['issues', '/repos/{owner}/{repo}/issues'],
  ];
  for (const scope of repositories(config)) {
    const [owner = '', repo = ''] = scope.split('/');
    for (const [what, route] of endpoints) {
      checks.push(
        await check(`${scope} ${what}`, async () => {
          await get(once, route, {
            params: { owner, repo, per_page: 1 },
            needs: what === 'repository' ? 'Metadata: read' : `${what}: read`,
          });
          return 'readable';
        }),
      );
    }
  }
  if (repositories(config).length === 0) {
    checks.push({
      name: 'GitHub repositories',
      ok: false,
      detail: 'no repositories: list them in sources.github.repositories or in org teams[].repositories',
    });
  }
  return checks;
}
