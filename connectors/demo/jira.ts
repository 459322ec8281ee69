/**
 * Jira side of the demo: per team a project with sprints (Agile board), versions, epics (milestones with
 * due dates, some re-committed), stories/tasks/bugs moving through the workflow, cross-team "Blocks"
 * dependencies, risks, decisions and action items, and bugs raised from PagerDuty incidents.
 *
 * Issues are planned as an initial state plus timed changes; every change becomes a changelog history
 * and a new version of the issue as POST /rest/api/3/search/jql?expand=changelog returns it.
 */
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import type { Window } from './model.js';
import { JIRA_SITE, type Organisation, type Person, type Team } from './org.js';
import { incidentTitle, incidentUrl } from './pagerduty.js';
import type { Incident } from './model.js';
import type { Rng, WeightTable } from './prng.js';
import { DAY, HOUR, MINUTE, SECOND, WEEK, agileDateTime, dateToMs, floorSecond, isoDate, jiraDateTime, jiraUserDate } from './time.js';

const BASE = `https://${JIRA_SITE}`;
const API = `${BASE}/rest/api/3`;

// ---------------------------------------------------------------------------------------------------
// Site configuration: workflow statuses, issue types, priorities and custom fields

type CategoryKey = 'new' | 'indeterminate' | 'done';
const STATUS_CATEGORIES: Record<CategoryKey, { id: number; colorName: string; name: string }> = {
  new: { id: 2, colorName: 'blue-gray', name: 'To Do' },
  indeterminate: { id: 4, colorName: 'yellow', name: 'In Progress' },
  done: { id: 3, colorName: 'green', name: 'Done' },
};

const STATUSES = {
  'To Do': { id: '10000', category: 'new', description: '' },
  'In Progress': {
    id: '3',
    category: 'indeterminate',
    description: 'This issue is being actively worked on at the moment by the assignee.',
  },
  'In Review': { id: '10001', category: 'indeterminate', description: 'Waiting for code review.' },
  Done: { id: '10002', category: 'done', description: '' },
  Open: { id: '1', category: 'new', description: 'The issue is open and ready for the assignee to start work on it.' },
  Mitigating: { id: '10003', category: 'indeterminate', description: 'Mitigation is under way.' },
  Mitigated: { id: '10004', category: 'done', description: 'The risk no longer threatens the plan.' },
  Decided: { id: '10005', category: 'done', description: 'The decision is made and recorded.' },
} as const satisfies Record<string, { id: string; category: CategoryKey; description: string }>;
type StatusName = keyof typeof STATUSES;

const ISSUE_TYPES = {
  Epic: {
    id: '10000',
    avatarId: 10307,
    hierarchyLevel: 1,
    description: 'A big user story that needs to be broken down.',
    initial: 'To Do',
  },
  Story: {
    id: '10001',
    avatarId: 10315,
    hierarchyLevel: 0,
    description: 'Functionality or a feature expressed as a user goal.',
    initial: 'To Do',
  },
  Task: { id: '10002', avatarId: 10318, hierarchyLevel: 0, description: 'A small, distinct piece of work.', initial: 'To Do' },
  Bug: { id: '10004', avatarId: 10303, hierarchyLevel: 0, description: 'A problem or error.', initial: 'To Do' },
  Risk: { id: '10005', avatarId: 10320, hierarchyLevel: 0, description: 'Something that may threaten the plan.', initial: 'Open' },
  Decision: { id: '10006', avatarId: 10321, hierarchyLevel: 0, description: 'A decision the program needs to make.', initial: 'Open' },
  'Action item': {
    id: '10007',
    avatarId: 10322,
    hierarchyLevel: 0,
    description: 'A follow-up with an owner and a due date.',
    initial: 'To Do',
  },
} as const satisfies Record<string, { id: string; avatarId: number; hierarchyLevel: number; description: string; initial: StatusName }>;
type IssueTypeName = keyof typeof ISSUE_TYPES;

const PRIORITIES = {
  Highest: '1',
  High: '2',
  Medium: '3',
  Low: '4',
  Lowest: '5',
} as const;
type PriorityName = keyof typeof PRIORITIES;

/** Custom field ids as a Jira Cloud site assigns them; the product config maps them by id. */
export const JIRA_FIELDS = {
  storyPoints: 'customfield_10016',
  sprint: 'customfield_10020',
  startDate: 'customfield_10015',
  rank: 'customfield_10019',
  foundIn: 'customfield_10040',
  severity: 'customfield_10041',
} as const;

const FOUND_IN = { production: '10030', staging: '10031', development: '10032' } as const;
type FoundIn = keyof typeof FOUND_IN;
const SEVERITIES = { Critical: '10020', High: '10021', Medium: '10022', Low: '10023' } as const;
type Severity = keyof typeof SEVERITIES;
const SEVERITY_PRIORITY: Record<Severity, PriorityName> = { Critical: 'Highest', High: 'High', Medium: 'Medium', Low: 'Low' };
const RESOLUTION_DONE = { id: '10000', name: 'Done', description: 'Work has been completed on this issue.' };
const BLOCKS = { id: '10000', name: 'Blocks', inward: 'is blocked by', outward: 'blocks' };

// ---------------------------------------------------------------------------------------------------
// How the teams work

type WorkItemType = 'Story' | 'Task' | 'Bug';
const WORK_ITEMS: WeightTable<WorkItemType> = [
  ['Story', 0.55],
  ['Task', 0.25],
  ['Bug', 0.2],
];
const FLOW: Record<WorkItemType, { cycleMedianDays: number; review: boolean; points: WeightTable<number | null>; midSprint: number }> = {
  Story: {
    cycleMedianDays: 4,
    review: true,
    points: [
      [1, 0.1],
      [2, 0.2],
      [3, 0.3],
      [5, 0.25],
      [8, 0.15],
    ],
    midSprint: 0.08,
  },
  Task: {
    cycleMedianDays: 2,
    review: false,
    points: [
      [null, 0.5],
      [1, 0.2],
      [2, 0.2],
      [3, 0.1],
    ],
    midSprint: 0.1,
  },
  Bug: {
    cycleMedianDays: 1.5,
    review: true,
    points: [
      [null, 0.7],
      [1, 0.2],
      [2, 0.1],
    ],
    midSprint: 0.35,
  },
};
const PRIORITY_MIX: WeightTable<PriorityName> = [
  ['Medium', 0.6],
  ['High', 0.2],
  ['Low', 0.12],
  ['Highest', 0.05],
  ['Lowest', 0.03],
];
const FOUND_IN_MIX: WeightTable<FoundIn | null> = [
  ['production', 0.3],
  ['staging', 0.25],
  ['development', 0.35],
  [null, 0.1],
];
const LABEL_POOL = ['backend', 'frontend', 'api', 'tech-debt', 'customer-request', 'performance'];
const SEVERITY_MIX: WeightTable<Severity> = [
  ['Critical', 0.1],
  ['High', 0.3],
  ['Medium', 0.4],
  ['Low', 0.2],
];
const EPIC_RECOMMITS: WeightTable<number> = [
  [0, 0.5],
  [1, 0.3],
  [2, 0.2],
];
const EPIC_FINISH: WeightTable<'on-time' | 'late'> = [
  ['on-time', 0.55],
  ['late', 0.45],
];
const VERSION_RELEASE: WeightTable<'on-time' | 'early' | 'late'> = [
  ['on-time', 0.5],
  ['early', 0.1],
  ['late', 0.4],
];
const ACTION_CLOSE: WeightTable<'on-time' | 'late' | 'open'> = [
  ['on-time', 0.6],
  ['late', 0.3],
  ['open', 0.1],
];
type DependencyKind = 'resolved' | 'stale' | 'active';
/** Each team depends on the next team for these; stale ones become dependency stalls. */
const DEPENDENCY_SCENARIOS: readonly DependencyKind[] = ['resolved', 'stale', 'active', 'resolved'];

const TEMPLATES = {
  Story: [
    'Customers can use {topic}',
    'Support {topic} in the admin console',
    'Expose {topic} metrics',
    'Migrate {topic} to the new platform',
  ],
  Task: ['Clean up {topic} feature flags', 'Write runbook for {topic}', 'Load test {topic}', 'Upgrade dependencies of {topic}'],
  Bug: [
    '{Topic} fails for accounts without history',
    'Wrong totals in {topic}',
    '{Topic} times out under load',
    'Duplicate events from {topic}',
  ],
  Epic: ['{Topic} rollout', 'Rebuild {topic}', '{Topic} general availability', '{Topic} for enterprise accounts'],
  Risk: [
    'Vendor delay may block {topic}',
    'Peak-season capacity risk for {topic}',
    'Compliance review of {topic} may slip',
    'Key-person dependency on {topic}',
  ],
  Decision: [
    'Decide storage engine for {topic}',
    'Choose rollout strategy for {topic}',
    'Agree API contract for {topic}',
    'Build or buy: {topic}',
  ],
  'Action item': [
    'Share {topic} status with stakeholders',
    'Update {topic} runbook',
    'Review {topic} alert thresholds',
    'Book load test window for {topic}',
  ],
  Goal: ['Ship {topic}', 'Stabilise {topic}', 'Finish {topic} migration', 'Burn down {topic} bugs'],
} as const satisfies Record<IssueTypeName | 'Goal', readonly string[]>;

const fill = (template: string, topic: string): string =>
  template.replace('{topic}', topic).replace('{Topic}', topic.charAt(0).toUpperCase() + topic.slice(1));

// ---------------------------------------------------------------------------------------------------
// Plan model

export interface Sprint {
  id: number;
  team: Team;
  name: string;
  goal: string;
  createdAt: number;
  startAt: number;
  endAt: number;
  completeAt: number;
}

export interface Version {
  id: string;
  team: Team;
  name: string;
  createdAt: number;
  startDate: string;
  plannedDate: string;
  /** Release date changes before the release (re-plans). */
  replans: Array<{ at: number; date: string }>;
  /** Date the version was released on; set as its release date when released. */
  releaseDate: string;
  releasedAt?: number;
}

interface Description {
  text: string;
  link?: { text: string; href: string };
}

type Change =
  | { field: 'status'; to: StatusName }
  | { field: 'assignee'; to: Person | null }
  | { field: 'duedate'; to: string }
  | { field: 'sprints'; to: Sprint[] }
  | { field: 'fixVersions'; to: Version[] }
  | { field: 'priority'; to: PriorityName }
  | { field: 'severity'; to: Severity }
  | { field: 'link'; link: IssueLink };

interface IssueEvent {
  at: number;
  author: Person;
  changes: Change[];
  historyId: string;
}

interface Fields {
  status: StatusName;
  assignee: Person | null;
  priority: PriorityName;
  labels: string[];
  components: string[];
  storyPoints: number | null;
  duedate: string | null;
  startDate: string | null;
  sprints: Sprint[];
  fixVersions: Version[];
  parent: Issue | null;
  severity: Severity | null;
  foundIn: FoundIn | null;
  links: IssueLink[];
}

interface ChangeItem {
  field: string;
  fieldtype: 'jira' | 'custom';
  fieldId?: string;
  from: string | null;
  fromString: string | null;
  to: string | null;
  toString: string | null;
}

interface IssueState {
  at: number;
  fields: Fields;
  resolvedAt: number | null;
  categoryChangedAt: number;
  items: ChangeItem[];
  event?: IssueEvent;
}

export interface Issue {
  team: Team;
  type: IssueTypeName;
  summary: string;
  description: Description | null;
  createdAt: number;
  reporter: Person;
  initial: Fields;
  events: IssueEvent[];
  id: string;
  key: string;
  rank: string;
  states: IssueState[];
}

export interface IssueLink {
  id: string;
  blocker: Issue;
  blocked: Issue;
  at: number;
}

interface Epic {
  issue: Issue;
  startAt: number;
  endAt: number;
}

interface TeamPlan {
  team: Team;
  sprints: Sprint[];
  versions: Version[];
  epics: Epic[];
}

export interface JiraPlan {
  teams: TeamPlan[];
  issues: Issue[];
  links: IssueLink[];
}

interface Ctx {
  org: Organisation;
  window: Window;
  issues: Issue[];
  links: IssueLink[];
}

function newIssue(
  ctx: Ctx,
  rng: Rng,
  team: Team,
  type: IssueTypeName,
  createdAt: number,
  init: { summary: string; reporter: Person; description?: Description | null } & Partial<Omit<Fields, 'links'>>,
): Issue {
  const { summary, reporter, description, ...fields } = init;
  const issue: Issue = {
    team,
    type,
    summary,
    description: description ?? null,
    // Jira keeps milliseconds; the demo draws them so versions rarely collide.
    createdAt: floorSecond(createdAt) + rng.int(0, 999),
    reporter,
    initial: {
      status: ISSUE_TYPES[type].initial,
      assignee: null,
      priority: 'Medium',
      labels: [],
      components: [],
      storyPoints: null,
      duedate: null,
      startDate: null,
      sprints: [],
      fixVersions: [],
      parent: null,
      severity: null,
      foundIn: null,
      ...fields,
      links: [],
    },
    events: [],
    id: '',
    key: '',
    rank: '',
    states: [],
  };
  ctx.issues.push(issue);
  return issue;
}

function on(issue: Issue, rng: Rng, at: number, author: Person, ...changes: Change[]): void {
  issue.events.push({ at: floorSecond(at) + rng.int(0, 999), author, changes, historyId: '' });
}

function link(ctx: Ctx, rng: Rng, blocker: Issue, blocked: Issue, at: number, author: Person): void {
  const l: IssueLink = { id: '', blocker, blocked, at: floorSecond(at) + rng.int(0, 999) };
  ctx.links.push(l);
  blocker.events.push({ at: l.at, author, changes: [{ field: 'link', link: l }], historyId: '' });
  blocked.events.push({ at: l.at, author, changes: [{ field: 'link', link: l }], historyId: '' });
}

// ---------------------------------------------------------------------------------------------------
// Planning

export function planJira(org: Organisation, rng: Rng, window: Window, incidents: Incident[]): JiraPlan {
  const ctx: Ctx = { org, window, issues: [], links: [] };
  const teams = org.teams.map((team) => {
    const r = rng.fork(`team:${team.id}`);
    const plan: TeamPlan = { team, sprints: planSprints(r, team, window), versions: planVersions(r, team, window), epics: [] };
    plan.epics = planEpics(ctx, r, plan);
    planWorkItems(ctx, r, plan);
    planRisks(ctx, r, team);
    planDecisions(ctx, r, team);
    planActionItems(ctx, r, team);
    return plan;
  });
  planDependencies(ctx, rng.fork('dependencies'), teams);
  planIncidentFollowUps(ctx, rng.fork('incident-follow-ups'), teams, incidents);
  finalize(ctx, rng.fork('numbers'), teams);
  return { teams, issues: ctx.issues, links: ctx.links };
}

const span = (w: Window): number => w.now - w.start;

function planSprints(rng: Rng, team: Team, window: Window): Sprint[] {
  const office = team.office;
  const firstDay = office.workdays(window.start + rng.int(1, 8) * DAY, window.start + 20 * DAY)[0]!;
  const sprints: Sprint[] = [];
  let n = rng.int(12, 40);
  for (let startAt = firstDay + 9.5 * HOUR; startAt < window.now + 4 * WEEK; startAt += 2 * WEEK, n++) {
    const createdAt = floorSecond(Math.max(window.start + 20 * MINUTE + rng.int(0, 600) * SECOND, startAt - rng.float(5, 10) * DAY));
    if (createdAt > window.now) break;
    const endAt = startAt + 2 * WEEK;
    sprints.push({
      id: 0,
      team,
      name: `${team.jira.key} Sprint ${n}`,
      goal: fill(rng.pick(TEMPLATES.Goal), rng.pick(team.topics)),
      createdAt,
      startAt: floorSecond(startAt + rng.int(0, 1800) * SECOND),
      endAt,
      completeAt: floorSecond(endAt + rng.float(-3 * HOUR, 20 * HOUR)),
    });
  }
  return sprints;
}

function planVersions(rng: Rng, team: Team, window: Window): Version[] {
  const office = team.office;
  const versions: Version[] = [];
  let n = rng.int(8, 30);
  let startMs = window.start + rng.int(0, 5) * DAY;
  for (;;) {
    const createdAt = Math.max(window.start + 30 * MINUTE, office.next(startMs - rng.float(3, 10) * DAY, rng));
    if (createdAt > window.now) break;
    const plannedMs = office.dayStart(startMs + rng.int(5, 7) * WEEK);
    const outcome = rng.weighted(VERSION_RELEASE);
    const actualMs =
      outcome === 'on-time' ? plannedMs : outcome === 'early' ? plannedMs - rng.int(1, 2) * DAY : plannedMs + rng.int(2, 12) * DAY;
    const replans: Version['replans'] = [];
    if (outcome === 'late' && rng.chance(0.5)) {
      const at = office.next(plannedMs - rng.float(3, 10) * DAY, rng);
      if (at > createdAt + DAY) replans.push({ at, date: isoDate(actualMs + 12 * HOUR) });
    }
    const releasedAt = Math.max(createdAt + DAY, office.during(office.dayStart(actualMs + 12 * HOUR), rng));
    versions.push({
      id: '',
      team,
      name: `${team.name} R${n++}`,
      createdAt,
      startDate: isoDate(startMs),
      plannedDate: isoDate(plannedMs + 12 * HOUR),
      replans,
      releaseDate: isoDate(actualMs + 12 * HOUR),
      ...(releasedAt <= window.now ? { releasedAt } : {}),
    });
    startMs = actualMs;
  }
  return versions;
}

function planEpics(ctx: Ctx, rng: Rng, plan: TeamPlan): Epic[] {
  const { team } = plan;
  const { window } = ctx;
  const office = team.office;
  const tpm = team.program.tpm;
  const epics: Epic[] = [];
  for (
    let startAt = office.next(window.start + rng.float(2, 10) * DAY, rng);
    startAt < window.now - 2 * WEEK;
    startAt = office.next(startAt + rng.int(4, 7) * WEEK, rng)
  ) {
    const createdAt = office.next(Math.max(window.start + HOUR, startAt - rng.float(3, 10) * DAY), rng);
    let dueMs = office.dayStart(startAt + rng.int(5, 9) * WEEK) + 12 * HOUR;
    const epic = newIssue(ctx, rng, team, 'Epic', createdAt, {
      summary: fill(rng.pick(TEMPLATES.Epic), rng.pick(team.topics)),
      reporter: tpm,
      description: { text: `Milestone of the ${team.program.name} program owned by ${team.name}.` },
      assignee: team.manager,
      priority: rng.chance(0.4) ? 'High' : 'Medium',
      labels: [team.program.id],
      duedate: isoDate(dueMs),
      startDate: isoDate(startAt),
    });
    on(epic, rng, Math.max(startAt, epic.createdAt + HOUR), team.manager, { field: 'status', to: 'In Progress' });
    // Re-commits: the due date moves when the team sees the milestone slipping.
    let lastChange = startAt;
    for (let r = rng.weighted(EPIC_RECOMMITS); r > 0; r--) {
      const at = office.next(dueMs - rng.float(3, 12) * DAY, rng);
      if (at <= lastChange + DAY) break;
      dueMs += rng.int(7, 21) * DAY;
      on(epic, rng, at, tpm, { field: 'duedate', to: isoDate(dueMs) });
      lastChange = at;
    }
    const finish = rng.weighted(EPIC_FINISH) === 'on-time' ? dueMs - rng.float(0, 4) * DAY : dueMs + rng.float(1, 10) * DAY;
    const doneAt = office.next(Math.max(finish, lastChange + DAY), rng);
    on(epic, rng, doneAt, team.manager, { field: 'status', to: 'Done' });
    epics.push({ issue: epic, startAt, endAt: doneAt });
  }
  return epics;
}

const activeSprint = (sprints: Sprint[], t: number): Sprint | undefined => sprints.find((s) => s.startAt <= t && t < s.completeAt);
const openVersion = (versions: Version[], t: number): Version | undefined =>
  versions.find((v) => v.createdAt <= t && (v.releasedAt === undefined || v.releasedAt > t));

function pickEpic(rng: Rng, epics: Epic[], t: number): Issue | null {
  const live = epics.filter((e) => e.issue.createdAt < t && e.startAt - WEEK <= t && t <= e.endAt);
  return live.length ? rng.pick(live).issue : null;
}

function planWorkItems(ctx: Ctx, rng: Rng, plan: TeamPlan): void {
  const { team, sprints, versions, epics } = plan;
  const { window } = ctx;
  const office = team.office;
  sprints.forEach((sprint, index) => {
    for (let k = rng.poisson(team.rates.itemsPerSprint); k > 0; k--) {
      const type = rng.weighted(WORK_ITEMS);
      const flow = FLOW[type];
      const midSprint = rng.chance(flow.midSprint);
      // Committed scope is planned shortly before the sprint starts; mid-sprint additions come later.
      const plannedAt = midSprint
        ? office.next(sprint.startAt + rng.float(1, 9) * DAY, rng) + rng.int(2, 40) * MINUTE
        : sprint.startAt - rng.int(30, 180) * MINUTE;
      const createdAt = midSprint
        ? plannedAt - rng.int(2, 40) * MINUTE
        : Math.max(window.start + HOUR, Math.min(plannedAt - HOUR, office.next(sprint.startAt - rng.float(2, 12) * DAY, rng)));
      if (createdAt > window.now) continue;
      const topic = rng.pick(team.topics);
      const foundIn = type === 'Bug' ? rng.weighted(FOUND_IN_MIX) : null;
      const labels = rng.sample(
        LABEL_POOL,
        rng.weighted([
          [0, 0.4],
          [1, 0.45],
          [2, 0.15],
        ] as const),
      );
      if (foundIn === 'production' && rng.chance(0.5)) labels.push('prod-bug');
      const version = type !== 'Task' && rng.chance(0.65) ? openVersion(versions, createdAt) : undefined;
      const issue = newIssue(ctx, rng, team, type, createdAt, {
        summary: fill(rng.pick(TEMPLATES[type]), topic),
        reporter: rng.chance(0.5) ? team.manager : rng.pick(team.engineers),
        description: rng.chance(0.7)
          ? { text: `${fill(rng.pick(TEMPLATES[type]), topic)}. Acceptance criteria are in the linked design doc.` }
          : null,
        assignee: rng.chance(0.4) ? rng.pick(team.engineers) : null,
        priority: rng.weighted(PRIORITY_MIX),
        labels,
        components: rng.chance(0.75) ? [rng.pick(team.jira.components).name] : [],
        storyPoints: rng.weighted(flow.points),
        parent: type !== 'Bug' && rng.chance(0.75) ? pickEpic(rng, epics, createdAt) : null,
        foundIn,
        fixVersions: version ? [version] : [],
      });
      on(issue, rng, Math.max(plannedAt, issue.createdAt + MINUTE), team.manager, { field: 'sprints', to: [sprint] });

      const assignee = issue.initial.assignee ?? rng.pick(team.engineers);
      const startWork = office.next(Math.max(plannedAt, sprint.startAt) + rng.float(0, 0.5) * (sprint.endAt - sprint.startAt), rng);
      const cycle = rng.logNormal(flow.cycleMedianDays * DAY, 0.6);
      const assign: Change[] = issue.initial.assignee ? [] : [{ field: 'assignee', to: assignee }];
      on(issue, rng, startWork, assignee, { field: 'status', to: 'In Progress' }, ...assign);
      if (flow.review) on(issue, rng, office.next(startWork + cycle * 0.7, rng), assignee, { field: 'status', to: 'In Review' });
      let doneAt = office.next(startWork + cycle, rng);
      on(issue, rng, doneAt, assignee, { field: 'status', to: 'Done' });
      if (type !== 'Task' && rng.chance(0.04)) {
        // Reopened after release: found not to work after all.
        const reopenAt = office.next(doneAt + rng.float(1, 3) * DAY, rng);
        on(issue, rng, reopenAt, issue.reporter, { field: 'status', to: 'In Progress' });
        doneAt = office.next(reopenAt + rng.float(0.5, 2) * DAY, rng);
        on(issue, rng, doneAt, assignee, { field: 'status', to: 'Done' });
      }
      // Unfinished work rolls over when a sprint is completed (the issue then lists both sprints).
      let current = [sprint];
      for (let i = index; doneAt > sprints[i]!.completeAt && sprints[i + 1]; i++) {
        current = [...current, sprints[i + 1]!];
        on(issue, rng, sprints[i]!.completeAt, team.manager, { field: 'sprints', to: current });
      }
      // Unfinished work moves to the next version when its version is released.
      if (version?.releasedAt !== undefined && doneAt > version.releasedAt) {
        const next = versions[versions.indexOf(version) + 1];
        on(issue, rng, version.releasedAt + rng.int(1, 60) * MINUTE, team.manager, { field: 'fixVersions', to: next ? [next] : [] });
      }
    }
  });
}

function planRisks(ctx: Ctx, rng: Rng, team: Team): void {
  const { window } = ctx;
  const office = team.office;
  const tpm = team.program.tpm;
  const ladder: Severity[] = ['Low', 'Medium', 'High', 'Critical'];
  for (let i = rng.int(3, 5); i > 0; i--) {
    const createdAt = office.next(window.start + rng.float(0.05, 0.9) * span(window), rng);
    let severity = rng.weighted(SEVERITY_MIX);
    const risk = newIssue(ctx, rng, team, 'Risk', createdAt, {
      summary: fill(rng.pick(TEMPLATES.Risk), rng.pick(team.topics)),
      reporter: tpm,
      description: { text: 'Impact, likelihood and mitigation plan are tracked in this ticket.' },
      // Some risks have no owner yet; the risk burn-down reports those.
      assignee: rng.chance(0.8) ? rng.pick([team.manager, tpm, ...team.engineers]) : null,
      priority: SEVERITY_PRIORITY[severity],
      severity,
      labels: ['risk-register'],
    });
    if (rng.chance(0.25)) {
      const idx = ladder.indexOf(severity);
      severity = ladder[Math.max(0, Math.min(ladder.length - 1, idx + (rng.chance(0.6) ? 1 : -1)))]!;
      on(
        risk,
        rng,
        office.next(createdAt + rng.float(2, 10) * DAY, rng),
        tpm,
        { field: 'severity', to: severity },
        { field: 'priority', to: SEVERITY_PRIORITY[severity] },
      );
    }
    if (rng.chance(0.7)) {
      const mitigating = office.next(createdAt + rng.float(2, 10) * DAY, rng);
      on(risk, rng, mitigating, risk.initial.assignee ?? tpm, { field: 'status', to: 'Mitigating' });
      if (rng.chance(0.6)) on(risk, rng, office.next(mitigating + rng.float(5, 25) * DAY, rng), tpm, { field: 'status', to: 'Mitigated' });
    }
  }
}

function planDecisions(ctx: Ctx, rng: Rng, team: Team): void {
  const { window } = ctx;
  const office = team.office;
  for (let i = rng.int(4, 7); i > 0; i--) {
    const createdAt = office.next(window.start + rng.float(0.02, 0.97) * span(window), rng);
    const releaseCritical = rng.chance(0.3);
    const owner = rng.pick([team.manager, team.program.tpm]);
    const decision = newIssue(ctx, rng, team, 'Decision', createdAt, {
      summary: fill(rng.pick(TEMPLATES.Decision), rng.pick(team.topics)),
      reporter: rng.pick(team.engineers),
      description: { text: 'Options, trade-offs and the outcome are recorded here.' },
      assignee: owner,
      priority: releaseCritical ? 'High' : 'Medium',
      labels: releaseCritical ? ['release-critical'] : [],
    });
    if (rng.chance(0.85))
      on(decision, rng, office.next(createdAt + rng.logNormal(30 * HOUR, 0.9), rng), owner, { field: 'status', to: 'Decided' });
  }
}

function actionItem(ctx: Ctx, rng: Rng, team: Team, createdAt: number, summary: string, description: Description): void {
  const office = team.office;
  const owner = rng.pick([team.manager, ...team.engineers]);
  const dueMs = office.dayStart(createdAt + rng.int(3, 14) * DAY) + 12 * HOUR;
  const item = newIssue(ctx, rng, team, 'Action item', createdAt, {
    summary,
    reporter: team.program.tpm,
    description,
    assignee: owner,
    duedate: isoDate(dueMs),
  });
  const close = rng.weighted(ACTION_CLOSE);
  if (close === 'open') return;
  const due = dateToMs(isoDate(dueMs));
  const at =
    close === 'on-time' ? Math.max(createdAt + 2 * HOUR, due + 17 * HOUR - rng.float(0, 4) * DAY) : due + DAY + rng.float(1, 7) * DAY;
  on(item, rng, office.next(at, rng), owner, { field: 'status', to: 'Done' });
}

function planActionItems(ctx: Ctx, rng: Rng, team: Team): void {
  const { window } = ctx;
  for (let i = rng.int(5, 8); i > 0; i--) {
    const createdAt = team.office.next(window.start + rng.float(0.02, 0.97) * span(window), rng);
    actionItem(ctx, rng, team, createdAt, fill(rng.pick(TEMPLATES['Action item']), rng.pick(team.topics)), {
      text: 'Raised in the weekly program review.',
    });
  }
}

/** Cross-team "Blocks" links: team i waits on team i+1. */
function planDependencies(ctx: Ctx, rng: Rng, plans: TeamPlan[]): void {
  if (plans.length < 2) return;
  const { window } = ctx;
  plans.forEach((blockedPlan, i) => {
    const blockerPlan = plans[(i + 1) % plans.length]!;
    const blockedTeam = blockedPlan.team;
    const blockerTeam = blockerPlan.team;
    for (const kind of DEPENDENCY_SCENARIOS) {
      const office = blockedTeam.office;
      const linkAt =
        kind === 'stale'
          ? office.next(window.now - rng.float(12, 40) * DAY, rng)
          : kind === 'active'
            ? office.next(window.now - rng.float(3, 8) * DAY, rng)
            : office.next(window.start + rng.float(0.15, 0.75) * span(window), rng);
      const topic = rng.pick(blockerTeam.topics);
      const engineer = rng.pick(blockedTeam.engineers);
      const blockedCreated = Math.max(window.start + HOUR, linkAt - rng.float(2, 8) * DAY);
      const blockerCreated = Math.max(window.start + HOUR, linkAt - rng.float(1, 6) * DAY);
      const dueMs = rng.chance(0.7) ? office.dayStart(linkAt + rng.int(7, 21) * DAY) + 12 * HOUR : null;
      const blocked = newIssue(ctx, rng, blockedTeam, 'Story', blockedCreated, {
        summary: `Integrate with ${blockerTeam.name} ${topic}`,
        reporter: blockedTeam.manager,
        assignee: engineer,
        priority: rng.chance(0.5) ? 'High' : 'Medium',
        labels: ['cross-team', ...(rng.chance(0.4) ? ['critical-path'] : [])],
        components: [rng.pick(blockedTeam.jira.components).name],
        storyPoints: rng.pick([3, 5, 8]),
        duedate: dueMs === null ? null : isoDate(dueMs),
        parent: rng.chance(0.6) ? pickEpic(rng, blockedPlan.epics, blockedCreated) : null,
        sprints: [activeSprint(blockedPlan.sprints, blockedCreated)].filter((s): s is Sprint => s !== undefined),
      });
      // The blocker is sometimes due after the item it blocks: a stall by schedule.
      const blockerDue = dueMs !== null && kind === 'stale' && rng.chance(0.5) ? isoDate(dueMs + rng.int(7, 20) * DAY) : null;
      const blockerOwner = rng.pick(blockerTeam.engineers);
      const blocker = newIssue(ctx, rng, blockerTeam, rng.chance(0.7) ? 'Story' : 'Task', blockerCreated, {
        summary: `Provide ${topic} for ${blockedTeam.name}`,
        reporter: blockedTeam.manager,
        priority: rng.chance(0.4) ? 'High' : 'Medium',
        labels: ['cross-team'],
        components: [rng.pick(blockerTeam.jira.components).name],
        storyPoints: rng.pick([2, 3, 5]),
        duedate: blockerDue,
        sprints: [activeSprint(blockerPlan.sprints, blockerCreated)].filter((s): s is Sprint => s !== undefined),
      });
      const startedBlocked = Math.min(linkAt - HOUR, office.next(blockedCreated + rng.float(0.2, 1.5) * DAY, rng));
      if (startedBlocked > blocked.createdAt) on(blocked, rng, startedBlocked, engineer, { field: 'status', to: 'In Progress' });
      link(ctx, rng, blocker, blocked, linkAt, engineer);

      const blockerOffice = blockerTeam.office;
      if (kind === 'resolved') {
        const started = blockerOffice.next(linkAt + rng.float(0.5, 3) * DAY, rng);
        const done = blockerOffice.next(started + rng.float(1, 6) * DAY, rng);
        on(blocker, rng, started, blockerOwner, { field: 'status', to: 'In Progress' }, { field: 'assignee', to: blockerOwner });
        on(blocker, rng, done, blockerOwner, { field: 'status', to: 'Done' });
        const review = office.next(done + rng.float(1, 3) * DAY, rng);
        on(blocked, rng, review, engineer, { field: 'status', to: 'In Review' });
        on(blocked, rng, office.next(review + rng.float(0.5, 2) * DAY, rng), engineer, { field: 'status', to: 'Done' });
      } else if (kind === 'active') {
        const started = blockerOffice.next(linkAt + rng.float(0.2, 1) * DAY, rng);
        on(blocker, rng, started, blockerOwner, { field: 'status', to: 'In Progress' }, { field: 'assignee', to: blockerOwner });
        const review = blockerOffice.next(window.now - rng.float(0.2, 1.5) * DAY, rng);
        if (review > started + HOUR) on(blocker, rng, review, blockerOwner, { field: 'status', to: 'In Review' });
      } else if (rng.chance(0.5)) {
        // Stale: picked up before the link was made, then nothing happened.
        const started = Math.min(linkAt - 30 * MINUTE, blockerOffice.next(blockerCreated + rng.float(0.1, 1) * DAY, rng));
        if (started > blocker.createdAt)
          on(blocker, rng, started, blockerOwner, { field: 'status', to: 'In Progress' }, { field: 'assignee', to: blockerOwner });
      }
    }
  });
}

/** Bugs and action items raised after production incidents. */
function planIncidentFollowUps(ctx: Ctx, rng: Rng, plans: TeamPlan[], incidents: Incident[]): void {
  const plansByTeam = new Map(plans.map((p) => [p.team, p]));
  for (const incident of incidents) {
    if (incident.resolvedAt === undefined) continue;
    if (!rng.chance(incident.cause ? 0.6 : incident.urgency === 'high' ? 0.3 : 0)) continue;
    const team = incident.repo.team;
    const plan = plansByTeam.get(team)!;
    const office = team.office;
    const url = incidentUrl(incident);
    const createdAt = office.next(incident.resolvedAt + rng.logNormal(3 * HOUR, 0.7), rng);
    if (createdAt > ctx.window.now) continue;
    const engineer = incident.responder;
    const bug = newIssue(ctx, rng, team, 'Bug', createdAt, {
      summary: `Follow-up: ${incidentTitle(incident)}`,
      reporter: engineer,
      description: { text: `Created from PagerDuty incident #${incident.number}.`, link: { text: url, href: url } },
      priority: incident.urgency === 'high' ? 'Highest' : 'High',
      labels: ['incident-followup', `pagerduty-${incident.number}`],
      components: [rng.pick(team.jira.components).name],
      foundIn: 'production',
    });
    const sprint = activeSprint(plan.sprints, createdAt);
    if (sprint) on(bug, rng, createdAt + rng.int(5, 30) * MINUTE, team.manager, { field: 'sprints', to: [sprint] });
    const started = office.next(createdAt + rng.float(0.1, 2) * DAY, rng);
    on(bug, rng, started, engineer, { field: 'status', to: 'In Progress' }, { field: 'assignee', to: engineer });
    const review = office.next(started + rng.float(0.3, 2) * DAY, rng);
    on(bug, rng, review, engineer, { field: 'status', to: 'In Review' });
    on(bug, rng, office.next(review + rng.float(0.2, 1) * DAY, rng), engineer, { field: 'status', to: 'Done' });
    if (rng.chance(0.4)) {
      actionItem(ctx, rng, team, createdAt + rng.int(1, 3) * HOUR, `Post-incident review for PagerDuty #${incident.number}`, {
        text: `Write up the timeline and contributing factors of incident #${incident.number}.`,
        link: { text: url, href: url },
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Finishing: ordering of changes, ids and keys, and the state after each change

function finalize(ctx: Ctx, rng: Rng, plans: TeamPlan[]): void {
  const { window } = ctx;
  for (const issue of ctx.issues) {
    issue.events.sort((a, b) => a.at - b.at);
    // One history per moment, strictly after creation and after each other, and nothing after `now`.
    const merged: IssueEvent[] = [];
    for (const ev of issue.events) {
      const last = merged[merged.length - 1];
      if (last && ev.at === last.at) {
        last.changes.push(...ev.changes);
        continue;
      }
      const floor = (last?.at ?? issue.createdAt) + SECOND;
      merged.push({ ...ev, at: Math.max(ev.at, floor) });
    }
    issue.events = merged.filter((ev) => ev.at <= window.now);
  }
  ctx.issues.splice(0, ctx.issues.length, ...ctx.issues.filter((i) => i.createdAt <= window.now));
  ctx.links.splice(0, ctx.links.length, ...ctx.links.filter((l) => ctx.issues.includes(l.blocker) && ctx.issues.includes(l.blocked)));

  ctx.issues.sort((a, b) => a.createdAt - b.createdAt);
  let id = 10000 + rng.int(0, 4000);
  const keyCounters = new Map<Team, number>();
  ctx.issues.forEach((issue, i) => {
    id += rng.chance(0.1) ? rng.int(2, 5) : 1;
    issue.id = String(id);
    const n = (keyCounters.get(issue.team) ?? issue.team.jira.issueNumberBase) + 1;
    keyCounters.set(issue.team, n);
    issue.key = `${issue.team.jira.key}-${n}`;
    issue.rank = `0|i${(40000 + i * 7).toString(36).padStart(5, '0')}:`;
  });
  const histories = ctx.issues.flatMap((i) => i.events).sort((a, b) => a.at - b.at);
  let historyId = 30000 + rng.int(0, 5000);
  for (const h of histories) {
    historyId += rng.int(1, 4);
    h.historyId = String(historyId);
  }
  ctx.links.sort((a, b) => a.at - b.at);
  let linkId = 10100 + rng.int(0, 500);
  for (const l of ctx.links) l.id = String((linkId += rng.int(1, 3)));
  const sprints = plans.flatMap((p) => p.sprints).sort((a, b) => a.createdAt - b.createdAt);
  let sprintId = rng.int(40, 300);
  for (const s of sprints) s.id = ++sprintId;
  const versions = plans.flatMap((p) => p.versions).sort((a, b) => a.createdAt - b.createdAt);
  let versionId = 10000 + rng.int(0, 300);
  for (const v of versions) v.id = String((versionId += rng.int(1, 2)));

  for (const issue of ctx.issues) issue.states = fold(issue);
}

const isDone = (s: StatusName): boolean => STATUSES[s].category === 'done';
const sprintIds = (sprints: Sprint[]): string | null => (sprints.length ? sprints.map((s) => s.id).join(', ') : null);
const sprintNames = (sprints: Sprint[]): string | null => (sprints.length ? sprints.map((s) => s.name).join(', ') : null);

function changeItems(issue: Issue, before: Fields, change: Change): ChangeItem[] {
  switch (change.field) {
    case 'status': {
      const items: ChangeItem[] = [
        {
          field: 'status',
          fieldtype: 'jira',
          fieldId: 'status',
          from: STATUSES[before.status].id,
          fromString: before.status,
          to: STATUSES[change.to].id,
          toString: change.to,
        },
      ];
      if (isDone(change.to) && !isDone(before.status)) {
        items.push({
          field: 'resolution',
          fieldtype: 'jira',
          fieldId: 'resolution',
          from: null,
          fromString: null,
          to: RESOLUTION_DONE.id,
          toString: RESOLUTION_DONE.name,
        });
      } else if (!isDone(change.to) && isDone(before.status)) {
        items.push({
          field: 'resolution',
          fieldtype: 'jira',
          fieldId: 'resolution',
          from: RESOLUTION_DONE.id,
          fromString: RESOLUTION_DONE.name,
          to: null,
          toString: null,
        });
      }
      return items;
    }
    case 'assignee':
      return [
        {
          field: 'assignee',
          fieldtype: 'jira',
          fieldId: 'assignee',
          from: before.assignee?.jiraAccountId ?? null,
          fromString: before.assignee?.name ?? null,
          to: change.to?.jiraAccountId ?? null,
          toString: change.to?.name ?? null,
        },
      ];
    case 'duedate':
      return [
        {
          field: 'duedate',
          fieldtype: 'jira',
          fieldId: 'duedate',
          from: before.duedate,
          fromString: before.duedate === null ? null : `${before.duedate} 00:00:00.0`,
          to: change.to,
          toString: `${change.to} 00:00:00.0`,
        },
      ];
    case 'sprints':
      return [
        {
          field: 'Sprint',
          fieldtype: 'custom',
          fieldId: JIRA_FIELDS.sprint,
          from: sprintIds(before.sprints),
          fromString: sprintNames(before.sprints),
          to: sprintIds(change.to),
          toString: sprintNames(change.to),
        },
      ];
    case 'fixVersions': {
      const removed = before.fixVersions.filter((v) => !change.to.includes(v));
      const added = change.to.filter((v) => !before.fixVersions.includes(v));
      return [
        ...removed.map((v): ChangeItem => ({
          field: 'Fix Version',
          fieldtype: 'jira',
          fieldId: 'fixVersions',
          from: v.id,
          fromString: v.name,
          to: null,
          toString: null,
        })),
        ...added.map((v): ChangeItem => ({
          field: 'Fix Version',
          fieldtype: 'jira',
          fieldId: 'fixVersions',
          from: null,
          fromString: null,
          to: v.id,
          toString: v.name,
        })),
      ];
    }
    case 'priority':
      return [
        {
          field: 'priority',
          fieldtype: 'jira',
          fieldId: 'priority',
          from: PRIORITIES[before.priority],
          fromString: before.priority,
          to: PRIORITIES[change.to],
          toString: change.to,
        },
      ];
    case 'severity':
      return [
        {
          field: 'Severity',
          fieldtype: 'custom',
          fieldId: JIRA_FIELDS.severity,
          from: before.severity === null ? null : SEVERITIES[before.severity],
          fromString: before.severity,
          to: SEVERITIES[change.to],
          toString: change.to,
        },
      ];
    case 'link': {
      const blocks = change.link.blocker === issue;
      const other = blocks ? change.link.blocked : change.link.blocker;
      return [
        {
          field: 'Link',
          fieldtype: 'jira',
          from: null,
          fromString: null,
          to: other.key,
          toString: `This issue ${blocks ? BLOCKS.outward : BLOCKS.inward} ${other.key}`,
        },
      ];
    }
  }
}

function apply(fields: Fields, change: Change): Fields {
  switch (change.field) {
    case 'status':
      return { ...fields, status: change.to };
    case 'assignee':
      return { ...fields, assignee: change.to };
    case 'duedate':
      return { ...fields, duedate: change.to };
    case 'sprints':
      return { ...fields, sprints: change.to };
    case 'fixVersions':
      return { ...fields, fixVersions: change.to };
    case 'priority':
      return { ...fields, priority: change.to };
    case 'severity':
      return { ...fields, severity: change.to };
    case 'link':
      return { ...fields, links: [...fields.links, change.link] };
  }
}

function fold(issue: Issue): IssueState[] {
  let state: IssueState = { at: issue.createdAt, fields: issue.initial, resolvedAt: null, categoryChangedAt: issue.createdAt, items: [] };
  const states = [state];
  for (const event of issue.events) {
    let fields = state.fields;
    const items: ChangeItem[] = [];
    for (const change of event.changes) {
      items.push(...changeItems(issue, fields, change));
      fields = apply(fields, change);
    }
    const categoryChanged = STATUSES[fields.status].category !== STATUSES[state.fields.status].category;
    state = {
      at: event.at,
      fields,
      resolvedAt: isDone(fields.status) ? (isDone(state.fields.status) ? state.resolvedAt : event.at) : null,
      categoryChangedAt: categoryChanged ? event.at : state.categoryChangedAt,
      items,
      event,
    };
    states.push(state);
  }
  return states;
}

function stateAt(issue: Issue, t: number): IssueState {
  let found = issue.states[0]!;
  for (const s of issue.states) {
    if (s.at > t) break;
    found = s;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------
// Rendering

function avatarUrls(seed: string, initials: string) {
  const url = `https://secure.gravatar.com/avatar/${seed}?d=https%3A%2F%2Favatar-management--avatars.us-west-2.prod.public.atl-paas.net%2Finitials%2F${initials}-0.png`;
  return { '48x48': url, '24x24': url, '16x16': url, '32x32': url };
}

function userObject(p: Person) {
  const initials = p.name
    .split(' ')
    .map((s) => s.charAt(0))
    .join('');
  return {
    self: `${API}/user?accountId=${encodeURIComponent(p.jiraAccountId)}`,
    accountId: p.jiraAccountId,
    avatarUrls: avatarUrls(p.avatarHash, initials),
    displayName: p.name,
    active: true,
    timeZone: p.timeZone,
    accountType: 'atlassian',
  };
}

function statusObject(name: StatusName) {
  const s = STATUSES[name];
  const c = STATUS_CATEGORIES[s.category];
  return {
    self: `${API}/status/${s.id}`,
    description: s.description,
    iconUrl: `${BASE}/`,
    name,
    id: s.id,
    statusCategory: { self: `${API}/statuscategory/${c.id}`, id: c.id, key: s.category, colorName: c.colorName, name: c.name },
  };
}

function issueTypeObject(name: IssueTypeName) {
  const t = ISSUE_TYPES[name];
  return {
    self: `${API}/issuetype/${t.id}`,
    id: t.id,
    description: t.description,
    iconUrl: `${API}/universal_avatar/view/type/issuetype/avatar/${t.avatarId}?size=medium`,
    name,
    subtask: false,
    avatarId: t.avatarId,
    hierarchyLevel: t.hierarchyLevel,
  };
}

const priorityObject = (name: PriorityName) => ({
  self: `${API}/priority/${PRIORITIES[name]}`,
  iconUrl: `${BASE}/images/icons/priorities/${name.toLowerCase()}.svg`,
  name,
  id: PRIORITIES[name],
});

const optionObject = (id: string, value: string) => ({ self: `${API}/customFieldOption/${id}`, value, id });

function projectObject(team: Team) {
  const avatar = `${API}/universal_avatar/view/type/project/avatar/${10400 + team.index}`;
  return {
    self: `${API}/project/${team.jira.projectId}`,
    id: team.jira.projectId,
    key: team.jira.key,
    name: team.jira.projectName,
    projectTypeKey: 'software',
    simplified: false,
    avatarUrls: { '48x48': avatar, '24x24': `${avatar}?size=small`, '16x16': `${avatar}?size=xsmall`, '32x32': `${avatar}?size=medium` },
  };
}

function releaseDateAt(v: Version, t: number): string {
  if (v.releasedAt !== undefined && v.releasedAt <= t) return v.releaseDate;
  let date = v.plannedDate;
  for (const r of v.replans) if (r.at <= t) date = r.date;
  return date;
}

function versionObject(v: Version, t: number) {
  const released = v.releasedAt !== undefined && v.releasedAt <= t;
  const releaseDate = releaseDateAt(v, t);
  return {
    self: `${API}/version/${v.id}`,
    id: v.id,
    description: `${v.team.name} release train`,
    name: v.name,
    archived: false,
    released,
    releaseDate,
    startDate: v.startDate,
    ...(released ? {} : { overdue: releaseDate < isoDate(t) }),
    userStartDate: jiraUserDate(dateToMs(v.startDate)),
    userReleaseDate: jiraUserDate(dateToMs(releaseDate)),
    projectId: Number(v.team.jira.projectId),
  };
}

/** The short version object inside an issue's fixVersions. */
function fixVersionObject(v: Version, t: number) {
  const full = versionObject(v, t);
  return {
    self: full.self,
    id: full.id,
    description: full.description,
    name: full.name,
    archived: full.archived,
    released: full.released,
    releaseDate: full.releaseDate,
  };
}

type SprintState = 'future' | 'active' | 'closed';
const sprintState = (s: Sprint, t: number): SprintState => (t < s.startAt ? 'future' : t < s.completeAt ? 'active' : 'closed');

function sprintDates(s: Sprint, state: SprintState) {
  return {
    ...(state === 'future' ? {} : { startDate: agileDateTime(s.startAt), endDate: agileDateTime(s.endAt) }),
    ...(state === 'closed' ? { completeDate: agileDateTime(s.completeAt) } : {}),
  };
}

/** GET /rest/agile/1.0/board/{id}/sprint item. */
function sprintObject(s: Sprint, t: number) {
  const state = sprintState(s, t);
  return {
    id: s.id,
    self: `${BASE}/rest/agile/1.0/sprint/${s.id}`,
    state,
    name: s.name,
    ...sprintDates(s, state),
    createdDate: agileDateTime(s.createdAt),
    originBoardId: s.team.jira.boardId,
    goal: s.goal,
  };
}

/** A sprint as the Sprint custom field (customfield_10020) holds it. */
function sprintFieldObject(s: Sprint, t: number) {
  const state = sprintState(s, t);
  return { id: s.id, name: s.name, state, boardId: s.team.jira.boardId, goal: s.goal, ...sprintDates(s, state) };
}

/** Atlassian Document Format, as REST v3 returns rich text fields. */
function adf(d: Description) {
  const content: unknown[] = [{ type: 'text', text: d.text }];
  if (d.link)
    content.push({ type: 'text', text: ' ' }, { type: 'text', text: d.link.text, marks: [{ type: 'link', attrs: { href: d.link.href } }] });
  return { type: 'doc', version: 1, content: [{ type: 'paragraph', content }] };
}

/** A linked or parent issue as embedded in another issue: a few fields only, as of `t`. */
function issueSnapshot(issue: Issue, t: number) {
  const f = stateAt(issue, t).fields;
  return {
    id: issue.id,
    key: issue.key,
    self: `${API}/issue/${issue.id}`,
    fields: {
      summary: issue.summary,
      status: statusObject(f.status),
      priority: priorityObject(f.priority),
      issuetype: issueTypeObject(issue.type),
    },
  };
}

function linkObject(issue: Issue, l: IssueLink, t: number) {
  const type = {
    id: BLOCKS.id,
    name: BLOCKS.name,
    inward: BLOCKS.inward,
    outward: BLOCKS.outward,
    self: `${API}/issueLinkType/${BLOCKS.id}`,
  };
  // On the blocker the link points outward ("blocks X"); on the blocked issue inward ("is blocked by Y").
  return issue === l.blocker
    ? { id: l.id, self: `${API}/issueLink/${l.id}`, type, outwardIssue: issueSnapshot(l.blocked, t) }
    : { id: l.id, self: `${API}/issueLink/${l.id}`, type, inwardIssue: issueSnapshot(l.blocker, t) };
}

function history(e: IssueEvent, items: ChangeItem[]) {
  return { id: e.historyId, author: userObject(e.author), created: jiraDateTime(e.at), items };
}

/** Hours a demo team estimates per story point. */
const HOURS_PER_POINT = 4;

/**
 * An issue's time tracking, in seconds: the original estimate from the points it was created with, and,
 * once it has been resolved, the time logged, between 0.7 and 1.5 times the estimate (fixed by the
 * issue's id, so no draw of the seeded generator moves).
 */
function timeTracking(issue: Issue, resolved: boolean): { estimate: number | null; spent: number | null } {
  const points = issue.states[0]!.fields.storyPoints;
  if (points === null) return { estimate: null, spent: null };
  const estimate = points * HOURS_PER_POINT * 3600;
  if (!resolved) return { estimate, spent: null };
  return { estimate, spent: Math.round((estimate * (7 + (Number(issue.id) % 9))) / 10 / 60) * 60 };
}

/** The issue after its `index`-th state, as POST /rest/api/3/search/jql with expand=changelog returns it. */
function issueObject(issue: Issue, index: number) {
  const state = issue.states[index]!;
  const f = state.fields;
  const t = state.at;
  // Jira Cloud lists the most recent change first.
  const histories = issue.states
    .slice(1, index + 1)
    .map((s) => history(s.event!, s.items))
    .reverse();
  const category = STATUSES[f.status].category;
  const c = STATUS_CATEGORIES[category];
  const tracked = timeTracking(
    issue,
    issue.states.slice(0, index + 1).some((x) => x.resolvedAt !== null),
  );
  return {
    expand: 'renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations',
    id: issue.id,
    self: `${API}/issue/${issue.id}`,
    key: issue.key,
    changelog: { startAt: 0, maxResults: histories.length, total: histories.length, histories },
    fields: {
      statuscategorychangedate: jiraDateTime(state.categoryChangedAt),
      issuetype: issueTypeObject(issue.type),
      ...(f.parent ? { parent: issueSnapshot(f.parent, t) } : {}),
      timespent: tracked.spent,
      project: projectObject(issue.team),
      fixVersions: f.fixVersions.map((v) => fixVersionObject(v, t)),
      aggregatetimespent: tracked.spent,
      statusCategory: { self: `${API}/statuscategory/${c.id}`, id: c.id, key: category, colorName: c.colorName, name: c.name },
      resolution: state.resolvedAt === null ? null : { self: `${API}/resolution/${RESOLUTION_DONE.id}`, ...RESOLUTION_DONE },
      resolutiondate: state.resolvedAt === null ? null : jiraDateTime(state.resolvedAt),
      workratio: -1,
      lastViewed: null,
      watches: { self: `${API}/issue/${issue.key}/watchers`, watchCount: 1, isWatching: false },
      created: jiraDateTime(issue.createdAt),
      priority: priorityObject(f.priority),
      labels: f.labels,
      [JIRA_FIELDS.startDate]: f.startDate,
      [JIRA_FIELDS.storyPoints]: f.storyPoints,
      [JIRA_FIELDS.rank]: issue.rank,
      [JIRA_FIELDS.sprint]: f.sprints.length ? f.sprints.map((s) => sprintFieldObject(s, t)) : null,
      [JIRA_FIELDS.foundIn]: f.foundIn === null ? null : optionObject(FOUND_IN[f.foundIn], f.foundIn),
      [JIRA_FIELDS.severity]: f.severity === null ? null : optionObject(SEVERITIES[f.severity], f.severity),
      timeestimate: null,
      aggregatetimeoriginalestimate: tracked.estimate,
      versions: [],
      issuelinks: f.links.map((l) => linkObject(issue, l, t)),
      assignee: f.assignee ? userObject(f.assignee) : null,
      updated: jiraDateTime(t),
      status: statusObject(f.status),
      components: f.components.map((name) => {
        const comp = issue.team.jira.components.find((x) => x.name === name)!;
        return { self: `${API}/component/${comp.id}`, id: comp.id, name: comp.name };
      }),
      timeoriginalestimate: tracked.estimate,
      description: issue.description ? adf(issue.description) : null,
      security: null,
      aggregatetimeestimate: null,
      summary: issue.summary,
      creator: userObject(issue.reporter),
      subtasks: [],
      reporter: userObject(issue.reporter),
      aggregateprogress: { progress: 0, total: 0 },
      environment: null,
      duedate: f.duedate,
      progress: { progress: 0, total: 0 },
      votes: { self: `${API}/issue/${issue.key}/votes`, votes: 0, hasVoted: false },
    },
  };
}

export function jiraRecords(plan: JiraPlan, window: Window): SourceRecord[] {
  const records: SourceRecord[] = [];
  const emit = (type: string, subject: string, at: number, payload: Payload): void => {
    records.push({ source: 'jira', type, subject, version: timeVersion(new Date(at)), time: new Date(at).toISOString(), payload });
  };

  for (const issue of plan.issues) {
    issue.states.forEach((state, i) => emit('jira.issue', subjects.jiraIssue(JIRA_SITE, issue.id), state.at, issueObject(issue, i)));
  }
  for (const { sprints, versions } of plan.teams) {
    for (const s of sprints) {
      // A connector sees a sprint when created (future), started (active) and completed (closed).
      for (const at of [Math.max(s.createdAt, window.start), s.startAt, s.completeAt]) {
        if (at <= window.now && at >= s.createdAt) emit('jira.sprint', subjects.jiraSprint(JIRA_SITE, s.id), at, sprintObject(s, at));
      }
    }
    for (const v of versions) {
      // Versions have no timestamps; each change (creation, re-plan, release) is a new observed version.
      const times = [v.createdAt, ...v.replans.map((r) => r.at), ...(v.releasedAt !== undefined ? [v.releasedAt] : [])];
      for (const at of times) if (at <= window.now) emit('jira.version', subjects.jiraVersion(JIRA_SITE, v.id), at, versionObject(v, at));
    }
  }
  return records;
}
