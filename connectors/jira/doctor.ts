import { z } from 'zod';
import type { Config } from '../../infra/config/schema.js';
import { SourceError } from '../../infra/http-retry.js';
import type { Check } from '../core/types.js';
import { jiraSettings, type JiraClient } from './client.js';
import * as S from './schemas.js';
import { jiraProjects } from './streams.js';

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** A project as GET /rest/api/{2,3}/project/{key} gives it: only the issue types are read. */
const projectDetails = z.looseObject({
  key: z.string().optional(),
  issueTypes: z
    .array(z.looseObject({ id: z.string().optional(), name: z.string().optional(), subtask: z.boolean().optional() }))
    .default([]),
});

/** The kinds the program KPIs read from issue types: their model.workItems.types key, and what reads them. */
const KPI_KINDS = [
  ['risk', 'the risk register and risk burn-down'],
  ['decision', 'decision latency'],
  ['action', 'the action register'],
] as const;

/**
 * Credentials; Browse permission on each project and, per project, the issue types the program KPIs read
 * (model.workItems.types: risk, decision, action, and epic when epics are milestones); the fields the
 * metrics read (the configured custom fields, priority, duedate and the epic milestone date field); and
 * each board.
 */
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
  const browsable: string[] = [];
  for (const project of jiraProjects(config)) {
    try {
      const res = await client.call(`GET /rest/api/${v}/mypermissions`, S.permissions, () =>
        client.v3 !== undefined
          ? client.v3.permissions.getMyPermissions<unknown>({ projectKey: project, permissions: 'BROWSE_PROJECTS' })
          : client.v2.permissions.getMyPermissions<unknown>({ projectKey: project, permissions: 'BROWSE_PROJECTS' }),
      );
      const ok = res.permissions['BROWSE_PROJECTS']?.havePermission === true;
      if (ok) browsable.push(project);
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
  for (const project of browsable) checks.push(...(await issueTypeChecks(client, config, project, v)));
  checks.push(...(await fieldChecks(client, config, v)));
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

/** Whether each kind the program KPIs read has an issue type in the project, one line each. */
async function issueTypeChecks(client: JiraClient, config: Config, project: string, v: 2 | 3): Promise<Check[]> {
  const types = config.model.workItems.types;
  const kinds: Array<[keyof typeof types, string]> = KPI_KINDS.map(([k, r]) => [k, r]);
  if (config.model.workItems.epicsAreMilestones) kinds.push(['epic', 'epic milestones (model.workItems.epicsAreMilestones)']);
  let offered: string[];
  try {
    const res = await client.call(`GET /rest/api/${v}/project/${project}`, projectDetails, () =>
      client.v3 !== undefined
        ? client.v3.projects.getProject<unknown>({ projectIdOrKey: project })
        : client.v2.projects.getProject<unknown>({ projectIdOrKey: project }),
    );
    offered = res.issueTypes.flatMap((t) => (t.name !== undefined && t.subtask !== true ? [t.name] : []));
  } catch (err) {
    return [{ name: `jira project ${project} issue types`, ok: false, detail: reason(err) }];
  }
  return kinds.map(([kind, readBy]): Check => {
    const names = types[kind];
    const found = offered.filter((o) => names.some((n) => n.toLowerCase() === o.toLowerCase()));
    const name = `jira project ${project} issue type ${kind}`;
    if (found.length > 0) return { name, ok: true, detail: `${found.map((f) => `'${f}'`).join(', ')} (${readBy})` };
    return {
      name,
      ok: false,
      detail:
        `none of model.workItems.types.${kind} (${names.map((n) => `'${n}'`).join(', ')}) is an issue type of ${project}, so ${readBy} ` +
        `find nothing there; add the project's name for it to model.workItems.types.${kind} ` +
        `(${project} has: ${offered.length > 0 ? offered.join(', ') : 'none'}), or add the issue type to the project's scheme`,
    };
  });
}

/** The fields the metrics read: the configured custom fields, the system fields priority and duedate, the epic milestone date field. */
async function fieldChecks(client: JiraClient, config: Config, v: 2 | 3): Promise<Check[]> {
  let fields: Array<{ id: string; name?: string | undefined }>;
  try {
    fields = await client.call(`GET /rest/api/${v}/field`, S.fieldList, () =>
      client.v3 !== undefined ? client.v3.issueFields.getFields<unknown>() : client.v2.issueFields.getFields<unknown>(),
    );
  } catch (err) {
    return [{ name: 'jira fields', ok: false, detail: reason(err) }];
  }
  const byId = new Map(fields.map((f) => [f.id, f]));
  const exists = (id: string): string => `${id} exists${byId.get(id)?.name !== undefined ? ` (${byId.get(id)!.name})` : ''}`;
  const checks: Check[] = [];
  const configured = Object.entries(jiraSettings(config).fields).filter((e): e is [string, string] => e[1] !== undefined);
  for (const [role, id] of configured) {
    checks.push({
      name: `jira field ${role}`,
      ok: byId.has(id),
      detail: byId.has(id)
        ? exists(id)
        : `sources.jira.fields.${role}: no field ${id} on this site; set it to the id of the field (GET /rest/api/${v}/field lists them) or remove the key`,
    });
  }
  const system: Array<[string, string]> = [
    [
      'priority',
      'the stall thresholds by priority (metrics.stallBusinessDays.byPriority) and critical items (metrics.criticalPriorityRank)',
    ],
    ['duedate', 'due dates: stalls where the blocker is due after the blocked item, and decision and action deadlines'],
  ];
  for (const [id, readBy] of system) {
    checks.push({
      name: `jira field ${id}`,
      ok: byId.has(id),
      detail: byId.has(id)
        ? `${exists(id)}; read by ${readBy}`
        : `the system field ${id} is not on this site (hidden by a field configuration?); ${readBy} will have nothing to read`,
    });
  }
  const milestoneField = config.model.workItems.milestoneDueDateField;
  if (config.model.workItems.epicsAreMilestones) {
    const ok = byId.has(milestoneField);
    checks.push({
      name: 'jira field milestoneDueDateField',
      ok,
      detail: ok
        ? `${exists(milestoneField)}; an epic's committed date is read from it`
        : `model.workItems.milestoneDueDateField: no field ${milestoneField} on this site; set it to 'duedate' or to the id of the epic's date field (GET /rest/api/${v}/field lists them)`,
    });
  }
  return checks;
}
