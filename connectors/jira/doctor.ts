import type { Config } from '../../infra/config/schema.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Check } from '../core/types.js';
import { jiraSettings, type JiraClient } from './client.js';
import * as S from './schemas.js';
import { jiraProjects } from './streams.js';

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Credentials, Browse permission on each project, the configured custom fields, and each board. */
export async function jiraDoctor(client: JiraClient, config: Config): Promise<Check[]> {
  const settings = jiraSettings(config);
  const v = client.v3 !== undefined ? 3 : 2;
  const checks: Check[] = [];
  try {
    const me = await client.call(`GET /rest/api/${v}/myself`, S.anyObject, () =>
      client.v3 !== undefined ? client.v3.myself.getCurrentUser<unknown>() : client.v2.myself.getCurrentUser<unknown>(),
    );
    const who = [me['displayName'], me['emailAddress'] ?? me['name']].filter((x) => typeof x === 'string').join(' ');
    checks.push({ name: 'jira credentials', ok: true, detail: `authenticated as ${who !== '' ? who : 'the API user'}` });
  } catch (err) {
    const fix =
      settings.deployment === 'cloud'
        ? 'set sources.jira.email to the account that owns the API token, and PTEL_JIRA_API_TOKEN to a token from id.atlassian.com'
        : 'set PTEL_JIRA_API_TOKEN to a personal access token of the Data Center user';
    checks.push({ name: 'jira credentials', ok: false, detail: `${reason(err)}; ${fix}` });
    return checks;
  }
  for (const project of jiraProjects(config)) {
    try {
      const res = await client.call(`GET /rest/api/${v}/mypermissions`, S.permissions, () =>
        client.v3 !== undefined
          ? client.v3.permissions.getMyPermissions<unknown>({ projectKey: project, permissions: 'BROWSE_PROJECTS' })
          : client.v2.permissions.getMyPermissions<unknown>({ projectKey: project, permissions: 'BROWSE_PROJECTS' }),
      );
      const ok = res.permissions['BROWSE_PROJECTS']?.havePermission === true;
      checks.push({
        name: `jira project ${project}`,
        ok,
        detail: ok
          ? 'Browse projects granted'
          : `the API user lacks the Browse projects permission on ${project}; grant it in the project's permission scheme`,
      });
    } catch (err) {
      const missing = err instanceof SourceError && err.status === 404;
      checks.push({
        name: `jira project ${project}`,
        ok: false,
        detail: missing ? `project ${project} does not exist or is not visible to the API user` : reason(err),
      });
    }
  }
  const wanted = Object.entries(settings.fields).filter((e): e is [string, string] => e[1] !== undefined);
  if (wanted.length > 0) {
    try {
      const fields = await client.call(`GET /rest/api/${v}/field`, S.fieldList, () =>
        client.v3 !== undefined ? client.v3.issueFields.getFields<unknown>() : client.v2.issueFields.getFields<unknown>(),
      );
      const ids = new Set(fields.map((f) => f.id));
      for (const [role, id] of wanted) {
        checks.push({
          name: `jira field ${role}`,
          ok: ids.has(id),
          detail: ids.has(id) ? `${id} exists` : `sources.jira.fields.${role}: no field ${id} on this site (see GET /rest/api/${v}/field)`,
        });
      }
    } catch (err) {
      checks.push({ name: 'jira fields', ok: false, detail: reason(err) });
    }
  }
  for (const board of settings.boards) {
    try {
      await client.call(`GET /rest/agile/1.0/board/${board}`, S.anyObject, () => client.agile.board.getBoard<unknown>({ boardId: board }));
      checks.push({ name: `jira board ${board}`, ok: true, detail: 'readable' });
    } catch (err) {
      checks.push({
        name: `jira board ${board}`,
        ok: false,
        detail: `${reason(err)}; check sources.jira.boards and that the API user can browse the board's filter projects`,
      });
    }
  }
  return checks;
}
