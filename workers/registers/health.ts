import { text, yes, type RegisterRow } from './types.js';

/**
 * A program's status colour, from its registers taken at one instant, with the reasons for it. The one
 * rule every status readout uses (the monthly report's first page; a weekly status report):
 *
 * red, when any of:
 *   - a milestone is overdue (open, its committed date has passed);
 *   - a high-severity risk is open with no owner;
 *   - a dependency across programs is stalled (the blocker and the blocked item in different programs).
 * amber, when none of those but any of:
 *   - a milestone has slipped (open, re-planned later than its original date);
 *   - a decision is past its target (open after its deadline);
 *   - a dependency within a program (or with an item in no program) is stalled.
 * green otherwise.
 *
 * Every rule that holds is a reason, red ones first, each naming its items in the registers' order.
 */

export type StatusColour = 'red' | 'amber' | 'green';

export type HealthRule =
  'milestone_overdue' | 'high_risk_unowned' | 'cross_program_stall' | 'milestone_slipped' | 'decision_overdue' | 'dependency_stalled';

/** An item a reason names: its name in the register (a milestone's title, a risk's key, 'A blocks B'), its title and link. */
export interface NamedItem {
  name: string;
  title: string;
  url: string;
}

export interface HealthReason {
  rule: HealthRule;
  colour: 'red' | 'amber';
  /** 'milestones overdue', 'high risks without an owner', ... */
  what: string;
  items: NamedItem[];
  /** One clause: '2 milestones overdue: Search GA, Checkout 2.0'. */
  text: string;
}

export interface ProgramHealth {
  colour: StatusColour;
  reasons: HealthReason[];
  /** One or two sentences: the colour and why. */
  summary: string;
}

/** The register rows the rule reads (readRegister's rows of milestones, risks, decisions and dependencies at one instant). */
export interface HealthInput {
  milestones: readonly RegisterRow[];
  risks: readonly RegisterRow[];
  decisions: readonly RegisterRow[];
  dependencies: readonly RegisterRow[];
}

const milestoneItem = (r: RegisterRow): NamedItem => ({ name: text(r['title']), title: text(r['title']), url: text(r['url']) });
const workItem = (r: RegisterRow): NamedItem => ({ name: text(r['item']), title: text(r['title']), url: text(r['url']) });
const linkItem = (r: RegisterRow): NamedItem => ({
  name: `${text(r['blocker'])} blocks ${text(r['blocked'])}`,
  title: `${text(r['blocker_title'])} blocks ${text(r['blocked_title'])}`,
  url: text(r['url']),
});

interface Rule {
  rule: HealthRule;
  colour: 'red' | 'amber';
  /** The reason's words for one item and for several. */
  one: string;
  many: string;
  rows(input: HealthInput): readonly RegisterRow[];
  item(row: RegisterRow): NamedItem;
}

const stalled = (r: RegisterRow): boolean => yes(r['stalled']);

/** The rules, in the order their reasons are listed. */
export const HEALTH_RULES: readonly Rule[] = [
  {
    rule: 'milestone_overdue',
    colour: 'red',
    one: 'milestone overdue',
    many: 'milestones overdue',
    rows: (i) => i.milestones.filter((r) => r['status'] === 'overdue'),
    item: milestoneItem,
  },
  {
    rule: 'high_risk_unowned',
    colour: 'red',
    one: 'high risk without an owner',
    many: 'high risks without an owner',
    rows: (i) => i.risks.filter((r) => r['closed'] === null && r['severity'] === 'high' && yes(r['unowned'])),
    item: workItem,
  },
  {
    rule: 'cross_program_stall',
    colour: 'red',
    one: 'dependency across programs stalled',
    many: 'dependencies across programs stalled',
    rows: (i) => i.dependencies.filter((r) => stalled(r) && yes(r['cross_program'])),
    item: linkItem,
  },
  {
    rule: 'milestone_slipped',
    colour: 'amber',
    one: 'milestone slipped',
    many: 'milestones slipped',
    rows: (i) => i.milestones.filter((r) => r['status'] === 'slipped'),
    item: milestoneItem,
  },
  {
    rule: 'decision_overdue',
    colour: 'amber',
    one: 'decision past its target',
    many: 'decisions past their target',
    rows: (i) => i.decisions.filter((r) => r['status'] === 'overdue'),
    item: workItem,
  },
  {
    rule: 'dependency_stalled',
    colour: 'amber',
    one: 'dependency stalled',
    many: 'dependencies stalled',
    rows: (i) => i.dependencies.filter((r) => stalled(r) && !yes(r['cross_program'])),
    item: linkItem,
  },
];

/** How many items a reason names in its sentence before 'and N more'. */
const NAMED = 3;

function clause(n: number, what: string, items: readonly NamedItem[]): string {
  const names = items.slice(0, NAMED).map((i) => i.name);
  const more = items.length > NAMED ? ` and ${items.length - NAMED} more` : '';
  return `${n} ${what}: ${names.join(', ')}${more}`;
}

/** The status colour of the registers' rows and the reasons for it (see the rule above). */
export function programHealth(input: HealthInput): ProgramHealth {
  const reasons: HealthReason[] = [];
  for (const rule of HEALTH_RULES) {
    const rows = rule.rows(input);
    if (rows.length === 0) continue;
    const items = rows.map((r) => rule.item(r));
    const what = items.length === 1 ? rule.one : rule.many;
    reasons.push({ rule: rule.rule, colour: rule.colour, what, items, text: clause(items.length, what, items) });
  }
  const red = reasons.filter((r) => r.colour === 'red');
  const amber = reasons.filter((r) => r.colour === 'amber');
  const colour: StatusColour = red.length > 0 ? 'red' : amber.length > 0 ? 'amber' : 'green';
  const sentence = (list: HealthReason[]): string => list.map((r) => r.text).join('; ');
  const summary =
    colour === 'green'
      ? 'Green: no milestone overdue or slipped, every high risk has an owner, no decision is past its target and no dependency is stalled.'
      : colour === 'red'
        ? `Red: ${sentence(red)}.${amber.length > 0 ? ` Also amber: ${sentence(amber)}.` : ''}`
        : `Amber: ${sentence(amber)}.`;
  return { colour, reasons, summary };
}
