import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../cli/commands.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Config } from '../../infra/config/schema.js';
import { customField, issueType, startJiraFake, SYSTEM_FIELDS, type JiraFake, type JiraFakeData } from '../../test/fakes/jira.js';
import { quietLogger, tempDir } from '../../test/support/harness.js';
import type { Check } from '../core/types.js';
import { jiraConnector } from './index.js';

const TOKEN = 'jira-doctor-token';
const EMAIL = 'bot@acme.example';

const COMMON = [issueType('10000', 'Epic', 1), issueType('10001', 'Story'), issueType('10002', 'Task'), issueType('10003', 'Bug')];
const SUBTASK = issueType('10004', 'Subtask', -1);

/**
 * A site with two projects: PAY has every issue type the program KPIs read (Risk, Decision, 'Action item'),
 * OPS has no Risk type and only a sub-task type named 'Action'. Story points, sprint, start date, found-in
 * and severity fields exist; customfield_10099 does not.
 */
function site(): JiraFakeData {
  return {
    issues: new Map(),
    projects: new Map([
      ['PAY', '10100'],
      ['OPS', '10101'],
    ]),
    versions: new Map(),
    sprints: new Map(),
    fields: [
      ...SYSTEM_FIELDS,
      customField('customfield_10015', 'Start date', 'com.atlassian.jira.ext.charting:firstresponsedate'),
      customField('customfield_10016', 'Story point estimate'),
      customField('customfield_10020', 'Sprint', 'com.pyxis.greenhopper.jira:gh-sprint'),
      customField('customfield_10040', 'Found in', 'com.atlassian.jira.plugin.system.customfieldtypes:select'),
      customField('customfield_10041', 'Severity', 'com.atlassian.jira.plugin.system.customfieldtypes:select'),
    ],
    issueTypes: new Map([
      ['PAY', [...COMMON, SUBTASK, issueType('10010', 'Risk'), issueType('10011', 'Decision'), issueType('10012', 'Action item')]],
      ['OPS', [...COMMON, issueType('10011', 'Decision'), { ...issueType('10013', 'Action', -1), subtask: true }]],
    ]),
  };
}

const COMPLETE_FIELDS = {
  storyPoints: 'customfield_10016',
  sprint: 'customfield_10020',
  startDate: 'customfield_10015',
  foundIn: 'customfield_10040',
  severity: 'customfield_10041',
};

describe('jira doctor: what the program KPIs need of each project and of the site', () => {
  let fake: JiraFake;
  const config = (jira: Record<string, unknown>, overrides: Record<string, unknown> = {}): Config =>
    loadConfig({
      env: { PTEL_JIRA_API_TOKEN: TOKEN },
      overrides: { 'sources.jira': { baseUrl: fake.url, email: EMAIL, ...jira }, ...overrides },
      cwd: tempDir(),
    });
  const doctor = (c: Config): Promise<Check[]> => jiraConnector.doctor(jiraConnector.client(c, quietLogger()), c);

  beforeAll(async () => {
    fake = await startJiraFake({ data: site(), token: TOKEN, email: EMAIL });
  });
  afterAll(() => fake.close());

  it('passes a complete project and a complete field configuration, one ok line per check', async () => {
    const checks = await doctor(config({ projects: ['PAY'], fields: COMPLETE_FIELDS }));
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.name)).toEqual([
      'jira credentials',
      'jira project PAY',
      'jira project PAY issue type risk',
      'jira project PAY issue type decision',
      'jira project PAY issue type action',
      'jira project PAY issue type epic',
      'jira field storyPoints',
      'jira field sprint',
      'jira field startDate',
      'jira field foundIn',
      'jira field severity',
      'jira field priority',
      'jira field duedate',
      'jira field milestoneDueDateField',
    ]);
    const byName = new Map(checks.map((c) => [c.name, c.detail]));
    expect(byName.get('jira project PAY issue type action')).toBe("'Action item' (the action register)");
    expect(byName.get('jira field severity')).toBe('customfield_10041 exists (Severity)');
    expect(byName.get('jira field milestoneDueDateField')).toBe("duedate exists (Due date); an epic's committed date is read from it");
  });

  it('fails a missing issue type and a missing custom field, naming them and what to change', async () => {
    const checks = await doctor(
      config(
        { projects: ['PAY', 'OPS'], fields: { ...COMPLETE_FIELDS, severity: 'customfield_10099' } },
        { model: { workItems: { milestoneDueDateField: 'customfield_10077' } } },
      ),
    );
    const failed = Object.fromEntries(checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
    expect(Object.keys(failed).sort()).toEqual([
      'jira field milestoneDueDateField',
      'jira field severity',
      'jira project OPS issue type action', // its 'Action' is a sub-task type: actions are not sub-tasks
      'jira project OPS issue type risk',
    ]);
    expect(failed['jira project OPS issue type risk']).toBe(
      "none of model.workItems.types.risk ('Risk') is an issue type of OPS, so the risk register and risk burn-down find nothing there; " +
        "add the project's name for it to model.workItems.types.risk (OPS has: Epic, Story, Task, Bug, Decision), " +
        "or add the issue type to the project's scheme",
    );
    expect(failed['jira field severity']).toBe(
      'sources.jira.fields.severity: no field customfield_10099 on this site; set it to the id of the field (GET /rest/api/3/field lists them) or remove the key',
    );
    expect(failed['jira field milestoneDueDateField']).toContain('model.workItems.milestoneDueDateField: no field customfield_10077');
    // PAY still passes, and OPS passes what it has.
    const ok = checks.filter((c) => c.ok).map((c) => c.name);
    expect(ok).toEqual(expect.arrayContaining(['jira project PAY issue type risk', 'jira project OPS issue type decision']));
  });

  it('follows the configured type names and leaves epics out when they are not milestones', async () => {
    const checks = await doctor(
      config(
        { projects: ['OPS'] },
        { model: { workItems: { types: { risk: ['Risk', 'Story'], action: ['Task'] }, epicsAreMilestones: false } } },
      ),
    );
    const names = checks.map((c) => c.name);
    expect(names).not.toContain('jira project OPS issue type epic');
    expect(names).not.toContain('jira field milestoneDueDateField');
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === 'jira project OPS issue type risk')!.detail).toBe(
      "'Story' (the risk register and risk burn-down)",
    );
  });

  it('prints each check as one ok or FAIL line through ptel doctor', async () => {
    const c = config({ projects: ['OPS'], fields: { severity: 'customfield_10099' } });
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const code = await COMMANDS['doctor']!.run({ config: c, values: {}, positionals: ['jira'], out, err: new PassThrough() });
    expect(code).toBe(1);
    const lines = text.split('\n').filter((l) => l.startsWith('jira: '));
    expect(lines).toContain("jira: ok   jira project OPS issue type decision: 'Decision' (decision latency)");
    expect(lines.find((l) => l.startsWith('jira: FAIL jira project OPS issue type risk: '))).toBeDefined();
    expect(
      lines.find((l) => l.startsWith('jira: FAIL jira field severity: sources.jira.fields.severity: no field customfield_10099')),
    ).toBeDefined();
  });
});
