import type { MetricsConfig, ModelConfig, OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { narrowed, readAll, type Registers } from '../export/readout.js';
import type { ForecastBand } from '../forecast/types.js';
import { metricParams, type Day } from '../metrics/engine.js';
import type { StatusColour } from '../registers/health.js';
import { milestoneRegister } from '../registers/milestones.js';
import { text, yes, type RegisterRow } from '../registers/types.js';
import {
  CAP,
  Commands,
  days,
  instantText,
  listed,
  plural,
  statusReport,
  type Listed,
  type ReportItem,
  type StatusReport,
} from './status.js';
import type { ReportWeek } from './week.js';

/**
 * The portfolio view: every program of the organisation side by side for one ISO week, read by the same
 * instant rules as a program's weekly report (the week's end, or the as-of instant when that is earlier;
 * "last week" is the same view a week earlier). Each program's row is taken from its own status report
 * (status.ts); the milestones at risk, the blocking links across programs and the top risks are the
 * registers' rows (workers/registers/) at the report's instant. docs/status-report.md states the rules.
 */

export interface PortfolioProgram {
  program: { id: string; name: string };
  /** The command printing the program's own report, which every number of the row comes from. */
  command: string;
  colour: StatusColour;
  lastWeekColour: StatusColour;
  /** The colour, how it was a week earlier, and why: "Red, as last week: 1 high risk without an owner: R-1." */
  health: string;
  confidence: {
    value: number | null;
    band: ForecastBand | null;
    lastWeek: number | null;
    /** Against last week: "down from 0.55", "up from 0.40", "as last week", "none last week", "0.55 last week". */
    change: string;
    /** The milestone that sets it, linked to its source. */
    setBy: { key: string; name: string; committed: Day; url: string } | null;
    command: string;
  };
  /** Open milestones the milestone register flags (overdue, slipped, waiting on a stalled dependency, forecast at risk or off track), most at risk first. */
  milestonesAtRisk: Listed<ReportItem>;
  /** Open decisions, and how many of them are past their target. */
  decisions: { open: number; pastTarget: number; command: string };
  /** Open risks of high severity, and how many have no owner. */
  highRisks: { open: number; unowned: number; command: string };
}

/** An open blocking link whose blocker is in another program than the item it blocks. */
export interface CrossProgramLink extends ReportItem {
  blocker: { key: string; title: string; url: string; program: string; team: string; owner: string };
  blocked: { key: string; title: string; url: string; program: string; team: string };
  stalled: boolean;
  /** Business days since the blocker last moved; null when the store cannot tell. */
  idleDays: number | null;
}

/** An open risk of the portfolio, with its program. */
export interface PortfolioRisk extends ReportItem {
  program: { id: string; name: string };
  severity: string;
}

export interface PortfolioReport {
  week: { id: string; first: Day; last: Day };
  timeZone: string;
  /** The instant the store is read at (ISO 8601): the week's end, or the as-of instant before it. */
  asOf: string;
  /** The instant of the view a week earlier. */
  previousAsOf: string;
  cap: number;
  /** One row per program of the organisation: red first, then amber, then green; least confident first among equals; then by name. */
  programs: PortfolioProgram[];
  programsNone: string | null;
  dependencies: Listed<CrossProgramLink> & { none: string | null };
  topRisks: Listed<PortfolioRisk> & { none: string | null };
}

export interface PortfolioOptions {
  store: Store;
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig };
  week: ReportWeek;
  /** The latest instant the store may be read at: the as-of instant, else now. */
  until: Date;
  /**
   * A program's status report of this week as of `until`, where the caller has made it already (the
   * weekly delivery makes each program's first); the portfolio makes the others.
   */
  statusOf?: (program: string) => Promise<StatusReport>;
}

const DAY_MS = 86_400_000;

const COLOUR_RANK: Record<StatusColour, number> = { red: 0, amber: 1, green: 2 };

const capitalised = (s: string): string => `${s.slice(0, 1).toUpperCase()}${s.slice(1)}`;

/** A program's confidence against last week, in a few words. */
function confidenceChange(value: number | null, lastWeek: number | null): string {
  if (lastWeek === null) return value === null ? 'none, as last week' : 'none last week';
  if (value === null) return `${lastWeek.toFixed(2)} last week`;
  if (value.toFixed(2) === lastWeek.toFixed(2)) return 'as last week';
  return `${value > lastWeek ? 'up' : 'down'} from ${lastWeek.toFixed(2)}`;
}

/** A program's row, from its report and the registers' rows of the program at the report's instant. */
function programRow(r: StatusReport, mine: Registers, urls: Map<string, string>, cmd: Commands): PortfolioProgram {
  const s = r.summary;
  const since = s.lastWeekColour === s.colour ? 'as last week' : `${s.lastWeekColour} last week`;
  const atRisk = mine.milestones
    .filter((m) => !text(m['status']).startsWith('done') && milestoneRegister.board(m).flag !== 'green')
    .map((m): ReportItem => ({
      key: text(m['key']),
      name: text(m['title']),
      title: text(m['title']),
      url: text(m['url']),
      command: cmd.list('milestones'),
      detail: `${text(m['status'])}, committed ${text(m['committed']) || 'no date'}: ${text(m['why'])}`,
    }));
  const c = s.confidence;
  const reason = (rule: string): number => s.health.reasons.find((x) => x.rule === rule)?.items.length ?? 0;
  return {
    program: r.program,
    command: `ptel status-report --program ${r.program.id} --week ${r.week.id} --as-of ${instantText(new Date(r.asOf))}`,
    colour: s.colour,
    lastWeekColour: s.lastWeekColour,
    health: s.health.summary.replace(/^(\w+):/, `$1, ${since}:`),
    confidence: {
      value: c.value,
      band: c.band,
      lastWeek: c.lastWeek,
      change: confidenceChange(c.value, c.lastWeek),
      setBy: c.setBy === null ? null : { ...c.setBy, url: urls.get(c.setBy.key) ?? '' },
      command: c.command,
    },
    milestonesAtRisk: listed(atRisk, cmd.list('milestones')),
    decisions: { open: r.decisions.decisions.total, pastTarget: reason('decision_overdue'), command: cmd.list('decisions') },
    highRisks: { open: r.risks.highRisks.total, unowned: reason('high_risk_unowned'), command: cmd.list('risks') },
  };
}

const idle = (v: RegisterRow[string] | undefined): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

/** The portfolio of every program of the organisation for a week. */
export async function portfolioReport(options: PortfolioOptions): Promise<PortfolioReport> {
  if (options.week.from.getTime() >= options.until.getTime())
    throw new RangeError(`portfolio: week ${options.week.id} has not started by ${instantText(options.until)}`);
  const { org } = options.config;
  const tz = options.config.metrics.timeZone;
  // The instants of every program's report: the week's end, or the as-of instant when that is earlier.
  const at = options.until.getTime() < options.week.to.getTime() ? options.until : options.week.to;
  const recentDays = Math.max(1, Math.ceil((at.getTime() - options.week.from.getTime()) / DAY_MS) + 1);
  const [reports, all] = await Promise.all([
    Promise.all(
      org.programs.map((p) =>
        options.statusOf !== undefined
          ? options.statusOf(p.id)
          : statusReport({ store: options.store, config: options.config, program: p.id, week: options.week, until: options.until }),
      ),
    ),
    readAll(options.store, {
      params: metricParams(options.config),
      asOf: at,
      recentDays,
    }),
  ]);
  const commands = new Map(org.programs.map((p) => [p.id, new Commands(p.id, options.week, at)]));
  const names = new Map(org.programs.map((p) => [p.id, p.name]));
  const urls = new Map(all.milestones.map((m) => [text(m['key']), text(m['url'])]));
  const asOf = `--as-of ${instantText(at)}`;

  // 1. One row per program
  const programs = reports
    .map((r) => programRow(r, narrowed(all, r.program.id), urls, commands.get(r.program.id)!))
    .sort(
      (a, b) =>
        COLOUR_RANK[a.colour] - COLOUR_RANK[b.colour] ||
        (a.confidence.value ?? 2) - (b.confidence.value ?? 2) ||
        (a.program.name < b.program.name ? -1 : a.program.name > b.program.name ? 1 : 0),
    );

  // 2. Blocking links across programs, in the dependency register's order (stalled first, then oldest)
  const programOf = (id: string): string => (id === '' ? 'no program' : (names.get(id) ?? id));
  const teamOf = (t: string): string => (t === '' ? 'no team' : `team ${t}`);
  const links = all.dependencies
    .filter((r) => yes(r['cross_program']) && (names.has(text(r['blocker_program'])) || names.has(text(r['blocked_program']))))
    .map((r): CrossProgramLink => {
      const blocker = {
        key: text(r['blocker']),
        title: text(r['blocker_title']),
        url: text(r['url']),
        program: text(r['blocker_program']),
        team: text(r['blocker_team']),
        owner: text(r['blocker_owner']),
      };
      const blocked = {
        key: text(r['blocked']),
        title: text(r['blocked_title']),
        url: text(r['blocked_url']),
        program: text(r['blocked_program']),
        team: text(r['blocked_team']),
      };
      const stalled = yes(r['stalled']);
      const idleDays = idle(r['idle_days']);
      const cmd = commands.get(blocked.program) ?? commands.get(blocker.program)!;
      return {
        key: text(r['key']),
        name: `${blocker.key} blocks ${blocked.key}`,
        title: `${blocker.title} blocks ${blocked.title}`,
        url: blocker.url,
        command: cmd.list('dependencies'),
        detail:
          `${programOf(blocker.program)} (${teamOf(blocker.team)}${blocker.owner === '' ? '' : `, owner ${blocker.owner}`}) holds up ` +
          `${programOf(blocked.program)} (${teamOf(blocked.team)}); ` +
          `${stalled ? `stalled: ${text(r['stall_reason'])}` : 'not stalled'}; ` +
          `${idleDays === null ? 'idle time unknown' : `the blocker idle ${plural(idleDays, 'business day')}`}, open ${days(r['age_days'])}`,
        blocker,
        blocked,
        stalled,
        idleDays,
      };
    });

  // 3. The top risks: the risk register's open risks across the programs, in its order
  const risks = all.risks
    .filter((r) => r['closed'] === null && names.has(text(r['program'])))
    .map((r): PortfolioRisk => {
      const program = text(r['program']);
      return {
        key: text(r['key']),
        name: text(r['item']),
        title: text(r['title']),
        url: text(r['url']),
        command: commands.get(program)!.list('risks'),
        detail:
          `${text(r['severity'])} severity, ${yes(r['unowned']) ? 'no owner' : `owner ${text(r['owner'])}`}, ` +
          `open ${days(r['age_days'])}, mitigation: ${text(r['mitigation'])}`,
        program: { id: program, name: names.get(program)! },
        severity: text(r['severity']),
      };
    });

  return {
    week: { id: options.week.id, first: options.week.first, last: options.week.last },
    timeZone: tz,
    asOf: at.toISOString(),
    // The view a week earlier is read at the end of the week before: this week's start.
    previousAsOf: options.week.from.toISOString(),
    cap: CAP,
    programs,
    programsNone: programs.length === 0 ? 'No program is configured (org.programs is empty).' : null,
    dependencies: {
      ...listed(links, `ptel list dependencies ${asOf}`),
      none: links.length === 0 ? 'No open blocking link between two programs.' : null,
    },
    topRisks: {
      ...listed(risks, `ptel list risks ${asOf}`),
      none: risks.length === 0 ? 'No open risk in any program.' : null,
    },
  };
}

/** The portfolio's colour words, for a renderer: "Red, as last week". */
export const colourWords = (p: Pick<PortfolioProgram, 'colour' | 'lastWeekColour'>): string =>
  `${capitalised(p.colour)}, ${p.lastWeekColour === p.colour ? 'as last week' : `${p.lastWeekColour} last week`}`;
