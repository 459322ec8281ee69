import { createHash } from 'node:crypto';

/**
 * Vendor objects as the APIs render them, for scenarios that run payloads through the connectors'
 * record builders, the mappers and the linker: GitHub REST commits, pull requests, deployments and
 * deployment statuses (and the webhook deliveries that carry them), PagerDuty REST incidents and v3
 * webhook deliveries, Jira REST issues.
 */

export type Json = Record<string, unknown>;

export const T0 = Date.parse('2026-03-02T00:00:00Z');

/** The instant `hours` after T0, as GitHub and PagerDuty render times (to the second, `Z`). */
export const at = (hours: number): string => new Date(T0 + Math.round(hours * 3_600_000)).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Jira's rendering of the same instant ("2026-03-02T01:00:00.000+0000"). */
export const jiraAt = (hours: number): string => new Date(T0 + Math.round(hours * 3_600_000)).toISOString().replace('Z', '+0000');

/** A stable 40-hex commit sha for a named commit of a repository. */
export const sha = (repo: string, name: string): string => createHash('sha1').update(`${repo}:${name}`).digest('hex');

const API = 'https://api.github.com';
const WEB = 'https://github.com';

const githubUser = (login: string, id: number, type: 'User' | 'Bot' = 'User') => ({
  login,
  id,
  node_id: Buffer.from(`04:${type}${id}`).toString('base64'),
  avatar_url: `https://avatars.githubusercontent.com/u/${id}?v=4`,
  url: `${API}/users/${login}`,
  html_url: `${WEB}/${login}`,
  type,
  site_admin: false,
});

export const DANA = githubUser('dana-k', 583231);
const WEB_FLOW = githubUser('web-flow', 19864447);
const ACTIONS_BOT = githubUser('github-actions[bot]', 41898282, 'Bot');

/** The repository object as GitHub embeds it in deliveries. */
export function githubRepository(fullName: string, id: number): Json {
  const [owner = '', name = ''] = fullName.split('/');
  return {
    id,
    node_id: Buffer.from(`010:Repository${id}`).toString('base64'),
    name,
    full_name: fullName,
    private: true,
    owner: { ...githubUser(owner, 9_000_000 + id), type: 'Organization' },
    html_url: `${WEB}/${fullName}`,
    url: `${API}/repos/${fullName}`,
    created_at: '2024-01-10T09:00:00Z',
    updated_at: at(-48),
    pushed_at: at(-1),
    default_branch: 'main',
    visibility: 'private',
  };
}

export interface CommitSpec {
  name: string;
  parents: string[];
  /** Authored time, hours after T0. */
  authored: number;
  /** Committed time; the authored time unless a rebase or squash rewrote the commit. */
  committed?: number;
  message: string;
}

/** A commit as GET /repos/{o}/{r}/commits and GET /pulls/{n}/commits render it. */
export function restCommit(repo: string, c: CommitSpec): Json {
  const s = sha(repo, c.name);
  const api = `${API}/repos/${repo}`;
  const committedByGitHub = c.committed !== undefined && c.committed !== c.authored;
  return {
    sha: s,
    node_id: Buffer.from(`06:Commit${s}`).toString('base64'),
    commit: {
      author: { name: 'Dana K', email: 'dana@acme.example', date: at(c.authored) },
      committer: committedByGitHub
        ? { name: 'GitHub', email: 'noreply@github.com', date: at(c.committed!) }
        : { name: 'Dana K', email: 'dana@acme.example', date: at(c.authored) },
      message: c.message,
      tree: { sha: sha(repo, `tree:${c.name}`), url: `${api}/git/trees/${sha(repo, `tree:${c.name}`)}` },
      url: `${api}/git/commits/${s}`,
      comment_count: 0,
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    },
    url: `${api}/commits/${s}`,
    html_url: `${WEB}/${repo}/commit/${s}`,
    comments_url: `${api}/commits/${s}/comments`,
    author: DANA,
    committer: committedByGitHub ? WEB_FLOW : DANA,
    parents: c.parents.map((p) => ({
      sha: sha(repo, p),
      url: `${api}/commits/${sha(repo, p)}`,
      html_url: `${WEB}/${repo}/commit/${sha(repo, p)}`,
    })),
  };
}

export interface PullSpec {
  number: number;
  id: number;
  title: string;
  branch: string;
  /** The last commit of the branch. */
  head: string;
  /** The merge, squash or last rebased commit on main. */
  mergeCommit: string;
  opened: number;
  merged: number;
}

/** A merged pull request as GET /repos/{o}/{r}/pulls/{n} renders it. */
export function restPullRequest(repo: string, repoId: number, p: PullSpec): Json {
  const api = `${API}/repos/${repo}`;
  const url = `${api}/pulls/${p.number}`;
  const side = (ref: string, s: string) => ({
    label: `${repo.split('/')[0]}:${ref}`,
    ref,
    sha: s,
    user: DANA,
    repo: githubRepository(repo, repoId),
  });
  return {
    url,
    id: p.id,
    node_id: Buffer.from(`011:PullRequest${p.id}`).toString('base64'),
    html_url: `${WEB}/${repo}/pull/${p.number}`,
    diff_url: `${WEB}/${repo}/pull/${p.number}.diff`,
    patch_url: `${WEB}/${repo}/pull/${p.number}.patch`,
    issue_url: `${api}/issues/${p.number}`,
    number: p.number,
    state: 'closed',
    locked: false,
    title: p.title,
    user: DANA,
    body: null,
    created_at: at(p.opened),
    updated_at: at(p.merged),
    closed_at: at(p.merged),
    merged_at: at(p.merged),
    merge_commit_sha: sha(repo, p.mergeCommit),
    assignee: null,
    assignees: [],
    requested_reviewers: [],
    requested_teams: [],
    labels: [],
    milestone: null,
    draft: false,
    commits_url: `${url}/commits`,
    review_comments_url: `${url}/comments`,
    comments_url: `${api}/issues/${p.number}/comments`,
    statuses_url: `${api}/statuses/${sha(repo, p.head)}`,
    head: side(p.branch, sha(repo, p.head)),
    base: side('main', sha(repo, p.mergeCommit)),
    author_association: 'MEMBER',
    auto_merge: null,
    active_lock_reason: null,
    merged: true,
    mergeable: null,
    rebaseable: null,
    mergeable_state: 'unknown',
    merged_by: DANA,
    comments: 0,
    review_comments: 0,
    maintainer_can_modify: false,
  };
}

export interface StatusSpec {
  id: number;
  state: 'queued' | 'pending' | 'in_progress' | 'success' | 'failure' | 'error' | 'inactive';
  hours: number;
}

export interface DeploymentSpec {
  id: number;
  repo: string;
  /** The deployed commit's name. */
  commit: string;
  ref: string;
  environment: string;
  created: number;
  statuses: StatusSpec[];
}

/**
 * A deployment as GET /repos/{o}/{r}/deployments renders it. `updatedHours` is its updated_at: GitHub
 * moves it with every status, so a pull after the last status reads that status's time.
 */
export function restDeployment(d: DeploymentSpec, updatedHours = lastStatus(d).hours): Json {
  const api = `${API}/repos/${d.repo}`;
  const url = `${api}/deployments/${d.id}`;
  const deployed = sha(d.repo, d.commit);
  return {
    url,
    id: d.id,
    node_id: Buffer.from(`010:Deployment${d.id}`).toString('base64'),
    sha: deployed,
    ref: d.ref,
    task: 'deploy',
    payload: {},
    original_environment: d.environment,
    environment: d.environment,
    description: `Deploy ${d.ref} (${deployed.slice(0, 7)}) to ${d.environment}`,
    creator: ACTIONS_BOT,
    created_at: at(d.created),
    updated_at: at(updatedHours),
    statuses_url: `${url}/statuses`,
    repository_url: api,
    transient_environment: false,
    production_environment: d.environment === 'production',
  };
}

const lastStatus = (d: DeploymentSpec): StatusSpec => d.statuses.reduce((a, b) => (b.hours > a.hours ? b : a));

/** A deployment status as GET /deployments/{id}/statuses renders it. */
export function restDeploymentStatus(d: DeploymentSpec, s: StatusSpec): Json {
  const api = `${API}/repos/${d.repo}`;
  const log = `${WEB}/${d.repo}/actions/runs/${d.id * 10}/job/${s.id}`;
  return {
    url: `${api}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: Buffer.from(`016:DeploymentStatus${s.id}`).toString('base64'),
    state: s.state,
    creator: ACTIONS_BOT,
    description: s.state === 'failure' ? 'Deployment failed: smoke test did not pass.' : `Deployment ${s.state}`,
    environment: d.environment,
    target_url: log,
    created_at: at(s.hours),
    updated_at: at(s.hours),
    deployment_url: `${api}/deployments/${d.id}`,
    repository_url: api,
    environment_url: s.state === 'success' ? `https://${d.repo.split('/')[1]}.acme.example` : '',
    log_url: log,
  };
}

/** The `deployment` webhook delivery GitHub sends when the deployment is created. */
export function deploymentDelivery(d: DeploymentSpec, repoId: number): Json {
  return {
    action: 'created',
    deployment: restDeployment(d, d.created),
    workflow: null,
    workflow_run: null,
    repository: githubRepository(d.repo, repoId),
    organization: { login: d.repo.split('/')[0], id: 9_000_000 },
    sender: ACTIONS_BOT,
  };
}

/** The `deployment_status` webhook delivery: the status and the deployment as it is at that moment. */
export function deploymentStatusDelivery(d: DeploymentSpec, s: StatusSpec, repoId: number): Json {
  return {
    action: 'created',
    deployment_status: restDeploymentStatus(d, s),
    deployment: restDeployment(d, s.hours),
    check_run: null,
    workflow: null,
    workflow_run: null,
    repository: githubRepository(d.repo, repoId),
    organization: { login: d.repo.split('/')[0], id: 9_000_000 },
    sender: ACTIONS_BOT,
  };
}

// ---------------------------------------------------------------------------------------------
// PagerDuty

const PD_API = 'https://api.pagerduty.com';
const PD_WEB = 'https://acme.pagerduty.com';

export interface IncidentSpec {
  id: string;
  number: number;
  title: string;
  service: { id: string; name: string };
  created: number;
  resolved: number;
}

const serviceReference = (s: IncidentSpec['service']) => ({
  id: s.id,
  type: 'service_reference',
  summary: s.name,
  self: `${PD_API}/services/${s.id}`,
  html_url: `${PD_WEB}/service-directory/${s.id}`,
});

const RESPONDER = {
  id: 'PXPGF42',
  type: 'user_reference',
  summary: 'Dana K',
  self: `${PD_API}/users/PXPGF42`,
  html_url: `${PD_WEB}/users/PXPGF42`,
};
const POLICY = {
  id: 'PT20YPA',
  type: 'escalation_policy_reference',
  summary: 'Checkout on-call',
  self: `${PD_API}/escalation_policies/PT20YPA`,
  html_url: `${PD_WEB}/escalation_policies/PT20YPA`,
};

/** A resolved incident as GET /incidents renders it. */
export function restIncident(i: IncidentSpec): Json {
  return {
    id: i.id,
    type: 'incident',
    summary: `[#${i.number}] ${i.title}`,
    self: `${PD_API}/incidents/${i.id}`,
    html_url: `${PD_WEB}/incidents/${i.id}`,
    incident_number: i.number,
    title: i.title,
    description: i.title,
    created_at: at(i.created),
    updated_at: at(i.resolved),
    status: 'resolved',
    incident_key: `${i.id.toLowerCase()}-key`,
    service: serviceReference(i.service),
    assignments: [],
    assigned_via: 'escalation_policy',
    acknowledgements: [],
    last_status_change_at: at(i.resolved),
    last_status_change_by: serviceReference(i.service),
    resolved_at: at(i.resolved),
    alert_counts: { all: 1, triggered: 0, resolved: 1 },
    pending_actions: [],
    is_mergeable: true,
    escalation_policy: POLICY,
    teams: [],
    priority: null,
    resolve_reason: null,
    conference_bridge: null,
    incidents_responders: [],
    responder_requests: [],
    urgency: 'high',
  };
}

/** A v3 webhook delivery of one status change of the incident (incident.triggered, incident.resolved). */
export function incidentDelivery(i: IncidentSpec, status: 'triggered' | 'resolved'): Json {
  const hours = status === 'triggered' ? i.created : i.resolved;
  return {
    event: {
      id: `01${i.id}${status === 'triggered' ? 'TRG' : 'RES'}0000000000`,
      event_type: `incident.${status}`,
      resource_type: 'incident',
      occurred_at: new Date(Date.parse(at(hours)) + 412).toISOString(),
      agent: status === 'triggered' ? serviceReference(i.service) : RESPONDER,
      client: null,
      data: {
        id: i.id,
        type: 'incident',
        self: `${PD_API}/incidents/${i.id}`,
        html_url: `${PD_WEB}/incidents/${i.id}`,
        number: i.number,
        status,
        incident_key: `${i.id.toLowerCase()}-key`,
        created_at: at(i.created),
        title: i.title,
        service: serviceReference(i.service),
        assignees: status === 'triggered' ? [RESPONDER] : [],
        escalation_policy: POLICY,
        teams: [],
        priority: null,
        urgency: 'high',
        conference_bridge: null,
        resolve_reason: null,
      },
    },
  };
}

/** A service as GET /services renders it. */
export function restService(s: IncidentSpec['service']): Json {
  return {
    id: s.id,
    name: s.name,
    description: `${s.name} in production`,
    created_at: '2024-01-10T09:00:00Z',
    status: 'active',
    type: 'service',
    summary: s.name,
    self: `${PD_API}/services/${s.id}`,
    html_url: `${PD_WEB}/service-directory/${s.id}`,
    escalation_policy: POLICY,
    teams: [],
    alert_creation: 'create_alerts_and_incidents',
  };
}

// ---------------------------------------------------------------------------------------------
// Jira

export interface IssueSpec {
  id: string;
  key: string;
  summary: string;
  created: number;
  /** Extra fields (custom fields by id, labels, environment). */
  fields?: Json;
}

/** A Bug as POST /rest/api/3/search/jql renders it with expand=changelog. */
export function restIssue(site: string, i: IssueSpec): Json {
  return {
    expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
    id: i.id,
    self: `https://${site}/rest/api/3/issue/${i.id}`,
    key: i.key,
    fields: {
      summary: i.summary,
      issuetype: { id: '10004', name: 'Bug', subtask: false, hierarchyLevel: 0, self: `https://${site}/rest/api/3/issuetype/10004` },
      project: { id: '10000', key: 'CHK', name: 'Checkout', projectTypeKey: 'software', self: `https://${site}/rest/api/3/project/10000` },
      status: {
        id: '10001',
        name: 'To Do',
        statusCategory: { id: 2, key: 'new', colorName: 'blue-gray', name: 'To Do' },
        self: `https://${site}/rest/api/3/status/10001`,
      },
      priority: { id: '2', name: 'High', self: `https://${site}/rest/api/3/priority/2` },
      assignee: null,
      reporter: { accountId: '5b10a2844c20165700ede21g', accountType: 'atlassian', displayName: 'Dana K', active: true },
      components: [],
      labels: [],
      duedate: null,
      fixVersions: [],
      versions: [],
      environment: null,
      resolution: null,
      resolutiondate: null,
      issuelinks: [],
      created: jiraAt(i.created),
      updated: jiraAt(i.created),
      ...i.fields,
    },
    changelog: { startAt: 0, maxResults: 0, total: 0, histories: [] },
  };
}
