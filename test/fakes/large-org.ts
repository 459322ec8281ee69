import { Rng } from '../../connectors/demo/prng.js';
import { orgSchema, type OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { ENTITY_TABLES, type DomainTables, type IncidentEventKind, type StatusCategory, type WorkItemKind } from '../../schemas/domain.js';
import { commitFingerprint } from '../../mapping/rows.js';

/**
 * A large organisation written straight into the domain tables, as the mappers would have written it:
 * programs of about five teams, each team with two or three repositories (one deployable service each),
 * a Jira project, PagerDuty services and CI pipelines, and two years (by default) of working days of
 * pull requests, default-branch history, production deployments, incidents, CI runs and Jira work
 * (monthly versions and epics holding the team's items; a version's unresolved items move to the next
 * one when it is released).
 * Everything is drawn from a seeded PRNG, one fork per team and month, so a seed gives the same rows.
 * Rows are generated month by month across all teams and written in chunks: memory holds about one
 * chunk plus a little state per team, whatever the size.
 */

export interface LargeOrgOptions {
  seed?: number;
  /** Teams, in programs of five (the last may be smaller). */
  teams?: number;
  /** Years of history, ending at `end`. */
  years?: number;
  /** Multiplies every per-day rate (pull requests, deployments, incidents, runs, work items). */
  scale?: number;
  /** The day after the last day of history, 'YYYY-MM-DD' (UTC). */
  end?: string;
  /** Buffered rows that trigger a write. */
  chunkRows?: number;
}

/** The tables the generator writes. */
export const LARGE_ORG_TABLES = ENTITY_TABLES;

export type LargeOrgTable = (typeof LARGE_ORG_TABLES)[number];

export interface LargeOrgResult {
  org: OrgConfig;
  counts: Record<LargeOrgTable, number>;
  rows: number;
  /** The first and the last day of history, 'YYYY-MM-DD'. */
  firstDay: string;
  lastDay: string;
  /** The day after the last (the `end` option). */
  end: string;
}

/** Receives each chunk of rows of one table. */
export type RowSink = (table: LargeOrgTable, rows: object[]) => Promise<void>;

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
const OWNER = 'acme';
const TEAMS_PER_PROGRAM = 5;

const iso = (ms: number): string => new Date(ms).toISOString();
const date = (ms: number): string => iso(ms).slice(0, 10);
const pad = (n: number, width = 3): string => String(n).padStart(width, '0');

interface Defaults {
  seed: number;
  teams: number;
  years: number;
  scale: number;
  end: string;
  chunkRows: number;
}

function withDefaults(o: LargeOrgOptions): Defaults {
  return {
    seed: o.seed ?? 1,
    teams: o.teams ?? 50,
    years: o.years ?? 2,
    scale: o.scale ?? 1,
    end: o.end ?? '2026-11-02',
    chunkRows: o.chunkRows ?? 50_000,
  };
}

/** Names of a team's parts: the same in the org config and in the rows. */
function teamShape(
  t: number,
  seed: number,
): { id: string; program: string; project: string; services: Array<{ name: string; repo: string; pd: string; pipelines: string[] }> } {
  const services = 2 + new Rng(seed).fork(`shape/${t}`).int(0, 1);
  return {
    id: `team-${pad(t)}`,
    program: `program-${pad(Math.floor(t / TEAMS_PER_PROGRAM), 2)}`,
    project: `T${pad(t)}`,
    services: Array.from({ length: services }, (_, s) => {
      const name = `t${pad(t)}-svc${s + 1}`;
      const repo = `${OWNER}/${name}`;
      return { name, repo, pd: `P${pad(t)}S${s + 1}`, pipelines: [`github:${repo}:ci.yml`, `github:${repo}:deploy.yml`] };
    }),
  };
}

/** The org mapping of the generated organisation: every team owns its repositories, project, services and pipelines. */
export function largeOrgConfig(options: Pick<LargeOrgOptions, 'teams' | 'seed'> = {}): OrgConfig {
  const { teams, seed } = withDefaults(options);
  const programs: Array<{ id: string; name: string; teams: unknown[] }> = [];
  for (let t = 0; t < teams; t++) {
    const s = teamShape(t, seed);
    let program = programs.find((p) => p.id === s.program);
    if (program === undefined) {
      program = { id: s.program, name: `Program ${s.program.slice(8)}`, teams: [] };
      programs.push(program);
    }
    program.teams.push({
      id: s.id,
      name: `Team ${pad(t)}`,
      repositories: s.services.map((x) => x.repo),
      jira: { projects: [s.project], components: [] },
      pagerduty: { services: s.services.map((x) => x.pd) },
      ci: { pipelines: s.services.flatMap((x) => x.pipelines) },
      services: s.services.map((x) => ({ name: x.name, repositories: [x.repo], pagerduty: [x.pd], pipelines: x.pipelines, aliases: [] })),
    });
  }
  return orgSchema.parse({ programs });
}

interface RepoState {
  repo: string;
  service: string;
  pd: string;
  head: string;
  /** The latest default-branch commits and their times, oldest first: what a new branch starts from. */
  main: Array<[string, number]>;
  prs: number;
  /** The last production deployment's id and finish, for incidents that follow one. */
  lastDeployId: string;
  lastDeployAt: number;
  dayShas: string[];
}

interface ItemRef {
  key: string;
  id: string;
}

interface TeamState {
  t: number;
  team: string;
  program: string;
  project: string;
  repos: RepoState[];
  items: number;
  deployments: number;
  incidents: number;
  runs: number;
  links: number;
  versions: number;
  sprints: number;
  epic: string;
  version: string;
  /** The plans of the team's versions from the current one on, by number (those later ones items have moved to). */
  plans: Map<number, VersionPlan>;
  sprint: string;
  /** Items of the month being generated, and of the month before (what other teams' items may be blocked by). */
  current: ItemRef[];
  previous: ItemRef[];
  /** The latest items parked once started (never touched again): blockers that stall. */
  parked: ItemRef[];
}

/** Buffers rows per table and hands them to the sink once `chunkRows` rows are waiting. */
class Chunks {
  private readonly buffers = new Map<LargeOrgTable, object[]>();
  private waiting = 0;
  readonly counts = Object.fromEntries(LARGE_ORG_TABLES.map((t) => [t, 0])) as Record<LargeOrgTable, number>;

  constructor(
    private readonly sink: RowSink,
    private readonly chunkRows: number,
  ) {}

  add<T extends LargeOrgTable>(table: T, row: DomainTables[T]): void {
    let list = this.buffers.get(table);
    if (list === undefined) this.buffers.set(table, (list = []));
    list.push(row);
    this.counts[table]++;
    this.waiting++;
  }

  async flush(force = false): Promise<void> {
    if (!force && this.waiting < this.chunkRows) return;
    for (const [table, rows] of this.buffers) if (rows.length > 0) await this.sink(table, rows);
    this.buffers.clear();
    this.waiting = 0;
  }
}

const STATUS_IDS: Record<string, string> = { 'To Do': '10000', 'In Progress': '3', 'In Review': '10001', Blocked: '10002', Done: '10003' };
const CATEGORY: Record<string, StatusCategory> = {
  'To Do': 'todo',
  'In Progress': 'in_progress',
  'In Review': 'in_progress',
  Blocked: 'in_progress',
  Done: 'done',
};
const KIND_TYPES: Record<WorkItemKind, string> = {
  story: 'Story',
  task: 'Task',
  bug: 'Bug',
  epic: 'Epic',
  risk: 'Risk',
  decision: 'Decision',
  action: 'Action Item',
  subtask: 'Sub-task',
  other: 'Other',
};
const PRIORITIES = ['Highest', 'High', 'Medium', 'Low', 'Lowest'] as const;

/** Generates the organisation and hands its rows to `sink` in chunks. */
export async function generateLargeOrg(options: LargeOrgOptions, sink: RowSink): Promise<LargeOrgResult> {
  const o = withDefaults(options);
  const root = new Rng(o.seed);
  const org = largeOrgConfig(o);
  const out = new Chunks(sink, o.chunkRows);
  const endMs = Date.parse(`${o.end}T00:00:00Z`);
  const startMs = endMs - Math.max(1, Math.round(o.years * 365)) * DAY;
  const src = { github: 'github', jira: 'jira', pagerduty: 'pagerduty' } as const;

  // Repositories, their first commit, and the PagerDuty services.
  const teams: TeamState[] = [];
  for (let t = 0; t < o.teams; t++) {
    const shape = teamShape(t, o.seed);
    const rng = root.fork(`setup/${t}`);
    const own = { team: shape.id, program: shape.program };
    const state: TeamState = {
      t,
      team: shape.id,
      program: shape.program,
      project: shape.project,
      repos: [],
      items: 0,
      deployments: 0,
      incidents: 0,
      runs: 0,
      links: 0,
      versions: 0,
      sprints: 0,
      epic: '',
      version: '',
      plans: new Map(),
      sprint: '',
      current: [],
      previous: [],
      parked: [],
    };
    for (const s of shape.services) {
      const first = rng.hex(40);
      const at = iso(startMs - 30 * DAY);
      out.add('repositories', {
        team: own.team,
        program: own.program,
        source: src.github,
        repo: s.repo,
        name: s.repo.split('/')[1]!,
        url: `https://github.com/${s.repo}`,
        default_branch: 'main',
        created_at: at,
        updated_at: at,
        raw_event_id: '',
        version: (startMs - 30 * DAY) * 1000,
        is_deleted: 0,
      });
      out.add('commits', {
        team: own.team,
        program: own.program,
        source: src.github,
        repo: s.repo,
        sha: first,
        parents: [],
        parents_known: 1,
        author: 'github:p0',
        authored_at: at,
        committed_at: at,
        fingerprint: commitFingerprint(at, 'initial commit'),
        raw_event_id: '',
        version: 1,
      });
      out.add('services', {
        team: own.team,
        program: own.program,
        source: src.pagerduty,
        service_id: s.pd,
        name: `${s.name} (PagerDuty)`,
        service: s.name,
        raw_event_id: '',
        version: 1,
        is_deleted: 0,
      });
      state.repos.push({
        repo: s.repo,
        service: s.name,
        pd: s.pd,
        head: first,
        main: [[first, startMs - 30 * DAY]],
        prs: 0,
        lastDeployId: '',
        lastDeployAt: 0,
        dayShas: [],
      });
    }
    teams.push(state);
  }

  // Month by month across all teams: the state carried over is each repository's head and each team's
  // current epic, version and sprint, and the keys of its last month's items.
  for (let m = 0, monthStart = startMs; monthStart < endMs; m++) {
    const d = new Date(monthStart);
    const monthEnd = Math.min(endMs, Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
    for (const team of teams) {
      const rng = root.fork(`month/${team.t}/${m}`);
      generateMonth(team, teams, rng, out, { monthStart, monthEnd, startMs, endMs, scale: o.scale, seed: o.seed });
      await out.flush();
    }
    for (const team of teams) {
      team.previous = team.current;
      team.current = [];
    }
    monthStart = monthEnd;
  }
  await out.flush(true);
  const rows = Object.values(out.counts).reduce((a, b) => a + b, 0);
  return { org, counts: out.counts, rows, firstDay: date(startMs), lastDay: date(endMs - DAY), end: o.end };
}

/** Generates the organisation into the store's domain tables (JSONEachRow inserts of one chunk each). */
export function writeLargeOrg(store: Store, options: LargeOrgOptions = {}): Promise<LargeOrgResult> {
  return generateLargeOrg(options, async (table, rows) => {
    await store.client.insert({ table, values: rows, format: 'JSONEachRow' });
  });
}

interface Window {
  monthStart: number;
  monthEnd: number;
  startMs: number;
  endMs: number;
  scale: number;
  seed: number;
}

/**
 * A version's plan: it opens on its month's first day (the first version on the first day of history),
 * is committed for about five weeks later, re-committed a few days to two weeks later on its 20th day
 * now and then, and released within a few days of its last committed date. Drawn from its own fork, so a
 * version's release is known to the months before it: an item still open when a version is released
 * moves to the next one, whose release decides whether it moves again.
 */
interface VersionPlan {
  opens: number;
  committed: number;
  /** The re-commit, seen on day 20, or null. */
  recommitted: number | null;
  released: number;
}

function versionPlan(team: TeamState, n: number, w: Window): VersionPlan {
  let plan = team.plans.get(n);
  if (plan !== undefined) return plan;
  const first = new Date(w.startMs);
  const opens = n === 1 ? w.startMs : Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + n - 1, 1);
  const rng = new Rng(w.seed).fork(`version/${team.t}/${n}`);
  const committed = opens + 35 * DAY;
  const recommitted = rng.chance(0.4) ? committed + rng.int(3, 14) * DAY : null;
  plan = { opens, committed, recommitted, released: (recommitted ?? committed) + rng.int(-3, 4) * DAY };
  team.plans.set(n, plan);
  return plan;
}

function generateMonth(team: TeamState, all: TeamState[], rng: Rng, out: Chunks, w: Window): void {
  const own = { team: team.team, program: team.program };
  const gh = 'github';
  const author = (): string => `github:p${team.t * 12 + rng.int(0, 11)}`;
  const jiraPerson = (): string => `jira:u${team.t * 12 + rng.int(0, 11)}`;

  // The month's version (released about five weeks after it opens, sometimes re-committed later) and its epic.
  team.versions++;
  const versionNo = team.t * 10_000 + team.versions;
  team.version = `version/${versionNo}`;
  for (const n of team.plans.keys()) if (n < team.versions) team.plans.delete(n);
  const plan = versionPlan(team, team.versions, w);
  let committed = plan.committed;
  const monthDay = date(w.monthStart);
  out.add('milestone_dates', {
    source: 'jira',
    milestone_id: team.version,
    committed_date: date(committed),
    observed_at: iso(w.monthStart),
    basis: 'snapshot',
    raw_event_id: '',
    version: w.monthStart * 1000,
  });
  if (plan.recommitted !== null && w.monthStart + 20 * DAY < w.endMs) {
    committed = plan.recommitted;
    out.add('milestone_dates', {
      source: 'jira',
      milestone_id: team.version,
      committed_date: date(committed),
      observed_at: iso(w.monthStart + 20 * DAY),
      basis: 'snapshot',
      raw_event_id: '',
      version: (w.monthStart + 20 * DAY) * 1000,
    });
  }
  const released = plan.released;
  const isReleased = released < w.endMs;
  out.add('milestones', {
    team: own.team,
    program: own.program,
    source: 'jira',
    milestone_id: team.version,
    kind: 'version',
    name: `${team.project} ${monthDay.slice(0, 7)}`,
    project: team.project,
    state: isReleased ? 'done' : 'open',
    raw_state: isReleased ? 'released' : 'unreleased',
    start_date: monthDay,
    committed_date: date(committed),
    completed_at: isReleased ? iso(released) : null,
    url: '',
    raw_event_id: '',
    version: Math.min(w.endMs, isReleased ? released : w.monthStart) * 1000,
    is_deleted: 0,
  });
  if (isReleased) {
    const repo = team.repos[0]!;
    out.add('releases', {
      team: own.team,
      program: own.program,
      source: gh,
      release_id: `${team.t}-${team.versions}`,
      repo: repo.repo,
      tag: `v${monthDay.slice(2, 4)}.${monthDay.slice(5, 7)}.0`,
      name: `${team.project} ${monthDay.slice(0, 7)}`,
      is_draft: 0,
      is_prerelease: 0,
      created_at: iso(released - HOUR),
      published_at: iso(released),
      service: repo.service,
      url: '',
      raw_event_id: '',
      version: released * 1000,
      is_deleted: 0,
    });
  }
  const epic = workItem(team, rng, out, w, {
    kind: 'epic',
    created: w.monthStart + 9 * HOUR,
    due: w.monthStart + rng.int(45, 75) * DAY,
    person: jiraPerson,
  });
  team.epic = epic.id;

  for (let day = w.monthStart; day < w.monthEnd; day += DAY) {
    const dayNo = Math.round((day - w.startMs) / DAY);
    const weekday = new Date(day).getUTCDay();
    // Two-week sprints from the first day of history.
    if (dayNo % 14 === 0) {
      team.sprints++;
      team.sprint = `sprint/${team.t * 10_000 + team.sprints}`;
      let sprintEnd = day + 13 * DAY;
      out.add('milestone_dates', {
        source: 'jira',
        milestone_id: team.sprint,
        committed_date: date(sprintEnd),
        observed_at: iso(day),
        basis: 'snapshot',
        raw_event_id: '',
        version: day * 1000,
      });
      if (rng.chance(0.15)) {
        sprintEnd += 2 * DAY;
        out.add('milestone_dates', {
          source: 'jira',
          milestone_id: team.sprint,
          committed_date: date(sprintEnd),
          observed_at: iso(day + 10 * DAY),
          basis: 'snapshot',
          raw_event_id: '',
          version: (day + 10 * DAY) * 1000,
        });
      }
      const done = sprintEnd + 17 * HOUR < w.endMs;
      out.add('milestones', {
        team: own.team,
        program: own.program,
        source: 'jira',
        milestone_id: team.sprint,
        kind: 'sprint',
        name: `${team.project} Sprint ${team.sprints}`,
        project: team.project,
        state: done ? 'done' : 'active',
        raw_state: done ? 'closed' : 'active',
        start_date: date(day),
        committed_date: date(sprintEnd),
        completed_at: done ? iso(sprintEnd + 17 * HOUR) : null,
        url: '',
        raw_event_id: '',
        version: Math.min(w.endMs - 1, sprintEnd) * 1000,
        is_deleted: 0,
      });
    }
    if (weekday === 0 || weekday === 6) continue;
    for (const r of team.repos) r.dayShas = [];
    generateDay(team, all, rng, out, w, day, { own, author, jiraPerson });
  }
}

interface DayContext {
  own: { team: string; program: string };
  author: () => string;
  jiraPerson: () => string;
}

function generateDay(team: TeamState, all: TeamState[], rng: Rng, out: Chunks, w: Window, day: number, c: DayContext): void {
  const { own, author } = c;
  const gh = 'github';
  const events: Array<{ at: number; n: number; run: () => void }> = [];
  const commit = (
    repo: RepoState,
    parents: string[],
    authored: number,
    committedAt: number,
    message: string,
    sha = rng.hex(40),
  ): string => {
    out.add('commits', {
      team: own.team,
      program: own.program,
      source: gh,
      repo: repo.repo,
      sha,
      parents,
      parents_known: 1,
      author: author(),
      authored_at: iso(authored),
      committed_at: iso(committedAt),
      fingerprint: commitFingerprint(iso(authored), message),
      raw_event_id: '',
      version: committedAt * 1000,
    });
    repo.dayShas.push(sha);
    return sha;
  };

  // Pull requests: most merged today (squash, merge or rebase), a few closed or still open.
  const prs = rng.poisson(10 * w.scale);
  for (let i = 0; i < prs; i++) {
    const repo = rng.pick(team.repos);
    const end = day + 9 * HOUR + rng.int(0, 9 * 60) * MINUTE;
    const fate = rng.weighted<'merged' | 'closed' | 'open'>([
      ['merged', 90],
      ['closed', 6],
      ['open', 4],
    ]);
    events.push({
      at: end,
      n: events.length,
      run: () => pullRequest(repo, end, fate),
    });
  }
  // Direct pushes to the default branch.
  if (rng.chance(0.3 * w.scale)) {
    const repo = rng.pick(team.repos);
    const at = day + 8 * HOUR + rng.int(0, 10 * 60) * MINUTE;
    events.push({
      at,
      n: events.length,
      run: () => advance(repo, commit(repo, [repo.head], at - 5 * MINUTE, at, `direct change ${at}`), at),
    });
  }
  // Production deployments of whatever the default branch has at the time.
  const deploys = Math.max(0, Math.round(rng.int(1, 3) * w.scale));
  for (let i = 0; i < deploys; i++) {
    const repo = rng.pick(team.repos);
    const at = day + 10 * HOUR + rng.int(0, 9 * 60) * MINUTE;
    events.push({ at, n: events.length, run: () => deployment(repo, at) });
  }
  events.sort((a, b) => a.at - b.at || a.n - b.n);
  for (const e of events) e.run();

  function pullRequest(repo: RepoState, end: number, fate: 'merged' | 'closed' | 'open'): void {
    repo.prs++;
    const number = repo.prs;
    const opened = end - Math.max(10 * MINUTE, Math.round(rng.logNormal(20 * HOUR, 0.9)));
    const title = `${repo.service} change ${number}`;
    const k = rng.int(1, 5);
    const shas: string[] = [];
    const authored: number[] = [];
    const fingerprints: string[] = [];
    const firstAt = opened - k * 40 * MINUTE - 30 * MINUTE;
    let parent = repo.main[0]![0];
    for (const [sha, at] of repo.main) if (at <= firstAt) parent = sha;
    for (let j = 0; j < k; j++) {
      const at = opened - (k - j) * 40 * MINUTE - rng.int(0, 30) * MINUTE;
      const message = `${title}: step ${j + 1}`;
      parent = commit(repo, [parent], at, at, message);
      shas.push(parent);
      authored.push(at);
      fingerprints.push(commitFingerprint(iso(at), message));
    }
    let mergeSha = '';
    if (fate === 'merged') {
      const how = rng.weighted<'squash' | 'merge' | 'rebase'>([
        ['squash', 60],
        ['merge', 25],
        ['rebase', 15],
      ]);
      if (how === 'merge') mergeSha = commit(repo, [repo.head, parent], end, end, `Merge pull request #${number}`);
      else if (how === 'squash') mergeSha = commit(repo, [repo.head], end, end, `${title} (#${number})`);
      else {
        let head = repo.head;
        for (let j = 0; j < k; j++) head = commit(repo, [head], authored[j]!, end, `${title}: step ${j + 1}`);
        mergeSha = head;
      }
      advance(repo, mergeSha, end);
    }
    // Reviews between opening and the end, the last one an approval when merged.
    const reviews = rng.weighted([
      [0, 10],
      [1, 50],
      [2, 30],
      [3, 10],
    ]);
    let at = opened;
    for (let j = 0; j < reviews; j++) {
      at = Math.min(end - MINUTE, at + Math.round(rng.logNormal(3 * HOUR, 0.9)));
      if (at < opened) at = opened;
      const last = j === reviews - 1;
      const state = last && fate === 'merged' ? 'approved' : rng.pick(['commented', 'changes_requested', 'approved'] as const);
      out.add('reviews', {
        source: gh,
        repo: repo.repo,
        number,
        review_id: `${repo.service}-${number}-${j + 1}`,
        reviewer: author(),
        state,
        raw_state: state.toUpperCase(),
        submitted_at: iso(at),
        raw_event_id: '',
        version: at * 1000,
      });
    }
    const closedAt = fate === 'open' ? null : iso(end);
    out.add('pull_requests', {
      team: own.team,
      program: own.program,
      source: gh,
      repo: repo.repo,
      number,
      pr_id: `${repo.service}-${number}`,
      title,
      author: author(),
      state: fate,
      raw_state: fate === 'open' ? 'open' : 'closed',
      draft: 0,
      base_branch: 'main',
      head_branch: `feature/${repo.service}-${number}`,
      head_sha: parent,
      merge_commit_sha: mergeSha,
      labels: rng.chance(0.1) ? ['bug'] : [],
      created_at: iso(opened),
      updated_at: iso(end),
      merged_at: fate === 'merged' ? iso(end) : null,
      closed_at: closedAt,
      url: `https://github.com/${repo.repo}/pull/${number}`,
      raw_event_id: '',
      version: end * 1000,
      is_deleted: 0,
    });
    out.add('pull_request_commits', {
      source: gh,
      repo: repo.repo,
      number,
      head_sha: parent,
      shas,
      authored_at: authored.map(iso),
      fingerprints,
      raw_event_id: '',
      version: end * 1000,
    });
  }

  function deployment(repo: RepoState, at: number): void {
    team.deployments++;
    const id = `${team.t * 1_000_000 + team.deployments}`;
    const hotfix = rng.chance(0.03);
    const failed = rng.chance(0.1);
    const started = at + 30_000;
    const finished = started + rng.int(3, 20) * MINUTE;
    out.add('deployments', {
      team: own.team,
      program: own.program,
      source: gh,
      deployment_id: id,
      repo: repo.repo,
      service: repo.service,
      environment: 'production',
      is_production: 1,
      sha: repo.head,
      ref: hotfix ? `hotfix/${repo.service}-${team.deployments}` : 'main',
      description: '',
      is_rollback: 0,
      created_at: iso(at),
      url: '',
      raw_event_id: '',
      version: at * 1000,
    });
    const statuses: Array<['in_progress' | 'success' | 'failure', number]> = [
      ['in_progress', started],
      [failed ? 'failure' : 'success', finished],
    ];
    statuses.forEach(([state, t], i) =>
      out.add('deployment_statuses', {
        source: gh,
        deployment_id: id,
        status_id: `${id}${i + 1}`,
        state,
        raw_state: state,
        at: iso(t),
        raw_event_id: '',
        version: t * 1000,
      }),
    );
    if (!failed) {
      repo.lastDeployId = id;
      repo.lastDeployAt = finished;
    }
  }

  // Incidents: most within a day after a deployment of the service they page for.
  const incidents = rng.poisson(0.3 * w.scale);
  for (let i = 0; i < incidents; i++) {
    const recent = team.repos.filter((r) => r.lastDeployAt >= day);
    const afterDeploy = recent.length > 0 && rng.chance(0.6);
    const repo = afterDeploy ? rng.pick(recent) : rng.pick(team.repos);
    const created = afterDeploy ? repo.lastDeployAt + rng.int(15, 20 * 60) * MINUTE : day + rng.int(0, 23 * 60) * MINUTE;
    if (created >= w.endMs) continue;
    team.incidents++;
    const id = `Q${pad(team.t)}${pad(team.incidents, 5)}`;
    const sev = rng.weighted([
      [1, 3],
      [2, 12],
      [3, 35],
      [4, 35],
      [5, 15],
    ]);
    const acked = created + Math.round(rng.logNormal(8 * MINUTE, 0.8));
    const resolvedAt = acked + Math.round(rng.logNormal(2 * HOUR, 1));
    const resolved = resolvedAt < w.endMs;
    const ackKnown = acked < w.endMs;
    const status = resolved ? 'resolved' : ackKnown ? 'acknowledged' : 'triggered';
    out.add('incidents', {
      team: own.team,
      program: own.program,
      source: 'pagerduty',
      incident_id: id,
      number: String(team.t * 100_000 + team.incidents),
      title: `${repo.service}: elevated error rate`,
      service_id: repo.pd,
      service: repo.service,
      urgency: sev <= 2 ? 'high' : 'low',
      severity: `sev${sev}`,
      raw_severity: `P${sev}`,
      status,
      raw_status: status,
      created_at: iso(created),
      acknowledged_at: ackKnown ? iso(acked) : null,
      resolved_at: resolved ? iso(resolvedAt) : null,
      description: '',
      url: '',
      raw_event_id: '',
      version: (resolved ? resolvedAt : ackKnown ? acked : created) * 1000,
    });
    const timeline: Array<[IncidentEventKind, number]> = [['trigger', created]];
    if (ackKnown) timeline.push(['acknowledge', acked]);
    if (resolved) timeline.push(['resolve', resolvedAt]);
    timeline.forEach(([kind, t], j) =>
      out.add('incident_events', {
        source: 'pagerduty',
        incident_id: id,
        event_id: `${id}-${j + 1}`,
        kind,
        raw_type: `${kind}_log_entry`,
        at: iso(t),
        raw_event_id: '',
        version: t * 1000,
      }),
    );
  }

  // CI: runs of the day's commits with three jobs each; some runs fail a test and pass on a re-run.
  const runs = rng.poisson(20 * w.scale);
  for (let i = 0; i < runs; i++) {
    const repo = rng.pick(team.repos);
    const sha = repo.dayShas.length > 0 ? rng.pick(repo.dayShas) : repo.head;
    const created = day + 8 * HOUR + rng.int(0, 11 * 60) * MINUTE;
    if (created >= w.endMs) continue;
    team.runs++;
    const runId = String(team.t * 10_000_000 + team.runs);
    const pipeline = `github:${repo.repo}:ci.yml`;
    const outcome = rng.weighted<'success' | 'failure' | 'cancelled' | 'flaky'>([
      ['success', 82],
      ['failure', 9],
      ['cancelled', 3],
      ['flaky', 6],
    ]);
    const attempts = outcome === 'flaky' ? 2 : 1;
    let t = created;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const result = outcome === 'flaky' ? (attempt === 1 ? 'failure' : 'success') : outcome;
      const started = t + rng.int(5, 90) * 1000;
      let jt = started;
      (['build', 'test', 'lint'] as const).forEach((name, j) => {
        const dur = rng.int(1, name === 'test' ? 15 : 5) * MINUTE;
        const jobResult =
          result === 'failure' && name === 'test' ? 'failure' : result === 'cancelled' && name === 'test' ? 'cancelled' : 'success';
        out.add('pipeline_jobs', {
          team: own.team,
          program: own.program,
          source: gh,
          job_id: `${runId}${attempt}${j}`,
          run_id: runId,
          repo: repo.repo,
          pipeline,
          name,
          sha,
          status: 'done',
          result: jobResult,
          raw_result: jobResult,
          started_at: iso(jt),
          finished_at: iso(jt + dur),
          url: '',
          raw_event_id: '',
          version: (jt + dur) * 1000,
        });
        jt += dur;
      });
      out.add('pipeline_runs', {
        team: own.team,
        program: own.program,
        source: gh,
        run_id: runId,
        repo: repo.repo,
        pipeline,
        name: 'CI',
        sha,
        branch: 'main',
        trigger: 'push',
        status: 'done',
        result,
        raw_result: result,
        attempt,
        created_at: iso(created),
        started_at: iso(started),
        finished_at: iso(jt),
        service: repo.service,
        url: '',
        raw_event_id: '',
        version: jt * 1000 + attempt,
      });
      t = jt + rng.int(2, 30) * MINUTE;
    }
  }

  // Jira: stories, tasks, bugs, risks, decisions and action items; some blocked by other teams' items.
  const items = rng.poisson(5 * w.scale);
  const stories: ItemRef[] = [];
  for (let i = 0; i < items; i++) {
    const kind = rng.weighted<WorkItemKind>([
      ['story', 40],
      ['task', 15],
      ['bug', 20],
      ['risk', 5],
      ['decision', 7],
      ['action', 13],
    ]);
    const ref = workItem(team, rng, out, w, { kind, created: day + 8 * HOUR + rng.int(0, 9 * 60) * MINUTE, person: c.jiraPerson });
    if (kind === 'story') stories.push(ref);
  }
  const link = (blocker: ItemRef, blocked: ItemRef): void => {
    team.links++;
    const at = day + 18 * HOUR;
    out.add('work_item_links', {
      source: 'jira',
      from_key: blocker.key,
      to_key: blocked.key,
      link_type: 'blocks',
      raw_type: 'Blocks',
      link_id: String(team.t * 1_000_000 + team.links),
      from_item_id: blocker.id,
      to_item_id: blocked.id,
      created_at: iso(at),
      raw_event_id: '',
      version: at * 1000,
      is_deleted: 0,
    });
  };
  const blocks = rng.poisson(0.3 * w.scale);
  for (let i = 0; i < blocks && stories.length > 0; i++) {
    const other = all[(team.t + 1 + rng.int(0, all.length - 2)) % all.length]!;
    if (other === team || other.previous.length === 0) continue;
    link(rng.pick(other.previous), rng.pick(stories));
  }
  // Now and then a new story waits, not started, on another team's parked item: a dependency that stalls.
  if (rng.chance(0.05 * w.scale)) {
    const other = all[(team.t + 1 + rng.int(0, all.length - 2)) % all.length]!;
    if (other !== team && other.parked.length > 0) {
      const waiting = workItem(team, rng, out, w, { kind: 'story', created: day + 9 * HOUR, person: c.jiraPerson, waiting: true });
      link(rng.pick(other.parked), waiting);
    }
  }
}

/** Moves the default branch of `repo` to `sha`. */
function advance(repo: RepoState, sha: string, at: number): void {
  repo.head = sha;
  repo.main.push([sha, at]);
  if (repo.main.length > 256) repo.main.shift();
}

/** One work item with its status history up to the end of history; an epic is also a milestone. */
function workItem(
  team: TeamState,
  rng: Rng,
  out: Chunks,
  w: Window,
  spec: { kind: WorkItemKind; created: number; due?: number; person: () => string; waiting?: boolean },
): ItemRef {
  team.items++;
  const id = String(team.t * 1_000_000 + team.items);
  const key = `${team.project}-${team.items}`;
  const ref = { key, id };
  team.current.push(ref);
  const { kind, created } = spec;
  const days = (median: number, sigma = 0.8): number => Math.max(10 * MINUTE, Math.round(rng.logNormal(median * DAY, sigma)));
  // The status path: times at which each status was entered.
  const path: Array<[string, number]> = [['To Do', created]];
  let t = created;
  const step = (status: string, after: number): void => {
    t += after;
    path.push([status, t]);
  };
  if (kind === 'epic') {
    step('In Progress', days(3));
    step('Done', Math.max(DAY, (spec.due ?? t + 30 * DAY) - t - rng.int(-5, 10) * DAY));
  } else if (kind === 'decision') {
    step('In Progress', days(0.3));
    step('Done', days(1.5, 1));
  } else if (spec.waiting !== true) {
    step('In Progress', days(kind === 'action' ? 2 : 1.5));
    // A few items are parked once started and never touched again: the tail that stalls dependencies.
    if (rng.chance(0.03)) team.parked = [...team.parked.slice(-9), ref];
    else {
      if (rng.chance(0.06)) {
        step('Blocked', days(1));
        step('In Progress', days(3, 0.9));
      }
      if (kind !== 'action' && kind !== 'risk') step('In Review', days(1.5));
      step('Done', days(kind === 'risk' ? 10 : 0.6));
    }
  }
  const seen = path.filter(([, at]) => at < w.endMs);
  const [status, lastChange] = seen[seen.length - 1]!;
  const resolved = status === 'Done' ? lastChange : null;
  let updated = lastChange;
  // Planned items and bugs are created into the team's open version. Releasing a version moves its
  // unresolved items to the next one (as Jira's release dialog does), again at each release until done.
  const planned = kind === 'story' || kind === 'task';
  let fixVersion = planned || kind === 'bug' ? team.versions : null;
  if (fixVersion !== null) {
    const doneAt = path[path.length - 1]![0] === 'Done' ? path[path.length - 1]![1] : Infinity;
    const nameOf = (n: number): string => `${team.project} ${date(versionPlan(team, n, w).opens).slice(0, 7)}`;
    for (let moves = 1; ; moves++) {
      const { released } = versionPlan(team, fixVersion, w);
      if (released >= w.endMs || released >= doneAt) break;
      out.add('work_item_history', {
        source: 'jira',
        item_id: id,
        history_id: `${id}${pad(50 + moves, 2)}`,
        field: 'Fix Version',
        field_id: 'fixVersions',
        from_value: String(team.t * 10_000 + fixVersion),
        from_string: nameOf(fixVersion),
        to_value: String(team.t * 10_000 + fixVersion + 1),
        to_string: nameOf(fixVersion + 1),
        changed_at: iso(released),
        author: spec.person(),
        raw_event_id: '',
        version: released * 1000,
      });
      updated = Math.max(updated, released);
      fixVersion++;
    }
  }
  for (let i = 1; i < seen.length; i++) {
    const [from] = seen[i - 1]!;
    const [to, at] = seen[i]!;
    out.add('work_item_history', {
      source: 'jira',
      item_id: id,
      history_id: `${id}${pad(i, 2)}`,
      field: 'status',
      field_id: 'status',
      from_value: STATUS_IDS[from]!,
      from_string: from,
      to_value: STATUS_IDS[to]!,
      to_string: to,
      changed_at: iso(at),
      author: spec.person(),
      raw_event_id: '',
      version: at * 1000,
    });
  }
  const priorityRank = rng.weighted([
    [1, 5],
    [2, 15],
    [3, 55],
    [4, 20],
    [5, 5],
  ]);
  let due: number | null = spec.due ?? null;
  if (kind === 'action') due = created + rng.int(5, 20) * DAY;
  // An epic's due date is sometimes moved out once: a re-commit in its changelog.
  if (kind === 'epic' && due !== null && rng.chance(0.3) && created + 20 * DAY < w.endMs) {
    const moved = due + rng.int(7, 21) * DAY;
    const at = created + 20 * DAY;
    out.add('work_item_history', {
      source: 'jira',
      item_id: id,
      history_id: `${id}99`,
      field: 'duedate',
      field_id: 'duedate',
      from_value: date(due),
      from_string: date(due),
      to_value: date(moved),
      to_string: date(moved),
      changed_at: iso(at),
      author: spec.person(),
      raw_event_id: '',
      version: at * 1000,
    });
    out.add('milestone_dates', {
      source: 'jira',
      milestone_id: `epic/${id}`,
      committed_date: date(due),
      observed_at: iso(created),
      basis: 'changelog',
      raw_event_id: '',
      version: created * 1000,
    });
    due = moved;
    out.add('milestone_dates', {
      source: 'jira',
      milestone_id: `epic/${id}`,
      committed_date: date(due),
      observed_at: iso(at),
      basis: 'changelog',
      raw_event_id: '',
      version: at * 1000,
    });
  } else if (kind === 'epic' && due !== null) {
    out.add('milestone_dates', {
      source: 'jira',
      milestone_id: `epic/${id}`,
      committed_date: date(due),
      observed_at: iso(created),
      basis: 'changelog',
      raw_event_id: '',
      version: created * 1000,
    });
  }
  if (kind === 'epic') {
    out.add('milestones', {
      source: 'jira',
      team: team.team,
      program: team.program,
      milestone_id: `epic/${id}`,
      kind: 'epic',
      name: `${team.project} epic ${team.items}`,
      project: team.project,
      state: resolved !== null ? 'done' : 'open',
      raw_state: status,
      start_date: date(created),
      committed_date: due === null ? null : date(due),
      completed_at: resolved === null ? null : iso(resolved),
      url: '',
      raw_event_id: '',
      version: updated * 1000,
      is_deleted: 0,
    });
  }
  const severity =
    kind === 'bug'
      ? rng.pick(['Sev-1', 'Sev-2', 'Sev-3', 'Sev-4'])
      : kind === 'risk'
        ? rng.weighted([
            ['high', 25],
            ['medium', 50],
            ['low', 25],
          ])
        : '';
  const foundIn =
    kind === 'bug'
      ? rng.weighted([
          ['production', 35],
          ['staging', 30],
          ['qa', 25],
          ['', 10],
        ])
      : '';
  const labels: string[] = [];
  if (kind === 'decision' && rng.chance(0.2)) labels.push('release-blocker');
  if (kind === 'bug' && foundIn === '' && rng.chance(0.3)) labels.push('customer-reported');
  out.add('work_items', {
    source: 'jira',
    team: team.team,
    program: team.program,
    item_id: id,
    key,
    project: team.project,
    type: KIND_TYPES[kind],
    kind,
    status,
    status_category: CATEGORY[status]!,
    priority: PRIORITIES[priorityRank - 1]!,
    priority_rank: priorityRank,
    assignee: spec.person(),
    reporter: spec.person(),
    components: [],
    labels,
    due_date: due === null ? null : date(due),
    start_date: kind === 'epic' ? date(created) : null,
    fix_versions: fixVersion === null ? [] : [`version/${team.t * 10_000 + fixVersion}`],
    affects_versions: [],
    sprints: planned ? [team.sprint] : [],
    parent_id: planned && team.epic !== '' ? team.epic : '',
    story_points: planned ? rng.pick([1, 2, 3, 5, 8]) : null,
    original_estimate_seconds: null,
    time_spent_seconds: null,
    severity,
    found_in: foundIn,
    created_at: iso(created),
    updated_at: iso(updated),
    resolved_at: resolved === null ? null : iso(resolved),
    resolution: resolved === null ? '' : 'Done',
    summary: `${KIND_TYPES[kind]} ${key}`,
    url: '',
    raw_event_id: '',
    version: updated * 1000,
    is_deleted: 0,
  });
  return ref;
}
