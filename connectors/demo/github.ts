/**
 * Renders a repository's delivery as GitHub REST objects: GET /repos/{o}/{r}, /pulls/{n},
 * /pulls/{n}/commits, /pulls/{n}/reviews, /commits (list items), /deployments, /deployments/{id}/statuses,
 * /releases, /actions/runs and /actions/runs/{id}/jobs.
 */
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import { mainHeadAt } from './delivery.js';
import {
  landingHead,
  type Deployment,
  type DeploymentState,
  type GitCommit,
  type Job,
  type PullRequest,
  type RepoDelivery,
  type RunAttempt,
  type Window,
  type WorkflowRun,
} from './model.js';
import { legacyNodeId } from './ids.js';
import type { Organisation, Person, Repo } from './org.js';
import { incidentUrl } from './pagerduty.js';
import { MINUTE, isoSeconds } from './time.js';

const API = 'https://api.github.com';
const WEB = 'https://github.com';

function simpleUser(login: string, id: number, type: 'User' | 'Organization' | 'Bot', nodeId = legacyNodeId(type, id)) {
  const url = `${API}/users/${encodeURIComponent(login)}`;
  return {
    login,
    id,
    node_id: nodeId,
    avatar_url: type === 'Bot' ? 'https://avatars.githubusercontent.com/in/15368?v=4' : `https://avatars.githubusercontent.com/u/${id}?v=4`,
    gravatar_id: '',
    url,
    html_url: type === 'Bot' ? `${WEB}/apps/github-actions` : `${WEB}/${login}`,
    followers_url: `${url}/followers`,
    following_url: `${url}/following{/other_user}`,
    gists_url: `${url}/gists{/gist_id}`,
    starred_url: `${url}/starred{/owner}{/repo}`,
    subscriptions_url: `${url}/subscriptions`,
    organizations_url: `${url}/orgs`,
    repos_url: `${url}/repos`,
    events_url: `${url}/events{/privacy}`,
    received_events_url: `${url}/received_events`,
    type,
    user_view_type: 'public',
    site_admin: false,
  };
}

const user = (p: Person) => simpleUser(p.login, p.githubId, 'User');
/** GitHub's own account that commits merges made with the merge button. */
const WEB_FLOW = simpleUser('web-flow', 19864447, 'User');
/** The GITHUB_TOKEN identity of workflows, creator of the deployments the deploy workflow makes. */
const ACTIONS_BOT = simpleUser('github-actions[bot]', 41898282, 'Bot');
const ACTIONS_APP = {
  id: 15368,
  slug: 'github-actions',
  node_id: 'MDM6QXBwMTUzNjg=',
  owner: simpleUser('github', 9919, 'Organization'),
  name: 'GitHub Actions',
  description: 'Automate your workflow from idea to production',
  external_url: 'https://help.github.com/en/actions',
  html_url: `${WEB}/apps/github-actions`,
  created_at: '2018-07-30T09:30:17Z',
  updated_at: '2024-04-10T20:33:16Z',
  permissions: {
    actions: 'write',
    checks: 'write',
    contents: 'write',
    deployments: 'write',
    metadata: 'read',
    pull_requests: 'write',
    statuses: 'write',
  },
  events: ['check_run', 'check_suite', 'deployment', 'deployment_status', 'pull_request', 'push', 'release', 'workflow_dispatch'],
};

const LABELS: Record<string, { color: string; description: string; default: boolean }> = {
  hotfix: { color: 'd93f0b', description: 'Urgent fix for a production problem', default: false },
  bug: { color: 'd73a4a', description: "Something isn't working", default: true },
  enhancement: { color: 'a2eeef', description: 'New feature or request', default: true },
  dependencies: { color: '0366d6', description: 'Pull requests that update a dependency file', default: false },
};

class RepoRenderer {
  readonly api: string;
  readonly web: string;
  private readonly owner: ReturnType<typeof simpleUser>;

  constructor(
    readonly org: Organisation,
    readonly d: RepoDelivery,
  ) {
    this.api = `${API}/repos/${d.repo.fullName}`;
    this.web = `${WEB}/${d.repo.fullName}`;
    this.owner = simpleUser(org.github.login, org.github.id, 'Organization');
  }

  get repo(): Repo {
    return this.d.repo;
  }

  minimalRepository() {
    const r = this.repo;
    const api = this.api;
    return {
      id: r.id,
      node_id: legacyNodeId('Repository', r.id),
      name: r.name,
      full_name: r.fullName,
      private: true,
      owner: this.owner,
      html_url: this.web,
      description: r.description,
      fork: false,
      url: api,
      forks_url: `${api}/forks`,
      keys_url: `${api}/keys{/key_id}`,
      collaborators_url: `${api}/collaborators{/collaborator}`,
      teams_url: `${api}/teams`,
      hooks_url: `${api}/hooks`,
      issue_events_url: `${api}/issues/events{/number}`,
      events_url: `${api}/events`,
      assignees_url: `${api}/assignees{/user}`,
      branches_url: `${api}/branches{/branch}`,
      tags_url: `${api}/tags`,
      blobs_url: `${api}/git/blobs{/sha}`,
      git_tags_url: `${api}/git/tags{/sha}`,
      git_refs_url: `${api}/git/refs{/sha}`,
      trees_url: `${api}/git/trees{/sha}`,
      statuses_url: `${api}/statuses/{sha}`,
      languages_url: `${api}/languages`,
      stargazers_url: `${api}/stargazers`,
      contributors_url: `${api}/contributors`,
      subscribers_url: `${api}/subscribers`,
      subscription_url: `${api}/subscription`,
      commits_url: `${api}/commits{/sha}`,
      git_commits_url: `${api}/git/commits{/sha}`,
      comments_url: `${api}/comments{/number}`,
      issue_comment_url: `${api}/issues/comments{/number}`,
      contents_url: `${api}/contents/{+path}`,
      compare_url: `${api}/compare/{base}...{head}`,
      merges_url: `${api}/merges`,
      archive_url: `${api}/{archive_format}{/ref}`,
      downloads_url: `${api}/downloads`,
      issues_url: `${api}/issues{/number}`,
      pulls_url: `${api}/pulls{/number}`,
      milestones_url: `${api}/milestones{/number}`,
      notifications_url: `${api}/notifications{?since,all,participating}`,
      labels_url: `${api}/labels{/name}`,
      releases_url: `${api}/releases{/id}`,
      deployments_url: `${api}/deployments`,
    };
  }

  /** The `repository` object embedded in pull requests (head.repo, base.repo). */
  repository(at: number) {
    const r = this.repo;
    const open = this.d.prs.filter((p) => p.openedAt <= at && (p.outcome.kind === 'open' || p.outcome.at > at)).length;
    return {
      ...this.minimalRepository(),
      created_at: isoSeconds(r.createdAt),
      updated_at: isoSeconds(at),
      pushed_at: isoSeconds(at),
      git_url: `git://github.com/${r.fullName}.git`,
      ssh_url: `git@github.com:${r.fullName}.git`,
      clone_url: `${this.web}.git`,
      svn_url: this.web,
      homepage: null,
      size: 4000 + (r.id % 20000),
      stargazers_count: r.id % 7,
      watchers_count: r.id % 7,
      language: r.language,
      has_issues: true,
      has_projects: false,
      has_downloads: true,
      has_wiki: false,
      has_pages: false,
      has_discussions: false,
      forks_count: 0,
      mirror_url: null,
      archived: false,
      disabled: false,
      open_issues_count: open,
      license: null,
      allow_forking: false,
      is_template: false,
      web_commit_signoff_required: false,
      topics: [],
      visibility: 'private',
      forks: 0,
      open_issues: open,
      watchers: r.id % 7,
      default_branch: 'main',
    };
  }

  /** GET /repos/{owner}/{repo} (full repository). */
  fullRepository(at: number) {
    const allowed = new Set(this.repo.mergeMethods.map(([m]) => m));
    return {
      ...this.repository(at),
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
      temp_clone_token: '',
      allow_squash_merge: allowed.has('squash'),
      allow_merge_commit: allowed.has('merge'),
      allow_rebase_merge: allowed.has('rebase'),
      allow_auto_merge: false,
      delete_branch_on_merge: true,
      allow_update_branch: true,
      use_squash_pr_title_as_default: true,
      squash_merge_commit_title: 'PR_TITLE',
      squash_merge_commit_message: 'COMMIT_MESSAGES',
      merge_commit_title: 'MERGE_MESSAGE',
      merge_commit_message: 'PR_TITLE',
      organization: this.owner,
      network_count: 0,
      subscribers_count: 3 + (this.repo.id % 9),
      custom_properties: {},
    };
  }

  messageOf(c: GitCommit): string {
    const pr = c.pr;
    if (!pr) return c.message;
    if (c.role === 'merge') return `Merge pull request #${pr.number} from ${this.org.github.login}/${pr.branch}\n\n${pr.title}`;
    if (c.role === 'squash') {
      const work = pr.pushes.flatMap((p) => p.commits);
      const title = `${pr.title} (#${pr.number})`;
      return work.length > 1 ? `${title}\n\n${work.map((w) => `* ${w.message}`).join('\n\n')}` : title;
    }
    return c.message;
  }

  private gitIdentity(p: Person | null, at: number) {
    return p
      ? { name: p.name, email: p.email, date: isoSeconds(at) }
      : { name: 'GitHub', email: 'noreply@github.com', date: isoSeconds(at) };
  }

  /** Commits made by the merge button are signed by GitHub; people's commits here are unsigned. */
  private verification(c: GitCommit) {
    if (c.committer) return { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null };
    const epoch = (ms: number) => Math.floor(ms / 1000);
    const payload = [
      `tree ${c.treeSha}`,
      ...c.parents.map((p) => `parent ${p}`),
      `author ${c.author.name} <${c.author.email}> ${epoch(c.authoredAt)} +0000`,
      `committer GitHub <noreply@github.com> ${epoch(c.committedAt)} +0000`,
      '',
      this.messageOf(c),
    ].join('\n');
    const body = Buffer.from(`${c.sha}${c.treeSha}`, 'hex').toString('base64');
    return {
      verified: true,
      reason: 'valid',
      signature: `-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ${body}\n=${body.slice(0, 4)}\n-----END PGP SIGNATURE-----\n`,
      payload,
      verified_at: isoSeconds(c.committedAt),
    };
  }

  /** A commit as listed by GET /commits and GET /pulls/{n}/commits. */
  commit(c: GitCommit) {
    return {
      sha: c.sha,
      node_id: legacyNodeId('Commit', `${this.repo.id}:${c.sha}`),
      commit: {
        author: this.gitIdentity(c.author, c.authoredAt),
        committer: this.gitIdentity(c.committer, c.committedAt),
        message: this.messageOf(c),
        tree: { sha: c.treeSha, url: `${this.api}/git/trees/${c.treeSha}` },
        url: `${this.api}/git/commits/${c.sha}`,
        comment_count: 0,
        verification: this.verification(c),
      },
      url: `${this.api}/commits/${c.sha}`,
      html_url: `${this.web}/commit/${c.sha}`,
      comments_url: `${this.api}/commits/${c.sha}/comments`,
      author: user(c.author),
      committer: c.committer ? user(c.committer) : WEB_FLOW,
      parents: c.parents.map((p) => ({ sha: p, url: `${this.api}/commits/${p}`, html_url: `${this.web}/commit/${p}` })),
    };
  }

  label(name: string) {
    const spec = LABELS[name] ?? { color: 'ededed', description: null, default: false };
    const id = 5_000_000_000 + (this.repo.id % 1_000_000) * 100 + Object.keys(LABELS).indexOf(name) + 1;
    return {
      id,
      node_id: legacyNodeId('Label', id),
      url: `${this.api}/labels/${encodeURIComponent(name)}`,
      name,
      color: spec.color,
      default: spec.default,
      description: spec.description,
    };
  }

  /** GET /pulls/{n} as it was at `at`. */
  pullRequest(pr: PullRequest, at: number) {
    const pushes = pr.pushes.filter((p) => p.at <= at);
    const lastPush = pushes[pushes.length - 1]!;
    const commits = pushes.flatMap((p) => p.commits);
    const head = commits[commits.length - 1]!;
    const reviews = pr.reviews.filter((r) => r.at <= at);
    const reviewed = new Set(reviews.map((r) => r.reviewer));
    const merged = pr.outcome.kind === 'merged' && pr.outcome.at <= at ? pr.outcome : null;
    const closed = pr.outcome.kind !== 'open' && pr.outcome.at <= at ? pr.outcome : null;
    const approved = reviews.some((r) => r.state === 'APPROVED');
    const url = `${this.api}/pulls/${pr.number}`;
    const issueUrl = `${this.api}/issues/${pr.number}`;
    const side = (ref: string, sha: string) => ({
      label: `${this.org.github.login}:${ref}`,
      ref,
      sha,
      user: this.owner,
      repo: this.repository(at),
    });
    const body = pr.fixes ? `${pr.body}\n\nFixes PagerDuty incident #${pr.fixes.number}: ${incidentUrl(pr.fixes)}` : pr.body;
    return {
      url,
      id: pr.id,
      node_id: legacyNodeId('PullRequest', pr.id),
      html_url: `${this.web}/pull/${pr.number}`,
      diff_url: `${this.web}/pull/${pr.number}.diff`,
      patch_url: `${this.web}/pull/${pr.number}.patch`,
      issue_url: issueUrl,
      number: pr.number,
      state: closed ? 'closed' : 'open',
      locked: false,
      title: pr.title,
      user: user(pr.author),
      body,
      created_at: isoSeconds(pr.openedAt),
      updated_at: isoSeconds(at),
      closed_at: closed ? isoSeconds(closed.at) : null,
      merged_at: merged ? isoSeconds(merged.at) : null,
      // Open (and closed unmerged) pull requests carry the sha of GitHub's test merge commit.
      merge_commit_sha: merged && pr.landing ? landingHead(pr.landing).sha : lastPush.testMergeSha,
      assignee: user(pr.author),
      assignees: [user(pr.author)],
      requested_reviewers: pr.requestedReviewers.filter((p) => !reviewed.has(p)).map(user),
      requested_teams: [],
      labels: pr.labels.map((l) => this.label(l)),
      milestone: null,
      draft: false,
      commits_url: `${url}/commits`,
      review_comments_url: `${url}/comments`,
      review_comment_url: `${this.api}/pulls/comments{/number}`,
      comments_url: `${issueUrl}/comments`,
      statuses_url: `${this.api}/statuses/${head.sha}`,
      head: side(pr.branch, head.sha),
      base: side('main', mainHeadAt(this.d, Math.min(at, merged?.at ?? at) - 1)),
      _links: {
        self: { href: url },
        html: { href: `${this.web}/pull/${pr.number}` },
        issue: { href: issueUrl },
        comments: { href: `${issueUrl}/comments` },
        review_comments: { href: `${url}/comments` },
        review_comment: { href: `${this.api}/pulls/comments{/number}` },
        commits: { href: `${url}/commits` },
        statuses: { href: `${this.api}/statuses/${head.sha}` },
      },
      author_association: 'MEMBER',
      auto_merge: null,
      active_lock_reason: null,
      merged: Boolean(merged),
      mergeable: closed ? null : true,
      rebaseable: closed ? null : true,
      mergeable_state: closed ? 'unknown' : approved ? 'clean' : 'blocked',
      merged_by: merged ? user(merged.by) : null,
      comments: 0,
      review_comments: reviews.filter((r) => r.state !== 'APPROVED').length * 2,
      maintainer_can_modify: false,
      commits: commits.length,
      additions: commits.reduce((s, c) => s + c.additions, 0),
      deletions: commits.reduce((s, c) => s + c.deletions, 0),
      changed_files: Math.min(
        40,
        commits.reduce((s, c) => s + c.changedFiles, 0),
      ),
    };
  }

  review(pr: PullRequest, r: PullRequest['reviews'][number]) {
    const head = pr.pushes
      .filter((p) => p.at <= r.at)
      .flatMap((p) => p.commits)
      .pop()!;
    const html = `${this.web}/pull/${pr.number}#pullrequestreview-${r.id}`;
    return {
      id: r.id,
      node_id: legacyNodeId('PullRequestReview', r.id),
      user: user(r.reviewer),
      body: r.body,
      state: r.state,
      html_url: html,
      pull_request_url: `${this.api}/pulls/${pr.number}`,
      author_association: 'MEMBER',
      _links: { html: { href: html }, pull_request: { href: `${this.api}/pulls/${pr.number}` } },
      submitted_at: isoSeconds(r.at),
      commit_id: head.sha,
    };
  }

  refName(d: Deployment): string {
    return d.ref.kind === 'sha' ? landingHead(d.landing).sha : d.ref.name;
  }

  deploymentDescription(d: Deployment): string {
    const sha = landingHead(d.landing).sha.slice(0, 7);
    switch (d.kind) {
      case 'rollback':
        return `Rollback to ${d.rollbackTo?.release?.tag ?? sha}${d.fixes ? ` (PagerDuty #${d.fixes.number})` : ''}`;
      case 'hotfix':
        return `Hotfix deploy for PagerDuty incident #${d.fixes?.number ?? 0}`;
      case 'baseline':
      case 'regular':
      case 'retry':
        return `Deploy ${this.refName(d)} (${sha}) to ${d.env}`;
    }
  }

  deployment(d: Deployment) {
    const url = `${this.api}/deployments/${d.id}`;
    return {
      url,
      id: d.id,
      node_id: legacyNodeId('Deployment', d.id),
      sha: landingHead(d.landing).sha,
      ref: this.refName(d),
      task: 'deploy',
      payload: {},
      original_environment: d.env,
      environment: d.env,
      description: this.deploymentDescription(d),
      creator: ACTIONS_BOT,
      created_at: isoSeconds(d.createdAt),
      updated_at: isoSeconds(d.createdAt),
      statuses_url: `${url}/statuses`,
      repository_url: this.api,
      transient_environment: false,
      production_environment: d.env === 'production',
      performed_via_github_app: ACTIONS_APP,
    };
  }

  deploymentStatus(d: Deployment, s: Deployment['statuses'][number]) {
    const descriptions: Record<DeploymentState, string> = {
      in_progress: 'Deployment started',
      success: 'Deployment finished successfully.',
      failure: 'Deployment failed: smoke test did not pass.',
      error: 'Deployment errored: cloud credentials were rejected.',
    };
    const job = d.run.attempts[0]!.jobs[0]!;
    const log = `${this.web}/actions/runs/${d.run.id}/job/${job.id}`;
    const host = d.env === 'production' ? `${this.repo.name}.acme.example` : `${this.repo.name}.${d.env}.acme.example`;
    return {
      url: `${this.api}/deployments/${d.id}/statuses/${s.id}`,
      id: s.id,
      node_id: legacyNodeId('DeploymentStatus', s.id),
      state: s.state,
      creator: ACTIONS_BOT,
      description: descriptions[s.state],
      environment: d.env,
      target_url: log,
      created_at: isoSeconds(s.at),
      updated_at: isoSeconds(s.at),
      deployment_url: `${this.api}/deployments/${d.id}`,
      repository_url: this.api,
      environment_url: s.state === 'success' ? `https://${host}` : '',
      log_url: log,
      performed_via_github_app: ACTIONS_APP,
    };
  }

  release(index: number) {
    const r = this.d.releases[index]!;
    const previous = this.d.releases[index - 1];
    const since = previous?.landing.at ?? -Infinity;
    const prs = this.d.prs.filter((p) => p.landing && p.landing.at > since && p.landing.at <= r.landing.at);
    const lines = prs.map((p) => `* ${p.title} by @${p.author.login} in ${this.web}/pull/${p.number}`);
    const body = [
      "## What's Changed",
      ...(lines.length ? lines : ['* Maintenance release']),
      '',
      previous ? `**Full Changelog**: ${this.web}/compare/${previous.tag}...${r.tag}` : `**Full Changelog**: ${this.web}/commits/${r.tag}`,
    ].join('\n');
    const url = `${this.api}/releases/${r.id}`;
    return {
      url,
      assets_url: `${url}/assets`,
      upload_url: `https://uploads.github.com/repos/${this.repo.fullName}/releases/${r.id}/assets{?name,label}`,
      html_url: `${this.web}/releases/tag/${r.tag}`,
      id: r.id,
      author: user(r.author),
      node_id: legacyNodeId('Release', r.id),
      tag_name: r.tag,
      target_commitish: 'main',
      name: r.tag,
      draft: false,
      immutable: false,
      prerelease: false,
      // GitHub documents created_at as the date of the release's commit, not of the release.
      created_at: isoSeconds(landingHead(r.landing).committedAt),
      updated_at: isoSeconds(r.publishedAt),
      published_at: isoSeconds(r.publishedAt),
      assets: [],
      tarball_url: `${this.api}/tarball/${r.tag}`,
      zipball_url: `${this.api}/zipball/${r.tag}`,
      body,
    };
  }

  private runTarget(run: WorkflowRun): { branch: string; commit: GitCommit; title: string } {
    const t = run.trigger;
    switch (t.kind) {
      case 'pull_request':
        return { branch: t.pr.branch, commit: t.push.commits[t.push.commits.length - 1]!, title: t.pr.title };
      case 'push': {
        const head = landingHead(t.landing);
        return { branch: 'main', commit: head, title: this.messageOf(head).split('\n')[0]! };
      }
      case 'deploy':
        return { branch: t.ref.kind === 'tag' ? t.ref.name : 'main', commit: landingHead(t.landing), title: run.workflow.name };
    }
  }

  workflowRun(run: WorkflowRun, attempt: RunAttempt) {
    const { branch, commit, title } = this.runTarget(run);
    const url = `${this.api}/actions/runs/${run.id}`;
    const t = run.trigger;
    const minimalRepo = { id: this.repo.id, url: this.api, name: this.repo.name };
    const pullRequests =
      t.kind === 'pull_request'
        ? [
            {
              url: `${this.api}/pulls/${t.pr.number}`,
              id: t.pr.id,
              number: t.pr.number,
              head: { ref: t.pr.branch, sha: commit.sha, repo: minimalRepo },
              base: { ref: 'main', sha: mainHeadAt(this.d, run.createdAt), repo: minimalRepo },
            },
          ]
        : [];
    const identity = this.gitIdentity(commit.committer, commit.committedAt);
    return {
      id: run.id,
      name: run.workflow.name,
      node_id: legacyNodeId('WorkflowRun', run.id),
      head_branch: branch,
      head_sha: commit.sha,
      path: `.github/workflows/${run.workflow.file}`,
      display_title: title,
      run_number: run.number,
      event: run.event,
      status: 'completed',
      conclusion: attempt.conclusion,
      workflow_id: run.workflow.id,
      check_suite_id: run.checkSuiteId,
      check_suite_node_id: legacyNodeId('CheckSuite', run.checkSuiteId),
      url,
      html_url: `${this.web}/actions/runs/${run.id}`,
      pull_requests: pullRequests,
      created_at: isoSeconds(run.createdAt),
      updated_at: isoSeconds(attempt.completedAt),
      actor: user(run.actor),
      run_attempt: attempt.attempt,
      referenced_workflows: [],
      run_started_at: isoSeconds(attempt.startedAt),
      triggering_actor: user(run.actor),
      jobs_url: `${url}/jobs`,
      logs_url: `${url}/logs`,
      check_suite_url: `${this.api}/check-suites/${run.checkSuiteId}`,
      artifacts_url: `${url}/artifacts`,
      cancel_url: `${url}/cancel`,
      rerun_url: `${url}/rerun`,
      previous_attempt_url: attempt.attempt > 1 ? `${url}/attempts/${attempt.attempt - 1}` : null,
      workflow_url: `${this.api}/actions/workflows/${run.workflow.id}`,
      head_commit: {
        id: commit.sha,
        tree_id: commit.treeSha,
        message: this.messageOf(commit),
        timestamp: isoSeconds(commit.committedAt),
        author: { name: commit.author.name, email: commit.author.email },
        committer: { name: identity.name, email: identity.email },
      },
      repository: this.minimalRepository(),
      head_repository: this.minimalRepository(),
    };
  }

  job(run: WorkflowRun, attempt: RunAttempt, job: Job) {
    const { branch, commit } = this.runTarget(run);
    return {
      id: job.id,
      run_id: run.id,
      workflow_name: run.workflow.name,
      head_branch: branch,
      run_url: `${this.api}/actions/runs/${run.id}`,
      run_attempt: attempt.attempt,
      node_id: legacyNodeId('CheckRun', job.id),
      head_sha: commit.sha,
      url: `${this.api}/actions/jobs/${job.id}`,
      html_url: `${this.web}/actions/runs/${run.id}/job/${job.id}`,
      status: 'completed',
      conclusion: job.conclusion,
      created_at: isoSeconds(attempt.startedAt),
      started_at: isoSeconds(job.startedAt),
      completed_at: isoSeconds(job.completedAt),
      name: job.name,
      steps: job.steps.map((s, i) => ({
        name: s.name,
        status: 'completed',
        conclusion: s.conclusion,
        number: i + 1,
        started_at: isoSeconds(s.startedAt),
        completed_at: isoSeconds(s.completedAt),
      })),
      check_run_url: `${this.api}/check-runs/${job.id}`,
      labels: ['ubuntu-latest'],
      runner_id: job.runnerId,
      runner_name: `GitHub Actions ${job.runnerId}`,
      runner_group_id: 0,
      runner_group_name: 'GitHub Actions',
    };
  }
}

/** Times of the versions a pull request went through: opened, each later push and review, merged or closed. */
function pullRequestVersionTimes(pr: PullRequest, now: number): number[] {
  const times = [pr.openedAt, ...pr.pushes.filter((p) => p.at > pr.openedAt).map((p) => p.at), ...pr.reviews.map((r) => r.at)];
  if (pr.outcome.kind !== 'open') times.push(pr.outcome.at);
  return [...new Set(times.filter((t) => t <= now))].sort((a, b) => a - b);
}

export function githubRecords(org: Organisation, deliveries: RepoDelivery[], window: Window): SourceRecord[] {
  const records: SourceRecord[] = [];
  for (const d of deliveries) {
    const r = new RepoRenderer(org, d);
    const fullName = d.repo.fullName;
    const emit = (type: string, subject: string, at: number, payload: Payload, version?: string): void => {
      const time = isoSeconds(at);
      records.push({ source: 'github', type, subject, version: version ?? timeVersion(time), time: new Date(time).toISOString(), payload });
    };

    emit('github.repository', subjects.githubRepository(fullName), window.start + MINUTE, r.fullRepository(window.start + MINUTE));

    for (const pr of d.prs) {
      const prSubject = subjects.githubPullRequest(fullName, pr.number);
      for (const at of pullRequestVersionTimes(pr, window.now)) emit('github.pull_request', prSubject, at, r.pullRequest(pr, at));
      let commits: GitCommit[] = [];
      for (const push of pr.pushes) {
        commits = [...commits, ...push.commits];
        const head = commits[commits.length - 1]!;
        // The list can only be fetched once the pull request exists.
        emit(
          'github.pull_request_commits',
          prSubject,
          Math.max(push.at, pr.openedAt),
          commits.map((c) => r.commit(c)),
          head.sha,
        );
      }
      for (const review of pr.reviews) {
        emit('github.review', subjects.githubReview(fullName, pr.number, review.id), review.at, r.review(pr, review));
      }
    }

    for (const landing of d.landings) {
      for (const c of landing.commits) emit('github.commit', subjects.githubCommit(fullName, c.sha), c.committedAt, r.commit(c), c.sha);
    }

    for (const dep of d.deployments) {
      if (dep.createdAt > window.now) continue;
      emit('github.deployment', subjects.githubDeployment(fullName, dep.id), dep.createdAt, r.deployment(dep));
      for (const s of dep.statuses) {
        if (s.at > window.now) continue;
        emit('github.deployment_status', subjects.githubDeploymentStatus(fullName, dep.id, s.id), s.at, r.deploymentStatus(dep, s));
      }
    }

    d.releases.forEach((rel, i) => {
      if (rel.publishedAt <= window.now) emit('github.release', subjects.githubRelease(fullName, rel.id), rel.publishedAt, r.release(i));
    });

    for (const run of d.runs) {
      for (const attempt of run.attempts) {
        if (attempt.completedAt > window.now) continue;
        emit('github.workflow_run', subjects.githubWorkflowRun(fullName, run.id), attempt.completedAt, r.workflowRun(run, attempt));
        for (const job of attempt.jobs) {
          emit('github.workflow_job', subjects.githubWorkflowJob(fullName, job.id), job.completedAt, r.job(run, attempt, job));
        }
      }
    }
  }
  return records;
}
