/**
 * Code delivery of one repository: pull requests, the history of `main`, CI and deploy workflow runs,
 * deployments with their statuses, releases, and the production incidents deployments cause (with the
 * rollbacks and hotfixes that answer them). Plain data; github.ts and pagerduty.ts render it.
 */
import type { MergeMethod, Organisation, Person, Repo, Workflow } from './org.js';
import { openIncident } from './pagerduty.js';
import {
  type Window,
  type GitCommit,
  type ReviewState,
  type PullRequest,
  type Landing,
  landingHead,
  type Environment,
  type DeploymentKind,
  type DeploymentState,
  type DeploymentRef,
  type Deployment,
  deploymentFinish,
  type Release,
  type Conclusion,
  type JobStep,
  type Job,
  type RunAttempt,
  type RunTrigger,
  type WorkflowRun,
  type RepoDelivery,
  type ExplicitRef,
  type Incident,
} from './model.js';
import type { Rng, WeightTable } from './prng.js';
import { DAY, HOUR, MINUTE, SECOND, floorSecond } from './time.js';

/** The sha `main` pointed at, at `t`. */
export function mainHeadAt(d: RepoDelivery, t: number): string {
  let sha = d.preWindowSha;
  for (const h of d.heads) {
    if (h.at > t) break;
    sha = h.sha;
  }
  return sha;
}

// ---------------------------------------------------------------------------------------------------
// Rates and shapes of the simulation

const FIRST_REVIEW: WeightTable<ReviewState> = [
  ['APPROVED', 0.55],
  ['CHANGES_REQUESTED', 0.3],
  ['COMMENTED', 0.15],
];
const REVIEW_BODIES: Record<ReviewState, readonly string[]> = {
  APPROVED: ['', 'LGTM', 'Looks good, thanks!', 'Nice cleanup.'],
  CHANGES_REQUESTED: [
    'Please add a test for the retry path.',
    'This needs a migration for existing rows.',
    'Can we avoid the extra round trip here?',
  ],
  COMMENTED: ['A couple of nits, otherwise fine.', 'Question about the timeout value inline.', 'Left some suggestions.'],
};
const PR_VERBS = ['Add', 'Fix', 'Refactor', 'Improve', 'Handle errors in', 'Add metrics to', 'Simplify', 'Validate input for'];
const BRANCH_PREFIXES = ['feature', 'fix', 'chore'];
const FOLLOW_UP_MESSAGES = [
  'Address review comments',
  'Add tests',
  'Fix lint',
  'Handle empty response',
  'Rename for clarity',
  'Update snapshots',
];
const DIRECT_PUSH_MESSAGES = ['Bump dependencies', 'Update CODEOWNERS', 'Fix typo in README', 'Update runbook link', 'Tune log levels'];
const HOTFIX_TITLES = [
  'Revert {topic} change',
  'Guard against empty {topic} response',
  'Raise timeout for {topic} calls',
  'Disable {topic} behind flag',
];

const DEPLOY_OUTCOME: Record<Environment, WeightTable<Exclude<DeploymentState, 'in_progress'>>> = {
  production: [
    ['success', 0.93],
    ['failure', 0.05],
    ['error', 0.02],
  ],
  staging: [
    ['success', 0.92],
    ['failure', 0.08],
  ],
};

/** What happens after a successful production deployment. */
type Impact = 'none' | 'inferred' | 'explicit' | 'rollback';
const PRODUCTION_IMPACT: WeightTable<Impact> = [
  ['none', 0.83],
  ['inferred', 0.07],
  ['explicit', 0.06],
  ['rollback', 0.04],
];
type Remediation = 'rollback' | 'hotfix' | 'forward';
const REMEDIATION: WeightTable<Remediation> = [
  ['rollback', 0.35],
  ['hotfix', 0.4],
  ['forward', 0.25],
];
const EXPLICIT_REFS: WeightTable<ExplicitRef> = [
  ['sha', 0.35],
  ['pr', 0.3],
  ['deployment', 0.15],
  ['release', 0.2],
];

type CiOutcome = 'success' | 'failure' | 'flaky';
const CI_OUTCOME: Record<'intermediate' | 'final' | 'main', WeightTable<CiOutcome>> = {
  // Pushes a pull request later replaced: real failures happen here.
  intermediate: [
    ['success', 0.78],
    ['failure', 0.14],
    ['flaky', 0.08],
  ],
  // The head that got merged was green, possibly after a re-run.
  final: [
    ['success', 0.9],
    ['flaky', 0.1],
  ],
  main: [
    ['success', 0.93],
    ['flaky', 0.05],
    ['failure', 0.02],
  ],
};

interface JobSpec {
  name: string;
  median: number;
  steps: ReadonlyArray<readonly [name: string, share: number]>;
  /** The step that fails when the job fails. */
  failingStep: number;
}

const CI_JOBS: readonly JobSpec[] = [
  {
    name: 'build',
    median: 3 * MINUTE,
    steps: [
      ['Set up job', 0.05],
      ['Checkout', 0.05],
      ['Set up toolchain', 0.1],
      ['Install dependencies', 0.35],
      ['Build', 0.4],
      ['Complete job', 0.05],
    ],
    failingStep: 4,
  },
  {
    name: 'test',
    median: 7 * MINUTE,
    steps: [
      ['Set up job', 0.03],
      ['Checkout', 0.03],
      ['Set up toolchain', 0.06],
      ['Install dependencies', 0.18],
      ['Run tests', 0.67],
      ['Complete job', 0.03],
    ],
    failingStep: 4,
  },
];
const CI_FAILING_JOB = 'test';

const deployJob = (env: Environment): JobSpec => ({
  name: `deploy (${env})`,
  median: 6 * MINUTE,
  steps: [
    ['Set up job', 0.04],
    ['Checkout', 0.04],
    ['Configure cloud credentials', 0.07],
    ['Deploy', 0.6],
    ['Smoke test', 0.2],
    ['Complete job', 0.05],
  ],
  failingStep: 3,
});

const slug = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const fill = (template: string, topic: string): string => template.replace('{topic}', topic);

// ---------------------------------------------------------------------------------------------------

interface RepoContext {
  org: Organisation;
  repo: Repo;
  rng: Rng;
  window: Window;
  delivery: RepoDelivery;
}

export function simulateDelivery(org: Organisation, repo: Repo, rng: Rng, window: Window): RepoDelivery {
  const delivery: RepoDelivery = {
    repo,
    preWindowSha: org.ids.sha(),
    prs: [],
    landings: [],
    heads: [],
    deployments: [],
    releases: [],
    runs: [],
    incidents: [],
  };
  const ctx: RepoContext = { org, repo, rng, window, delivery };

  const baseline = directPush(ctx, window.start + rng.int(15, 40) * MINUTE, repo.team.manager, 'Prepare release train');
  planRegularWork(ctx);
  runDeployments(ctx, baseline);
  finalizeHistory(delivery);
  planCiRuns(ctx);
  numberEverything(ctx);
  return delivery;
}

function insertSorted<T extends { at: number }>(list: T[], item: T): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.at > item.at) i--;
  list.splice(i, 0, item);
}

function landingAt(d: RepoDelivery, t: number): Landing {
  let found: Landing | undefined;
  for (const l of d.landings) {
    if (l.at > t) break;
    found = l;
  }
  if (!found) throw new Error(`${d.repo.fullName}: nothing on main at ${new Date(t).toISOString()}`);
  return found;
}

function newCommit(ctx: RepoContext, author: Person, at: number, message: string): GitCommit {
  const { rng, org } = ctx;
  const at0 = floorSecond(at);
  return {
    sha: org.ids.sha(),
    treeSha: org.ids.sha(),
    role: 'work',
    message,
    author,
    authoredAt: at0,
    committer: author,
    committedAt: at0,
    parents: [],
    additions: Math.round(rng.logNormal(40, 1.1)),
    deletions: Math.round(rng.logNormal(12, 1.2)),
    changedFiles: rng.int(1, 9),
  };
}

function directPush(ctx: RepoContext, at: number, author: Person, message: string): Landing {
  const commit = newCommit(ctx, author, at, message);
  const landing: Landing = { at: commit.committedAt, kind: 'direct', commits: [commit], pusher: author };
  insertSorted(ctx.delivery.landings, landing);
  return landing;
}

/** Feature work: pull requests on working days, and the odd direct push to main. */
function planRegularWork(ctx: RepoContext): void {
  const { repo, rng, window } = ctx;
  const office = repo.team.office;
  for (const day of office.workdays(window.start + DAY, window.now)) {
    for (let i = rng.poisson(repo.team.rates.prsPerWeek / 5); i > 0; i--) {
      const openedAt = office.during(day, rng);
      if (openedAt <= window.now) planPullRequest(ctx, openedAt, 'feature');
    }
    if (rng.chance(0.03)) {
      const at = office.during(day, rng);
      if (at <= window.now) directPush(ctx, at, rng.pick(repo.team.engineers), rng.pick(DIRECT_PUSH_MESSAGES));
    }
  }
}

function planPullRequest(ctx: RepoContext, openedAt: number, kind: 'feature' | 'hotfix', fixes?: Incident): PullRequest {
  const { repo, rng, window, org } = ctx;
  const team = repo.team;
  const hotfix = kind === 'hotfix';
  // People keep office hours for feature work; a hotfix is worked on whenever it is needed.
  const advance = (from: number, duration: number): number =>
    hotfix ? floorSecond(from + duration) : team.office.after(from, duration, rng);

  const author = rng.pick(team.engineers);
  const reviewers = rng.sample(
    team.engineers.filter((p) => p !== author),
    hotfix ? 1 : rng.int(1, 2),
  );
  const topic = rng.pick(team.topics);
  const title = hotfix ? `Hotfix: ${fill(rng.pick(HOTFIX_TITLES), topic)}` : `${rng.pick(PR_VERBS)} ${topic}`;
  const pr: PullRequest = {
    repo,
    id: org.ids.github('pullRequest', openedAt),
    number: 0,
    title,
    body: hotfix
      ? `## Summary\nStops the errors seen in production on ${repo.name}.\n\n## Testing\n- reproduced locally\n- verified on staging`
      : `## Summary\n${title}.\n\n## Testing\n- unit tests\n- verified on staging`,
    branch: hotfix ? `hotfix/${slug(topic)}-${rng.int(10, 99)}` : `${rng.pick(BRANCH_PREFIXES)}/${slug(topic)}-${rng.int(100, 999)}`,
    labels: hotfix ? ['hotfix'] : rng.chance(0.3) ? [rng.pick(['enhancement', 'bug', 'dependencies'])] : [],
    author,
    requestedReviewers: reviewers,
    openedAt,
    pushes: [],
    reviews: [],
    outcome: { kind: 'open' },
    ...(fixes ? { fixes } : {}),
  };

  const push = (at: number, messages: string[], earliest: number): void => {
    const span = Math.max(MINUTE, at - earliest);
    const commits = messages.map((m, i) => newCommit(ctx, author, earliest + (span * i) / messages.length, m));
    pr.pushes.push({ at: floorSecond(at), commits, testMergeSha: org.ids.sha() });
  };
  const review = (reviewer: Person, state: ReviewState, at: number): void => {
    pr.reviews.push({ id: org.ids.github('review', at), reviewer, state, at, body: rng.pick(REVIEW_BODIES[state]) });
  };

  // The first commit comes before the pull request is opened (coding time); a hotfix is quick.
  const firstPushAt = openedAt - rng.int(1, 8) * MINUTE;
  const firstCommitAt = hotfix
    ? firstPushAt - rng.int(5, 25) * MINUTE
    : Math.max(window.start + HOUR, Math.min(firstPushAt - MINUTE, openedAt - rng.logNormal(8 * HOUR, 1)));
  const initialCount = hotfix ? rng.int(1, 2) : rng.int(1, 5);
  push(firstPushAt, [title, ...Array.from({ length: initialCount - 1 }, () => rng.pick(FOLLOW_UP_MESSAGES))], firstCommitAt);

  let t = advance(openedAt, rng.logNormal(hotfix ? 15 * MINUTE : 3 * HOUR, 0.8));
  const first: ReviewState = hotfix ? 'APPROVED' : rng.weighted(FIRST_REVIEW);
  const lead = reviewers[0]!;
  review(lead, first, t);
  if (first === 'CHANGES_REQUESTED') {
    const pushAt = advance(t, rng.logNormal(4 * HOUR, 0.8));
    push(
      pushAt,
      Array.from({ length: rng.int(1, 2) }, () => rng.pick(FOLLOW_UP_MESSAGES)),
      t + MINUTE,
    );
    t = advance(pushAt, rng.logNormal(90 * MINUTE, 0.8));
    review(lead, 'APPROVED', t);
  } else if (first === 'COMMENTED') {
    t = advance(t, rng.logNormal(2 * HOUR, 0.8));
    review(reviewers[1] ?? lead, 'APPROVED', t);
  } else if (reviewers[1] && rng.chance(0.5)) {
    t = advance(t, rng.logNormal(HOUR, 0.8));
    review(reviewers[1], 'APPROVED', t);
  }

  if (!hotfix && rng.chance(0.07)) {
    const closedAt = advance(openedAt, rng.logNormal(2 * DAY, 0.7));
    pr.reviews = pr.reviews.filter((r) => r.at < closedAt);
    pr.pushes = pr.pushes.filter((p) => p.at < closedAt);
    pr.outcome = { kind: 'closed', at: closedAt, by: author };
  } else {
    const mergedAt = advance(t, rng.logNormal(hotfix ? 8 * MINUTE : 40 * MINUTE, 0.9));
    const method: MergeMethod = hotfix ? 'squash' : rng.weighted(repo.mergeMethods);
    pr.outcome = { kind: 'merged', at: mergedAt, method, by: rng.chance(0.75) ? author : lead };
  }

  // Nothing after `now` has happened yet.
  pr.pushes = pr.pushes.filter((p) => p.at <= window.now);
  pr.reviews = pr.reviews.filter((r) => r.at <= window.now);
  const decided = pr.outcome;
  if (decided.at > window.now) pr.outcome = { kind: 'open' };
  else if (decided.kind === 'merged') pr.landing = land(ctx, pr, decided.at, decided.method, decided.by);

  ctx.delivery.prs.push(pr);
  return pr;
}

/** The commits a merge puts on main, by merge method. */
function land(ctx: RepoContext, pr: PullRequest, at: number, method: MergeMethod, by: Person): Landing {
  const { org } = ctx;
  const work = pr.pushes.flatMap((p) => p.commits);
  const sum = (f: (c: GitCommit) => number): number => work.reduce((s, c) => s + f(c), 0);
  const byGithub = (role: GitCommit['role'], author: Person): GitCommit => ({
    sha: org.ids.sha(),
    treeSha: org.ids.sha(),
    role,
    pr,
    message: '',
    author,
    authoredAt: at,
    committer: null,
    committedAt: at,
    parents: [],
    additions: sum((c) => c.additions),
    deletions: sum((c) => c.deletions),
    changedFiles: Math.min(
      30,
      sum((c) => c.changedFiles),
    ),
  });
  const commits: Record<MergeMethod, () => GitCommit[]> = {
    // The branch commits join main through the merge commit's second parent.
    merge: () => [...work, byGithub('merge', by)],
    squash: () => [byGithub('squash', pr.author)],
    // Rebased copies: same author and message, new sha, committed by GitHub at merge time.
    rebase: () => work.map((c) => ({ ...c, sha: org.ids.sha(), treeSha: org.ids.sha(), committer: null, committedAt: at, parents: [] })),
  };
  const landing: Landing = { at, kind: method, pr, commits: commits[method](), pusher: by };
  insertSorted(ctx.delivery.landings, landing);
  return landing;
}

// ---------------------------------------------------------------------------------------------------
// Deployments

interface DeployRequest {
  at: number;
  env: Environment;
  kind: DeploymentKind;
  /** Fixed for rollbacks and retries; otherwise whatever main holds at `at`. */
  landing?: Landing;
  ref?: DeploymentRef;
  release?: Release;
  fixes?: Incident;
  rollbackTo?: Deployment;
}

interface DeployState {
  queue: DeployRequest[];
  lastSuccess: Partial<Record<Environment, Deployment>>;
  productionHistory: Deployment[];
  nextReleaseAt: number;
  version: { major: number; minor: number; patch: number };
}

function runDeployments(ctx: RepoContext, baseline: Landing): void {
  const { repo, rng, window } = ctx;
  const office = repo.team.office;
  const state: DeployState = {
    queue: [],
    lastSuccess: {},
    productionHistory: [],
    nextReleaseAt: window.start + rng.int(5, 18) * DAY,
    version: { major: rng.int(1, 3), minor: rng.int(2, 14), patch: 0 },
  };
  const request = (r: DeployRequest): void => insertSorted(state.queue, r);

  request({ at: baseline.at + rng.int(20, 40) * MINUTE, env: 'staging', kind: 'baseline', landing: baseline });
  request({ at: baseline.at + rng.int(50, 80) * MINUTE, env: 'production', kind: 'baseline', landing: baseline });
  for (const day of office.workdays(window.start + DAY, window.now)) {
    for (const env of ['staging', 'production'] as const) {
      const perWeek = env === 'production' ? repo.team.rates.productionDeploysPerWeek : repo.team.rates.stagingDeploysPerWeek;
      for (let i = rng.poisson(perWeek / 5); i > 0; i--) request({ at: office.during(day, rng), env, kind: 'regular' });
    }
  }

  for (let req = state.queue.shift(); req && req.at <= window.now; req = state.queue.shift()) {
    const landing = req.landing ?? landingAt(ctx.delivery, req.at);
    if (req.kind === 'regular' && state.lastSuccess[req.env]?.landing === landing) continue; // nothing new to ship
    if (req.kind === 'regular' && req.env === 'production' && !req.release && req.at >= state.nextReleaseAt) {
      state.version.minor += 1;
      state.version.patch = 0;
      req.release = newRelease(ctx, landing, req.at, state);
      state.nextReleaseAt = req.at + rng.int(14, 28) * DAY;
    }
    if (req.kind === 'hotfix' && !req.release && rng.chance(0.5)) {
      state.version.patch += 1;
      req.release = newRelease(ctx, landing, req.at, state);
    }
    const d = deploy(ctx, req, landing);
    const finish = deploymentFinish(d);
    if (finish.at > window.now) continue;
    if (finish.state !== 'success') {
      request({
        ...req,
        at: finish.at + floorSecond(rng.logNormal(40 * MINUTE, 0.5)),
        kind: req.kind === 'regular' ? 'retry' : req.kind,
        landing,
      });
      continue;
    }
    state.lastSuccess[req.env] = d;
    if (req.fixes) settle(req.fixes, finish.at + rng.int(5, 25) * MINUTE, window);
    if (req.env !== 'production') continue;
    state.productionHistory.push(d);
    if (req.kind === 'regular' || req.kind === 'retry') consequences(ctx, state, d);
  }
}

function settle(incident: Incident, at: number, window: Window): void {
  if (incident.resolvedAt === undefined && at <= window.now) incident.resolvedAt = floorSecond(at);
}

function newRelease(ctx: RepoContext, landing: Landing, deployAt: number, state: DeployState): Release {
  const { rng, org, repo } = ctx;
  const { major, minor, patch } = state.version;
  const publishedAt = floorSecond(Math.max(landing.at + MINUTE, deployAt - rng.int(2, 10) * MINUTE));
  const release: Release = {
    repo,
    id: org.ids.github('release', publishedAt),
    tag: `v${major}.${minor}.${patch}`,
    landing,
    author: rng.pick([repo.team.manager, ...repo.team.engineers]),
    publishedAt,
  };
  ctx.delivery.releases.push(release);
  return release;
}

function deploy(ctx: RepoContext, req: DeployRequest, landing: Landing): Deployment {
  const { rng, org, repo } = ctx;
  const outcome = rng.weighted(DEPLOY_OUTCOME[req.env]);
  const ref: DeploymentRef = req.ref ?? (req.release ? { kind: 'tag', name: req.release.tag } : { kind: 'branch', name: 'main' });
  const run = newRun(ctx, {
    workflow: repo.workflows.deploy,
    event: 'workflow_dispatch',
    trigger: { kind: 'deploy', landing, ref },
    actor: rng.pick(repo.team.engineers),
    at: req.at,
    outcome: outcome === 'success' ? 'success' : 'failure',
    jobs: [deployJob(req.env)],
  });
  const job = run.attempts[0]!.jobs[0]!;
  const createdAt = job.startedAt + rng.int(15, 40) * SECOND;
  const runningAt = createdAt + rng.int(2, 8) * SECOND;
  const finishedAt = Math.max(runningAt + 30 * SECOND, job.completedAt - rng.int(5, 20) * SECOND);
  const d: Deployment = {
    repo,
    id: org.ids.github('deployment', createdAt),
    env: req.env,
    kind: req.kind,
    landing,
    ref,
    createdAt,
    statuses: [
      { id: org.ids.github('deploymentStatus', runningAt), state: 'in_progress', at: runningAt },
      { id: org.ids.github('deploymentStatus', finishedAt), state: outcome, at: finishedAt },
    ],
    run,
    ...(req.release ? { release: req.release } : {}),
    ...(req.rollbackTo ? { rollbackTo: req.rollbackTo } : {}),
    ...(req.fixes ? { fixes: req.fixes } : {}),
  };
  ctx.delivery.deployments.push(d);
  return d;
}

/** Production trouble after a successful deployment, and how the team answers it. */
function consequences(ctx: RepoContext, state: DeployState, d: Deployment): void {
  const { rng, window, org, repo } = ctx;
  const finish = deploymentFinish(d).at;
  const previous = state.productionHistory[state.productionHistory.length - 2];
  const impact = rng.weighted(PRODUCTION_IMPACT);
  if (impact === 'none' || !previous) return;

  const rollback = (at: number, fixes?: Incident): void =>
    insertSorted(state.queue, {
      at: floorSecond(at),
      env: 'production',
      kind: 'rollback',
      landing: previous.landing,
      ref: previous.ref.kind === 'tag' ? previous.ref : { kind: 'sha' },
      rollbackTo: previous,
      ...(fixes ? { fixes } : {}),
    });

  if (impact === 'rollback') {
    // Caught by canary checks before anyone was paged.
    rollback(finish + rng.logNormal(50 * MINUTE, 0.5));
    return;
  }

  // Inferred links need the incident before the service's next deployment; keep it inside that gap.
  const nextProduction = state.queue.find((r) => r.env === 'production')?.at ?? finish + DAY;
  const gap = nextProduction - finish;
  if (gap < 20 * MINUTE) return;
  const triggeredAt = floorSecond(finish + Math.min(rng.logNormal(2 * HOUR, 0.9), 20 * HOUR, gap * 0.8));
  if (triggeredAt > window.now) return;

  const cause = { deployment: d, link: impact, ...(impact === 'explicit' ? { ref: rng.weighted(EXPLICIT_REFS) } : {}) };
  const incident = openIncident(org, rng, repo, triggeredAt, cause, window);
  ctx.delivery.incidents.push(incident);
  const ack = incident.acknowledgedAt;
  if (ack === undefined) return; // still unacknowledged at `now`
  const remediation = rng.weighted(REMEDIATION);
  if (remediation === 'rollback') {
    rollback(ack + rng.logNormal(20 * MINUTE, 0.5), incident);
  } else if (remediation === 'hotfix') {
    const pr = planPullRequest(ctx, floorSecond(ack + rng.logNormal(40 * MINUTE, 0.5)), 'hotfix', incident);
    if (pr.landing) {
      insertSorted(state.queue, {
        at: floorSecond(pr.landing.at + rng.logNormal(15 * MINUTE, 0.5)),
        env: 'production',
        kind: 'hotfix',
        fixes: incident,
      });
    }
  } else {
    settle(incident, ack + rng.logNormal(150 * MINUTE, 0.7), window);
  }
}

// ---------------------------------------------------------------------------------------------------
// Workflow runs

interface RunSpec {
  workflow: Workflow;
  event: WorkflowRun['event'];
  trigger: RunTrigger;
  actor: Person;
  at: number;
  outcome: CiOutcome;
  jobs: readonly JobSpec[];
}

function newRun(ctx: RepoContext, spec: RunSpec): WorkflowRun {
  const { rng, org, repo } = ctx;
  const createdAt = floorSecond(spec.at);
  const failing = spec.jobs.find((j) => j.name === CI_FAILING_JOB) ?? spec.jobs[0]!;
  const attempt = (n: number, startAt: number, conclusion: Conclusion): RunAttempt => {
    const jobs = spec.jobs.map((js) => runJob(ctx, js, startAt, conclusion === 'failure' && js === failing ? 'failure' : 'success'));
    return {
      attempt: n,
      startedAt: startAt,
      completedAt: Math.max(...jobs.map((j) => j.completedAt)) + rng.int(1, 5) * SECOND,
      conclusion,
      jobs,
    };
  };
  const first = attempt(1, createdAt + rng.int(3, 20) * SECOND, spec.outcome === 'success' ? 'success' : 'failure');
  const attempts = [first];
  // Flaky: the same commit fails, then passes on "Re-run jobs" (same run id, run_attempt 2).
  if (spec.outcome === 'flaky') attempts.push(attempt(2, floorSecond(first.completedAt + rng.logNormal(12 * MINUTE, 0.6)), 'success'));
  const run: WorkflowRun = {
    repo,
    id: org.ids.github('workflowRun', createdAt),
    checkSuiteId: org.ids.github('checkSuite', createdAt),
    workflow: spec.workflow,
    number: 0,
    event: spec.event,
    trigger: spec.trigger,
    actor: spec.actor,
    createdAt,
    attempts,
  };
  ctx.delivery.runs.push(run);
  return run;
}

function runJob(ctx: RepoContext, spec: JobSpec, runStart: number, conclusion: Conclusion): Job {
  const { rng, org } = ctx;
  const startedAt = floorSecond(runStart + rng.int(2, 25) * SECOND);
  const duration = Math.max(40 * SECOND, rng.logNormal(spec.median, 0.35));
  const steps: JobStep[] = [];
  let t = startedAt;
  spec.steps.forEach(([name, share], i) => {
    const failedBefore = steps.some((s) => s.conclusion === 'failure');
    const last = i === spec.steps.length - 1;
    // After a failing step the remaining steps are skipped; the post-job cleanup still runs.
    const stepDuration = failedBefore && !last ? 0 : Math.max(SECOND, floorSecond(duration * share));
    const stepConclusion = conclusion === 'failure' && i === spec.failingStep ? 'failure' : failedBefore && !last ? 'skipped' : 'success';
    steps.push({ name, startedAt: t, completedAt: t + stepDuration, conclusion: stepConclusion });
    t += stepDuration;
  });
  return {
    id: org.ids.github('job', startedAt),
    name: spec.name,
    startedAt,
    completedAt: t,
    conclusion,
    steps,
    runnerId: rng.int(1, 200),
  };
}

function planCiRuns(ctx: RepoContext): void {
  const { repo, rng, delivery } = ctx;
  for (const pr of delivery.prs) {
    pr.pushes.forEach((push, i) => {
      const final = i === pr.pushes.length - 1 && pr.outcome.kind === 'merged';
      const outcome = rng.weighted(final ? CI_OUTCOME.final : CI_OUTCOME.intermediate);
      const trigger: RunTrigger = { kind: 'pull_request', pr, push };
      newRun(ctx, {
        workflow: repo.workflows.ci,
        event: 'pull_request',
        trigger,
        actor: pr.author,
        at: push.at + rng.int(5, 40) * SECOND,
        outcome,
        jobs: CI_JOBS,
      });
    });
  }
  for (const landing of delivery.landings) {
    const trigger: RunTrigger = { kind: 'push', landing };
    newRun(ctx, {
      workflow: repo.workflows.ci,
      event: 'push',
      trigger,
      actor: landing.pusher,
      at: landing.at + rng.int(3, 30) * SECOND,
      outcome: rng.weighted(CI_OUTCOME.main),
      jobs: CI_JOBS,
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Finishing touches: parents of commits, numbers of pull requests and runs

function finalizeHistory(d: RepoDelivery): void {
  let head = d.preWindowSha;
  for (const landing of d.landings) {
    if (landing.kind === 'merge') {
      const tip = landing.pr?.pushes.flatMap((p) => p.commits).pop();
      if (!tip) throw new Error(`${d.repo.fullName}: merge landing without pull request commits`);
      landingHead(landing).parents = [head, tip.sha];
    } else {
      let parent = head;
      for (const c of landing.commits) {
        c.parents = [parent];
        parent = c.sha;
      }
    }
    head = landingHead(landing).sha;
    d.heads.push({ at: landing.at, sha: head });
  }
  // Pull request branches fork from main as it was when their first commit was written.
  for (const pr of d.prs) {
    const commits = pr.pushes.flatMap((p) => p.commits);
    let parent = mainHeadAt(d, commits[0]?.authoredAt ?? pr.openedAt);
    for (const c of commits) {
      c.parents = [parent];
      parent = c.sha;
    }
  }
}

function numberEverything(ctx: RepoContext): void {
  const { rng, delivery } = ctx;
  delivery.prs.sort((a, b) => a.openedAt - b.openedAt || a.id - b.id);
  // Issues share the number sequence with pull requests, hence the gaps.
  let n = rng.int(40, 1200);
  for (const pr of delivery.prs) {
    n += rng.chance(0.3) ? rng.int(2, 4) : 1;
    pr.number = n;
  }
  delivery.runs.sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  const counters = new Map<Workflow, number>();
  for (const run of delivery.runs) {
    const next = (counters.get(run.workflow) ?? run.workflow.runNumberBase) + 1;
    counters.set(run.workflow, next);
    run.number = next;
  }
  delivery.deployments.sort((a, b) => a.createdAt - b.createdAt);
  delivery.releases.sort((a, b) => a.publishedAt - b.publishedAt);
}
