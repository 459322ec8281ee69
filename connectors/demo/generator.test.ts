import { describe, it, expect } from 'vitest';
import { z } from 'zod';
import type { SourceRecord } from '../../schemas/raw-event.js';
import { contentHash, INGEST_KIND_NAMES, ingestRecord, type IngestKind } from '../../schemas/ingest.js';
import { ENTITY_TYPES, timeVersion } from '../core/entities.js';
import { demoOrgConfig, generateDemoOrg } from './generator.js';

// ---------------------------------------------------------------------------------------------------
// Shapes: the fields mappers read, with the vendors' types and formats (unknown fields are allowed)

const ghTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
const jiraTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}$/);
const agileTime = z.iso.datetime();
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/);
const pdTime = ghTime;
const sha = z.string().regex(/^[0-9a-f]{40}$/);
const int = z.number().int();
const ghApi = z.string().startsWith('https://api.github.com/repos/acme/');
const ghWeb = z.string().startsWith('https://github.com/acme/');

const ghUser = z.object({
  login: z.string(),
  id: int,
  node_id: z.string(),
  type: z.enum(['User', 'Bot', 'Organization']),
  url: z.url(),
  html_url: z.url(),
});
const gitUser = z.object({ name: z.string(), email: z.string(), date: ghTime });
const ghCommit = z.object({
  sha,
  node_id: z.string(),
  url: ghApi,
  html_url: ghWeb,
  comments_url: ghApi,
  commit: z.object({
    author: gitUser,
    committer: gitUser,
    message: z.string().min(1),
    tree: z.object({ sha, url: ghApi }),
    url: ghApi,
    comment_count: int,
    verification: z.object({ verified: z.boolean(), reason: z.string(), signature: z.string().nullable(), payload: z.string().nullable() }),
  }),
  author: ghUser,
  committer: ghUser,
  parents: z.array(z.object({ sha, url: ghApi, html_url: ghWeb })),
});
const ghRepo = z.object({
  id: int,
  node_id: z.string(),
  name: z.string(),
  full_name: z.string().startsWith('acme/'),
  private: z.boolean(),
  owner: ghUser,
  default_branch: z.literal('main'),
  url: ghApi,
  html_url: ghWeb,
  created_at: ghTime,
  pushed_at: ghTime,
});
const ghLabel = z.object({
  id: int,
  node_id: z.string(),
  url: ghApi,
  name: z.string(),
  color: z.string().regex(/^[0-9a-f]{6}$/),
  default: z.boolean(),
});
const ghRef = z.object({ label: z.string(), ref: z.string(), sha, user: ghUser, repo: ghRepo });

const jiraUser = z.object({
  self: z.string().startsWith('https://acme.atlassian.net/rest/api/3/user?accountId='),
  accountId: z.string(),
  displayName: z.string(),
  active: z.boolean(),
  avatarUrls: z.record(z.string(), z.url()),
});
const jiraStatus = z.object({
  self: z.url(),
  id: z.string(),
  name: z.string(),
  statusCategory: z.object({ id: int, key: z.enum(['new', 'indeterminate', 'done']), colorName: z.string(), name: z.string() }),
});
const jiraNamed = z.object({ self: z.url(), id: z.string(), name: z.string() });
const jiraLinked = z.object({
  id: z.string().regex(/^\d+$/),
  key: z.string().regex(/^[A-Z]+-\d+$/),
  self: z.url(),
  fields: z.object({ summary: z.string(), status: jiraStatus, priority: jiraNamed, issuetype: jiraNamed }),
});
const changeItem = z.object({
  field: z.string(),
  fieldtype: z.enum(['jira', 'custom']),
  from: z.string().nullable(),
  fromString: z.string().nullable(),
  to: z.string().nullable(),
  toString: z.string().nullable(),
});
const option = z.object({ self: z.url(), value: z.string(), id: z.string() });
const sprintState = z.enum(['future', 'active', 'closed']);

const pdId = z.string().regex(/^P[A-Z0-9]{6}$/);
const pdRef = <T extends string>(type: T) =>
  z.object({
    id: pdId,
    type: z.literal(type),
    summary: z.string(),
    self: z.string().startsWith('https://api.pagerduty.com/'),
    html_url: z.url().nullable(),
  });

const SHAPES = {
  'github.repository': ghRepo.extend({
    permissions: z.object({ admin: z.boolean(), push: z.boolean(), pull: z.boolean() }),
    allow_squash_merge: z.boolean(),
  }),
  'github.pull_request': z.object({
    url: ghApi,
    id: int,
    node_id: z.string(),
    html_url: ghWeb,
    number: int.positive(),
    state: z.enum(['open', 'closed']),
    locked: z.boolean(),
    title: z.string(),
    user: ghUser,
    body: z.string().nullable(),
    labels: z.array(ghLabel),
    created_at: ghTime,
    updated_at: ghTime,
    closed_at: ghTime.nullable(),
    merged_at: ghTime.nullable(),
    merge_commit_sha: sha.nullable(),
    requested_reviewers: z.array(ghUser),
    head: ghRef,
    base: ghRef.extend({ ref: z.literal('main') }),
    _links: z.object({ self: z.object({ href: ghApi }), html: z.object({ href: ghWeb }) }),
    author_association: z.string(),
    draft: z.boolean(),
    merged: z.boolean(),
    mergeable: z.boolean().nullable(),
    mergeable_state: z.string(),
    merged_by: ghUser.nullable(),
    commits: int.positive(),
    additions: int,
    deletions: int,
    changed_files: int,
  }),
  'github.pull_request_commits': z.array(ghCommit).min(1),
  'github.review': z.object({
    id: int,
    node_id: z.string(),
    user: ghUser,
    body: z.string(),
    state: z.enum(['APPROVED', 'CHANGES_REQUESTED', 'COMMENTED']),
    html_url: z.string().regex(/^https:\/\/github\.com\/acme\/[^/]+\/pull\/\d+#pullrequestreview-\d+$/),
    pull_request_url: ghApi,
    submitted_at: ghTime,
    commit_id: sha,
    _links: z.object({ html: z.object({ href: ghWeb }), pull_request: z.object({ href: ghApi }) }),
  }),
  'github.commit': ghCommit,
  'github.deployment': z.object({
    url: ghApi,
    id: int,
    node_id: z.string(),
    sha,
    ref: z.string(),
    task: z.string(),
    payload: z.record(z.string(), z.unknown()),
    environment: z.enum(['production', 'staging']),
    original_environment: z.string(),
    description: z.string().nullable(),
    creator: ghUser,
    created_at: ghTime,
    updated_at: ghTime,
    statuses_url: ghApi,
    repository_url: ghApi,
    transient_environment: z.boolean(),
    production_environment: z.boolean(),
  }),
  'github.deployment_status': z.object({
    url: ghApi,
    id: int,
    node_id: z.string(),
    state: z.enum(['error', 'failure', 'inactive', 'pending', 'success', 'queued', 'in_progress']),
    creator: ghUser,
    description: z.string(),
    environment: z.string(),
    target_url: z.string(),
    created_at: ghTime,
    updated_at: ghTime,
    deployment_url: ghApi,
    repository_url: ghApi,
    log_url: z.string(),
  }),
  'github.release': z.object({
    url: ghApi,
    html_url: ghWeb,
    id: int,
    node_id: z.string(),
    tag_name: z.string().regex(/^v\d+\.\d+\.\d+$/),
    target_commitish: z.string(),
    name: z.string().nullable(),
    draft: z.boolean(),
    prerelease: z.boolean(),
    created_at: ghTime,
    published_at: ghTime.nullable(),
    author: ghUser,
    assets: z.array(z.unknown()),
    tarball_url: z.string().nullable(),
    zipball_url: z.string().nullable(),
    body: z.string().nullable(),
  }),
  'github.workflow_run': z.object({
    id: int,
    name: z.string(),
    node_id: z.string(),
    head_branch: z.string().nullable(),
    head_sha: sha,
    path: z.string().regex(/^\.github\/workflows\/[a-z]+\.yml$/),
    display_title: z.string(),
    run_number: int,
    run_attempt: int.positive(),
    event: z.enum(['pull_request', 'push', 'workflow_dispatch']),
    status: z.literal('completed'),
    conclusion: z.enum(['success', 'failure']),
    workflow_id: int,
    url: ghApi,
    html_url: ghWeb,
    pull_requests: z.array(
      z.object({ id: int, number: int, url: ghApi, head: z.object({ ref: z.string(), sha }), base: z.object({ ref: z.string(), sha }) }),
    ),
    created_at: ghTime,
    updated_at: ghTime,
    run_started_at: ghTime,
    actor: ghUser,
    previous_attempt_url: ghApi.nullable(),
    head_commit: z.object({
      id: sha,
      tree_id: sha,
      message: z.string(),
      timestamp: ghTime,
      author: z.object({ name: z.string(), email: z.string() }),
    }),
    repository: z.object({ id: int, full_name: z.string() }),
  }),
  'github.workflow_job': z.object({
    id: int,
    run_id: int,
    run_url: ghApi,
    run_attempt: int,
    node_id: z.string(),
    head_sha: sha,
    url: ghApi,
    html_url: ghWeb,
    status: z.literal('completed'),
    conclusion: z.enum(['success', 'failure']),
    created_at: ghTime,
    started_at: ghTime,
    completed_at: ghTime,
    name: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        status: z.string(),
        conclusion: z.string().nullable(),
        number: int,
        started_at: ghTime,
        completed_at: ghTime,
      }),
    ),
    labels: z.array(z.string()),
    runner_id: int.nullable(),
    runner_name: z.string().nullable(),
    workflow_name: z.string().nullable(),
    head_branch: z.string().nullable(),
  }),
  'jira.issue': z.object({
    id: z.string().regex(/^\d+$/),
    key: z.string().regex(/^[A-Z]+-\d+$/),
    self: z.string().regex(/^https:\/\/acme\.atlassian\.net\/rest\/api\/3\/issue\/\d+$/),
    changelog: z.object({
      startAt: int,
      maxResults: int,
      total: int,
      histories: z.array(
        z.object({ id: z.string().regex(/^\d+$/), author: jiraUser, created: jiraTime, items: z.array(changeItem).min(1) }),
      ),
    }),
    fields: z.object({
      issuetype: jiraNamed.extend({ subtask: z.boolean(), hierarchyLevel: int }),
      parent: jiraLinked.optional(),
      project: z.object({ self: z.url(), id: z.string(), key: z.string(), name: z.string(), projectTypeKey: z.string() }),
      fixVersions: z.array(
        z.object({
          self: z.url(),
          id: z.string(),
          name: z.string(),
          archived: z.boolean(),
          released: z.boolean(),
          releaseDate: date.optional(),
        }),
      ),
      resolution: jiraNamed.nullable(),
      resolutiondate: jiraTime.nullable(),
      created: jiraTime,
      updated: jiraTime,
      statuscategorychangedate: jiraTime,
      priority: jiraNamed,
      labels: z.array(z.string().regex(/^\S+$/)),
      issuelinks: z.array(
        z.object({
          id: z.string(),
          self: z.url(),
          type: z.object({
            id: z.string(),
            name: z.literal('Blocks'),
            inward: z.literal('is blocked by'),
            outward: z.literal('blocks'),
            self: z.url(),
          }),
          inwardIssue: jiraLinked.optional(),
          outwardIssue: jiraLinked.optional(),
        }),
      ),
      assignee: jiraUser.nullable(),
      reporter: jiraUser,
      creator: jiraUser,
      status: jiraStatus,
      components: z.array(jiraNamed),
      description: z.object({ type: z.literal('doc'), version: z.literal(1), content: z.array(z.unknown()) }).nullable(),
      summary: z.string(),
      duedate: date.nullable(),
      customfield_10016: z.number().nullable(),
      customfield_10020: z
        .array(
          z.object({
            id: int,
            name: z.string(),
            state: sprintState,
            boardId: int,
            goal: z.string(),
            startDate: agileTime.optional(),
            endDate: agileTime.optional(),
            completeDate: agileTime.optional(),
          }),
        )
        .nullable(),
      customfield_10040: option.nullable(),
      customfield_10041: option.nullable(),
    }),
  }),
  'jira.version': z.object({
    self: z.url(),
    id: z.string().regex(/^\d+$/),
    name: z.string(),
    archived: z.boolean(),
    released: z.boolean(),
    releaseDate: date,
    startDate: date,
    projectId: int,
    userReleaseDate: z.string(),
  }),
  'jira.sprint': z.object({
    id: int,
    self: z.string().regex(/^https:\/\/acme\.atlassian\.net\/rest\/agile\/1\.0\/sprint\/\d+$/),
    state: sprintState,
    name: z.string(),
    startDate: agileTime.optional(),
    endDate: agileTime.optional(),
    completeDate: agileTime.optional(),
    originBoardId: int,
    goal: z.string(),
  }),
  'pagerduty.service': z.object({
    id: pdId,
    type: z.literal('service'),
    name: z.string(),
    summary: z.string(),
    self: z.url(),
    html_url: z.url(),
    status: z.string(),
    created_at: pdTime,
    escalation_policy: pdRef('escalation_policy_reference'),
    teams: z.array(pdRef('team_reference')),
  }),
  'pagerduty.incident': z.object({
    id: pdId,
    type: z.literal('incident'),
    summary: z.string().regex(/^\[#\d+\] /),
    self: z.string().regex(/^https:\/\/api\.pagerduty\.com\/incidents\/P[A-Z0-9]{6}$/),
    html_url: z.string().regex(/^https:\/\/acme\.pagerduty\.com\/incidents\/P[A-Z0-9]{6}$/),
    incident_number: int,
    title: z.string(),
    created_at: pdTime,
    updated_at: pdTime,
    status: z.enum(['triggered', 'acknowledged', 'resolved']),
    incident_key: z.string().nullable(),
    service: pdRef('service_reference'),
    assignments: z.array(z.object({ at: pdTime, assignee: pdRef('user_reference') })),
    acknowledgements: z.array(z.object({ at: pdTime, acknowledger: pdRef('user_reference') })),
    last_status_change_at: pdTime,
    resolved_at: pdTime.nullable(),
    urgency: z.enum(['high', 'low']),
    priority: pdRef('priority_reference').nullable(),
    escalation_policy: pdRef('escalation_policy_reference'),
    teams: z.array(pdRef('team_reference')),
    first_trigger_log_entry: z.object({ id: z.string(), type: z.literal('trigger_log_entry_reference') }),
  }),
  'pagerduty.log_entry': z.object({
    id: z.string().regex(/^R[A-Z0-9]{25}$/),
    type: z.enum(['trigger_log_entry', 'acknowledge_log_entry', 'resolve_log_entry']),
    summary: z.string(),
    self: z.string().startsWith('https://api.pagerduty.com/log_entries/'),
    created_at: pdTime,
    agent: z.object({ id: z.string(), type: z.string(), summary: z.string() }),
    channel: z.object({ type: z.string() }),
    service: pdRef('service_reference'),
    incident: pdRef('incident_reference'),
  }),
} satisfies Record<string, z.ZodType>;

type Shapes = typeof SHAPES;
type ShapedType = keyof Shapes;
type Shaped<T extends ShapedType> = z.output<Shapes[T]>;

// ---------------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-01T00:00:00Z');
const DAY = 86_400_000;
const { records, org } = generateDemoOrg();

/** Every version of a type, parsed through its shape (throws on a shape slip). */
function versions<T extends ShapedType>(type: T): Array<{ record: SourceRecord; payload: Shaped<T> }> {
  const schema: z.ZodType = SHAPES[type];
  return records.filter((r) => r.type === type).map((record) => ({ record, payload: schema.parse(record.payload) as Shaped<T> }));
}

/** The last version of every subject of a type (records are sorted by time). */
function latest<T extends ShapedType>(type: T): Array<Shaped<T>> {
  const bySubject = new Map<string, Shaped<T>>();
  for (const v of versions(type)) bySubject.set(v.record.subject, v.payload);
  return [...bySubject.values()];
}

const repoOf = (apiUrl: string): string => apiUrl.replace('https://api.github.com/repos/', '').split('/').slice(0, 2).join('/');
const commits = latest('github.commit');
const commitByKey = new Map(commits.map((c) => [`${repoOf(c.url)}@${c.sha}`, c]));
const pulls = latest('github.pull_request');
const mergedPulls = pulls.filter((p) => p.merged);
const prCommitLists = new Map(versions('github.pull_request_commits').map((v) => [v.record.subject, v.payload]));
const issues = latest('jira.issue');
const issueById = new Map(issues.map((i) => [i.id, i]));

describe('generateDemoOrg', () => {
  it('is deterministic for a seed and a now, and varies with the seed', () => {
    const small = { now: NOW, months: 2, teams: 2 };
    const a = generateDemoOrg({ ...small, seed: 7 });
    const b = generateDemoOrg({ ...small, seed: 7 });
    const c = generateDemoOrg({ ...small, seed: 8 });
    expect(a).toEqual(b);
    expect(JSON.stringify(c.records)).not.toEqual(JSON.stringify(a.records));
  });

  it('produces a few thousand records of the known entity types, sorted by time', () => {
    expect(records.length).toBeGreaterThan(3000);
    expect(records.length).toBeLessThan(15000);
    const known = new Set<string>(Object.values(ENTITY_TYPES).flat());
    for (const r of records) expect(known.has(r.type), r.type).toBe(true);
    for (let i = 1; i < records.length; i++) expect(records[i - 1]!.time <= records[i]!.time).toBe(true);
    for (const type of Object.keys(SHAPES))
      expect(
        records.some((r) => r.type === type),
        type,
      ).toBe(true);
  });

  it('keeps every time within the window and derives versions from it', () => {
    const start = new Date(NOW);
    start.setUTCMonth(start.getUTCMonth() - 6);
    for (const r of records) {
      expect(r.time).toBe(new Date(r.time).toISOString());
      expect(r.time <= NOW.toISOString(), `${r.type} ${r.subject} ${r.time}`).toBe(true);
      expect(r.time >= start.toISOString(), `${r.type} ${r.subject} ${r.time}`).toBe(true);
      // A fact from outside the trackers is versioned by its content, as every intake path does.
      if (r.source === 'ingest') expect(r.version).toBe(contentHash(r.payload));
      else if (r.type !== 'github.pull_request_commits' && r.type !== 'github.commit') expect(r.version).toBe(timeVersion(r.time));
    }
    // Immutable git objects are versioned by sha, as the pulls and the push webhooks do.
    for (const { record, payload } of versions('github.pull_request_commits'))
      expect(record.version).toBe(payload[payload.length - 1]!.sha);
    for (const r of records.filter((x) => x.type === 'github.commit')) expect(r.subject.endsWith(`@${r.version}`)).toBe(true);
  });

  it('never emits two records for the same type, subject and version', () => {
    const seen = new Set<string>();
    for (const r of records) {
      const key = `${r.type}\u0000${r.subject}\u0000${r.version}`;
      expect(seen.has(key), key).toBe(false);
      seen.add(key);
    }
  });

  it('gives the same org mapping alone as with its history', () => {
    for (const options of [{}, { seed: 3, teams: 7, months: 2, now: new Date('2026-05-17T00:00:00Z') }]) {
      expect(demoOrgConfig(options)).toEqual(generateDemoOrg(options).org);
    }
    expect(demoOrgConfig({ seed: 3 })).not.toEqual(demoOrgConfig({ seed: 4 }));
  });

  it('works for a real-looking now and other sizes, and rejects bad options', () => {
    const now = new Date('2027-03-15T10:20:30.456Z');
    const one = generateDemoOrg({ seed: 1, now, months: 1, teams: 1 });
    expect(one.org.programs).toHaveLength(1);
    expect(one.records.every((r) => r.time <= now.toISOString())).toBe(true);
    const wide = generateDemoOrg({ seed: 3, now: NOW, months: 1, teams: 9 });
    const teamIds = wide.org.programs.flatMap((p) => p.teams.map((t) => t.id));
    expect(new Set(teamIds).size).toBe(9);
    expect(() => generateDemoOrg({ months: 0 })).toThrow(RangeError);
    expect(() => generateDemoOrg({ teams: 1.5 })).toThrow(RangeError);
  });
});

describe('payload shapes', () => {
  it('match the vendor REST responses for every record', () => {
    for (const r of records.filter((x) => x.source !== 'ingest')) {
      const schema: z.ZodType | undefined = (SHAPES as Record<string, z.ZodType>)[r.type];
      expect(schema, `no shape for ${r.type}`).toBeDefined();
      const result = schema!.safeParse(r.payload);
      if (!result.success) expect.fail(`${r.type} ${r.subject}: ${z.prettifyError(result.error)}`);
    }
  });
});

describe('facts from outside the trackers', () => {
  const ofKind = (kind: IngestKind) => records.filter((r) => r.type === `ingest.${kind}`);

  it('has every intake kind, each record the one its row gives', () => {
    for (const kind of INGEST_KIND_NAMES) {
      const found = ofKind(kind);
      expect(found.length, kind).toBeGreaterThan(0);
      for (const r of found) expect(ingestRecord(kind, r.payload as never)).toEqual(r);
    }
  });

  it('checks readiness before each go/no-go, with a rationale for every waiver', () => {
    const checks = ofKind('readiness_check').map(
      (r) => r.payload as { status: string; go_no_go: string; checked_at: string; rationale?: string },
    );
    expect(new Set(checks.map((c) => c.status))).toEqual(new Set(['pass', 'fail', 'waived']));
    for (const c of checks) {
      expect(c.checked_at < `${c.go_no_go}T00:00:00.000Z`).toBe(true);
      expect(c.rationale !== undefined).toBe(c.status === 'waived');
    }
  });

  it('keeps survey answers without names or texts, some program months under the anonymity floor', () => {
    const answers = ofKind('survey_response').map((r) => r.payload as Record<string, unknown>);
    for (const a of answers)
      expect(Object.keys(a).sort()).toEqual(['comment_count', 'program', 'response', 'score', 'submitted_at', 'survey']);
    const perMonth = new Map<string, number>();
    for (const a of answers.filter((x) => x['survey'] === 'stakeholder_satisfaction')) {
      const key = `${String(a['program'])} ${String(a['submitted_at']).slice(0, 7)}`;
      perMonth.set(key, (perMonth.get(key) ?? 0) + 1);
    }
    expect([...perMonth.values()].some((n) => n < 5)).toBe(true);
    expect([...perMonth.values()].some((n) => n >= 5)).toBe(true);
  });

  it('allocates most cost by tag, some only by account, and leaves a shared account to no program', () => {
    const rows = ofKind('cost_row').map((r) => r.payload as { SubAccountId: string; Tags: Record<string, string> });
    const accounts = new Set(org.programs.flatMap((p) => p.costAccounts));
    expect(rows.some((r) => r.Tags['program'] !== undefined)).toBe(true);
    expect(rows.some((r) => r.Tags['program'] === undefined && accounts.has(r.SubAccountId))).toBe(true);
    expect(rows.some((r) => r.Tags['program'] === undefined && !accounts.has(r.SubAccountId))).toBe(true);
  });

  it('tracks time on estimated issues: 4 hours a point estimated, 0.7 to 1.5 times that logged once resolved', () => {
    const fields = records.filter((r) => r.type === 'jira.issue').map((r) => (r.payload as { fields: Record<string, unknown> }).fields);
    const resolved = fields.filter((f) => f['timeoriginalestimate'] !== null && f['resolutiondate'] !== null);
    expect(resolved.length).toBeGreaterThan(50);
    for (const f of resolved) {
      const estimate = f['timeoriginalestimate'] as number;
      expect(estimate % (4 * 3600)).toBe(0);
      expect(f['timespent'] as number).toBeGreaterThanOrEqual(0.7 * estimate - 60);
      expect(f['timespent'] as number).toBeLessThanOrEqual(1.5 * estimate + 60);
    }
    expect(fields.some((f) => f['timeoriginalestimate'] !== null && f['resolutiondate'] === null && f['timespent'] === null)).toBe(true);
  });

  it("budgets each program's month about what its teams' cloud usage costs in a whole month", () => {
    const rows = ofKind('cost_row').map(
      (r) => r.payload as { SubAccountId: string; Tags: Record<string, string>; EffectiveCost?: number; ChargePeriodStart: string },
    );
    const months = [...new Set(rows.map((r) => r.ChargePeriodStart.slice(0, 7)))].sort();
    // the first and last months of the window are partial
    for (const month of months.slice(1, -1)) {
      for (const p of org.programs) {
        const spent = rows
          .filter((r) => r.ChargePeriodStart.startsWith(month))
          .filter((r) => r.Tags['program'] === p.id || (r.Tags['program'] === undefined && p.costAccounts.includes(r.SubAccountId)))
          .reduce((sum, r) => sum + (r.EffectiveCost ?? 0), 0);
        expect(p.budgets).toHaveLength(1);
        const variance = (spent - p.budgets[0]!.amount) / p.budgets[0]!.amount;
        expect(Math.abs(variance), `${p.id} ${month}: spent ${spent} of ${p.budgets[0]!.amount}`).toBeLessThan(0.15);
      }
    }
  });
});

describe('org config', () => {
  it('has two programs of four teams, each owning its sources', () => {
    expect(org.jiraSite).toBe('acme.atlassian.net');
    expect(org.programs).toHaveLength(2);
    const teams = org.programs.flatMap((p) => p.teams);
    expect(teams).toHaveLength(4);
    for (const t of teams) {
      expect(t.repositories.length).toBeGreaterThanOrEqual(1);
      expect(t.repositories.length).toBeLessThanOrEqual(2);
      expect(t.jira.projects).toHaveLength(1);
      expect(t.pagerduty.services.length).toBe(t.repositories.length);
      expect(t.services.map((s) => s.name)).toEqual(t.repositories.map((r) => r.split('/')[1]));
      expect(t.services.map((s) => s.repositories[0])).toEqual(t.repositories);
      for (const p of t.ci.pipelines) expect(p).toMatch(/^github:acme\/[a-z0-9-]+:(ci|deploy)\.yml$/);
    }
  });
});

describe('referential integrity', () => {
  it('merged pull requests reach main through their merge commit sha', () => {
    expect(mergedPulls.length).toBeGreaterThan(100);
    for (const pr of mergedPulls) {
      const repo = repoOf(pr.url);
      const merge = commitByKey.get(`${repo}@${pr.merge_commit_sha}`);
      expect(merge, `${pr.html_url} ${pr.merge_commit_sha}`).toBeDefined();
      const list = prCommitLists.get(`${repo}#${pr.number}`)!;
      expect(list[list.length - 1]!.sha).toBe(pr.head.sha);
      // With a merge commit, the branch commits themselves are on main too.
      if (merge!.parents.length === 2) {
        expect(merge!.parents[1]!.sha).toBe(pr.head.sha);
        for (const c of list) expect(commitByKey.has(`${repo}@${c.sha}`)).toBe(true);
      }
    }
  });

  it('commits on main have their parents on main, except the first one of the window', () => {
    const byRepo = new Map<string, string[]>();
    for (const c of commits) {
      const missing = c.parents.map((p) => p.sha).filter((s) => !commitByKey.has(`${repoOf(c.url)}@${s}`));
      byRepo.set(repoOf(c.url), [...(byRepo.get(repoOf(c.url)) ?? []), ...missing]);
    }
    for (const [repo, missing] of byRepo) expect(new Set(missing).size, repo).toBe(1);
  });

  it('deployments point at commits, statuses at deployments, jobs at runs, reviews at pull requests', () => {
    const deployments = latest('github.deployment');
    const deploymentUrls = new Set(deployments.map((d) => d.url));
    for (const d of deployments) expect(commitByKey.has(`${repoOf(d.url)}@${d.sha}`)).toBe(true);
    for (const s of latest('github.deployment_status')) expect(deploymentUrls.has(s.deployment_url), s.url).toBe(true);
    const runIds = new Set(latest('github.workflow_run').map((r) => r.id));
    for (const j of latest('github.workflow_job')) expect(runIds.has(j.run_id)).toBe(true);
    const pullUrls = new Set(pulls.map((p) => p.url));
    for (const r of latest('github.review')) expect(pullUrls.has(r.pull_request_url)).toBe(true);
  });

  it('Jira links, parents, sprints and versions point at generated entities', () => {
    const sprintIds = new Set(latest('jira.sprint').map((s) => s.id));
    const versionIds = new Set(latest('jira.version').map((v) => v.id));
    let links = 0;
    let parents = 0;
    for (const issue of issues) {
      for (const l of issue.fields.issuelinks) {
        links++;
        const other = l.outwardIssue ?? l.inwardIssue;
        expect(other && issueById.get(other.id)?.key).toBe(other?.key);
      }
      const parent = issue.fields.parent;
      if (parent) {
        parents++;
        const epic = issueById.get(parent.id);
        expect(epic?.fields.issuetype.name).toBe('Epic');
        expect(epic!.fields.created < issue.fields.created).toBe(true);
      }
      for (const s of issue.fields.customfield_10020 ?? []) expect(sprintIds.has(s.id)).toBe(true);
      for (const v of issue.fields.fixVersions) expect(versionIds.has(v.id)).toBe(true);
    }
    expect(links).toBeGreaterThan(10);
    expect(parents).toBeGreaterThan(50);
  });

  it('incidents belong to services in the org config, and log entries to incidents', () => {
    const configured = new Set(org.programs.flatMap((p) => p.teams.flatMap((t) => t.pagerduty.services)));
    const services = new Set(latest('pagerduty.service').map((s) => s.id));
    const incidents = latest('pagerduty.incident');
    expect(incidents.length).toBeGreaterThan(20);
    for (const i of incidents) {
      expect(configured.has(i.service.id)).toBe(true);
      expect(services.has(i.service.id)).toBe(true);
    }
    const incidentIds = new Set(incidents.map((i) => i.id));
    for (const e of latest('pagerduty.log_entry')) expect(incidentIds.has(e.incident.id)).toBe(true);
  });
});

describe('scenarios the metrics need', () => {
  it('merges with merge commits, squash merges and rebase merges', () => {
    const kinds = new Set(
      mergedPulls.map((pr) => {
        const c = commitByKey.get(`${repoOf(pr.url)}@${pr.merge_commit_sha}`)!;
        if (c.parents.length === 2) return 'merge';
        return c.commit.message.startsWith(`${pr.title} (#${pr.number})`) ? 'squash' : 'rebase';
      }),
    );
    expect([...kinds].sort()).toEqual(['merge', 'rebase', 'squash']);
  });

  it('has rollbacks, hotfixes and flaky CI runs', () => {
    expect(latest('github.deployment').some((d) => d.description?.startsWith('Rollback'))).toBe(true);
    const hotfixes = mergedPulls.filter((p) => p.head.ref.startsWith('hotfix/') && p.labels.some((l) => l.name === 'hotfix'));
    expect(hotfixes.length).toBeGreaterThan(0);
    const attempts = new Map<string, Array<Shaped<'github.workflow_run'>>>();
    for (const { record, payload } of versions('github.workflow_run'))
      attempts.set(record.subject, [...(attempts.get(record.subject) ?? []), payload]);
    const flaky = [...attempts.values()].filter(
      ([first, second]) => first?.conclusion === 'failure' && second?.conclusion === 'success' && second.run_attempt === 2,
    );
    expect(flaky.length).toBeGreaterThan(0);
    for (const [first, second] of flaky) expect(first!.head_sha).toBe(second!.head_sha);
  });

  it('links incidents to deployments explicitly and by inference', () => {
    const serviceNames = new Map(latest('pagerduty.service').map((s) => [s.id, s.name]));
    const finished = new Map<string, number>();
    for (const s of latest('github.deployment_status')) if (s.state === 'success') finished.set(s.deployment_url, Date.parse(s.created_at));
    const production = latest('github.deployment')
      .filter((d) => d.environment === 'production')
      .map((d) => ({ d, repo: repoOf(d.url), created: Date.parse(d.created_at), finished: finished.get(d.url) }))
      .sort((a, b) => a.created - b.created);
    let explicit = 0;
    let inferred = 0;
    for (const incident of latest('pagerduty.incident')) {
      const repo = `acme/${serviceNames.get(incident.service.id)}`;
      const deploys = production.filter((p) => p.repo === repo);
      const names = (text: string): boolean =>
        deploys.some(
          ({ d }) =>
            text.includes(d.sha.slice(0, 7)) ||
            text.includes(`deployment ${d.id} `) ||
            (d.ref.startsWith('v') && text.includes(`release ${d.ref}`)),
        ) || mergedPulls.some((p) => repoOf(p.url) === repo && text.includes(`${repo}#${p.number} `));
      if (names(incident.title)) {
        explicit++;
        continue;
      }
      const started = Date.parse(incident.created_at);
      const afterDeploy = deploys.some((p, k) => {
        const next = deploys[k + 1];
        return p.finished !== undefined && p.finished <= started && started - p.finished <= DAY && (!next || next.created > started);
      });
      if (afterDeploy) inferred++;
    }
    expect(explicit).toBeGreaterThan(0);
    expect(inferred).toBeGreaterThan(0);
  });

  it('has open cross-team blocking links older than ten days', () => {
    const stale = issues.filter((blocker) =>
      blocker.fields.issuelinks.some((l) => {
        const blocked = l.outwardIssue && issueById.get(l.outwardIssue.id);
        if (!blocked || blocked.fields.project.key === blocker.fields.project.key) return false;
        if (blocker.fields.status.statusCategory.key === 'done') return false;
        const made = blocker.changelog.histories.find((h) => h.items.some((i) => i.field === 'Link' && i.to === blocked.key));
        return made !== undefined && Date.parse(made.created) < NOW.getTime() - 10 * DAY;
      }),
    );
    expect(stale.length).toBeGreaterThan(0);
  });

  it('has re-committed epics, late and on-time versions, and the program issue types', () => {
    const epics = issues.filter((i) => i.fields.issuetype.name === 'Epic');
    expect(epics.some((e) => e.changelog.histories.some((h) => h.items.some((i) => i.field === 'duedate')))).toBe(true);
    const firstReleaseDate = new Map<string, string>();
    for (const { payload } of versions('jira.version'))
      if (!firstReleaseDate.has(payload.id)) firstReleaseDate.set(payload.id, payload.releaseDate);
    const released = latest('jira.version').filter((v) => v.released);
    const late = released.filter((v) => v.releaseDate > firstReleaseDate.get(v.id)!);
    expect(late.length).toBeGreaterThan(0);
    expect(released.length - late.length).toBeGreaterThan(0);
    const types = new Set(issues.map((i) => i.fields.issuetype.name));
    for (const t of ['Epic', 'Story', 'Task', 'Bug', 'Risk', 'Decision', 'Action item']) expect(types.has(t), t).toBe(true);
    const bugs = issues.filter((i) => i.fields.issuetype.name === 'Bug');
    expect(bugs.some((b) => b.fields.customfield_10040?.value === 'production')).toBe(true);
    expect(bugs.some((b) => b.fields.labels.includes('prod-bug'))).toBe(true);
    expect(bugs.some((b) => b.fields.labels.some((l) => l.startsWith('pagerduty-')))).toBe(true);
  });

  it('gives every change of an issue its own version carrying the changelog so far', () => {
    const bySubject = new Map<string, Array<Shaped<'jira.issue'>>>();
    for (const { record, payload } of versions('jira.issue'))
      bySubject.set(record.subject, [...(bySubject.get(record.subject) ?? []), payload]);
    for (const list of bySubject.values()) {
      list.forEach((issue, k) => {
        expect(issue.changelog.histories).toHaveLength(k);
        if (k > 0) expect(issue.fields.updated).toBe(issue.changelog.histories[0]!.created);
      });
    }
  });
});
