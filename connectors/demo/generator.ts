/**
 * A seeded demo organisation ("Acme"): a few months of GitHub, Jira and PagerDuty history with the
 * vendors' REST shapes (and the facts its intake takes in: readiness checks, surveys, outcomes, adopters, cost), so the product runs end to end on a fresh machine without credentials.
 * The same seed and `now` always give the same records.
 */
import type { SourceRecord } from '../../schemas/raw-event.js';
import { simulateDelivery } from './delivery.js';
import { factRecords } from './facts.js';
import type { Window } from './model.js';
import { githubRecords } from './github.js';
import { JIRA_FIELDS, planJira, jiraRecords } from './jira.js';
import { buildOrganisation, orgConfig, type DemoOrgConfig, type Organisation } from './org.js';
import { numberIncidents, pagerdutyRecords, planBackgroundIncidents } from './pagerduty.js';
import { Rng } from './prng.js';
import { floorSecond, monthsBefore } from './time.js';

export type { DemoOrgConfig } from './org.js';

export interface DemoOptions {
  seed?: number;
  /** The end of the generated history; nothing happens after it. */
  now?: Date;
  /** Length of the history in calendar months. */
  months?: number;
  /** Number of teams (split over up to two programs). */
  teams?: number;
}

export interface DemoOrg {
  org: DemoOrgConfig;
  /** The custom field ids of the demo's Jira site, as a real site's config would give them. */
  jiraFields: { storyPoints: string; sprint: string; startDate: string; foundIn: string; severity: string };
  /** Every entity version, sorted by time ascending. */
  records: SourceRecord[];
}

export const DEMO_DEFAULTS = {
  seed: 42,
  now: new Date('2026-11-01T00:00:00Z'),
  months: 6,
  teams: 4,
} as const;

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}

/** Time, then type, subject and version: a total order, so equal inputs give identical arrays. */
function compareRecords(a: SourceRecord, b: SourceRecord): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  if (a.subject !== b.subject) return a.subject < b.subject ? -1 : 1;
  return a.version < b.version ? -1 : a.version > b.version ? 1 : 0;
}

/** The options checked, the window and the organisation: what the whole demo and its org mapping alone share. */
function organisation(options: DemoOptions): { rng: Rng; window: Window; org: Organisation } {
  const seed = options.seed ?? DEMO_DEFAULTS.seed;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const nowDate = options.now ?? DEMO_DEFAULTS.now;
  if (Number.isNaN(nowDate.getTime())) throw new RangeError('now is not a valid date');
  const months = positiveInteger('months', options.months ?? DEMO_DEFAULTS.months);
  const teamCount = positiveInteger('teams', options.teams ?? DEMO_DEFAULTS.teams);
  const now = floorSecond(nowDate.getTime());
  const window: Window = { start: monthsBefore(now, months), now };
  const rng = new Rng(seed);
  return { rng, window, org: buildOrganisation(rng.fork('organisation'), teamCount, window.start) };
}

/** The demo organisation's org mapping alone, as generateDemoOrg gives it with the same options, without its history. */
export const demoOrgConfig = (options: DemoOptions = {}): DemoOrg['org'] => orgConfig(organisation(options).org);

/** The Jira custom field ids the demo's issues use (the same for every seed). */
export function demoJiraFields(): DemoOrg['jiraFields'] {
  const { storyPoints, sprint, startDate, foundIn, severity } = JIRA_FIELDS;
  return { storyPoints, sprint, startDate, foundIn, severity };
}

export function generateDemoOrg(options: DemoOptions = {}): DemoOrg {
  const { rng, window, org } = organisation(options);

  const deliveries = org.repos.map((repo) => simulateDelivery(org, repo, rng.fork(`delivery:${repo.fullName}`), window));
  const background = org.repos.flatMap((repo) => planBackgroundIncidents(org, repo, rng.fork(`incidents:${repo.fullName}`), window));
  const incidents = numberIncidents([...deliveries.flatMap((d) => d.incidents), ...background], rng.fork('incident-numbers'));
  const jira = planJira(org, rng.fork('jira'), window, incidents);

  const facts = factRecords(
    rng.fork('facts'),
    org,
    jira.teams.flatMap((t) => t.versions),
    window,
  );
  const records = [
    ...githubRecords(org, deliveries, window),
    ...pagerdutyRecords(org, incidents, window),
    ...jiraRecords(jira, window),
    ...facts,
  ];
  records.sort(compareRecords);
  return { org: orgConfig(org), jiraFields: demoJiraFields(), records };
}
