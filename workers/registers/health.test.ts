import { describe, expect, it } from 'vitest';
import { programHealth, type HealthInput } from './health.js';
import type { RegisterRow } from './types.js';

/** Register rows as readRegister types them (only the columns the rule reads, and the names and links). */
const milestone = (title: string, status: string): RegisterRow => ({
  key: `jira:${title}`,
  title,
  status,
  stalled_dependencies: 0,
  url: `https://acme.atlassian.net/m/${title.replace(/ /g, '-')}`,
});
const risk = (item: string, severity: string, owner: string, closed: string | null = null): RegisterRow => ({
  key: `jira:${item}`,
  item,
  title: `${item} title`,
  severity,
  owner,
  unowned: owner === '',
  closed,
  url: `https://acme.atlassian.net/browse/${item}`,
});
const decision = (item: string, status: string): RegisterRow => ({
  key: `jira:${item}`,
  item,
  title: `${item} title`,
  status,
  url: `https://acme.atlassian.net/browse/${item}`,
});
const link = (blocker: string, blocked: string, stalled: boolean, crossProgram: boolean): RegisterRow => ({
  key: `jira:${blocker}>${blocked}`,
  blocker,
  blocked,
  blocker_title: `${blocker} title`,
  blocked_title: `${blocked} title`,
  stalled,
  cross_program: crossProgram,
  url: `https://acme.atlassian.net/browse/${blocker}`,
});

/** A program with nothing wrong: on plan, risks owned or not high, decisions within target, no stall. */
const calm = (): HealthInput => ({
  milestones: [milestone('Checkout 2.0', 'on plan'), milestone('Checkout 1.9', 'done late')],
  risks: [risk('R-1', 'high', 'dana'), risk('R-2', 'medium', ''), risk('R-3', 'high', '', '2026-03-01 10:00')],
  decisions: [decision('D-1', 'open'), decision('D-2', 'decided late')],
  dependencies: [link('SRC-1', 'LED-1', false, true)],
});

const rules = (input: HealthInput): Array<[string, string, string[]]> =>
  programHealth(input).reasons.map((r) => [r.rule, r.colour, r.items.map((i) => i.name)]);

describe('the status colour of a program', () => {
  it('is green with no reason when nothing is overdue, slipped, unowned or stalled (a closed unowned high risk does not count)', () => {
    expect(programHealth(calm())).toEqual({
      colour: 'green',
      reasons: [],
      summary:
        'Green: no milestone overdue or slipped, every high risk has an owner, no decision is past its target and no dependency is stalled.',
    });
  });

  it('is red when a milestone is overdue', () => {
    const input = { ...calm(), milestones: [milestone('Search GA', 'overdue'), ...calm().milestones] };
    expect(programHealth(input).colour).toBe('red');
    expect(rules(input)).toEqual([['milestone_overdue', 'red', ['Search GA']]]);
    expect(programHealth(input).reasons[0]!.items[0]!.url).toBe('https://acme.atlassian.net/m/Search-GA');
    expect(programHealth(input).summary).toBe('Red: 1 milestone overdue: Search GA.');
  });

  it('is red when an open high risk has no owner (not a medium one, not a closed one)', () => {
    const input = { ...calm(), risks: [risk('R-9', 'high', ''), ...calm().risks] };
    expect(programHealth(input).colour).toBe('red');
    expect(rules(input)).toEqual([['high_risk_unowned', 'red', ['R-9']]]);
  });

  it('is red when a dependency across programs is stalled, amber when one within a program is', () => {
    const across = { ...calm(), dependencies: [link('SRC-9', 'LED-2', true, true)] };
    expect(programHealth(across).colour).toBe('red');
    expect(rules(across)).toEqual([['cross_program_stall', 'red', ['SRC-9 blocks LED-2']]]);
    const within = { ...calm(), dependencies: [link('CHK-2', 'LED-3', true, false)] };
    expect(programHealth(within).colour).toBe('amber');
    expect(rules(within)).toEqual([['dependency_stalled', 'amber', ['CHK-2 blocks LED-3']]]);
    expect(programHealth(within).summary).toBe('Amber: 1 dependency stalled: CHK-2 blocks LED-3.');
  });

  it('is amber when a milestone slipped', () => {
    const input = { ...calm(), milestones: [milestone('Checkout 2.0', 'slipped')] };
    expect(programHealth(input).colour).toBe('amber');
    expect(rules(input)).toEqual([['milestone_slipped', 'amber', ['Checkout 2.0']]]);
  });

  it('is amber when a decision is past its target (not one decided late)', () => {
    const input = { ...calm(), decisions: [decision('D-4', 'overdue'), ...calm().decisions] };
    expect(programHealth(input).colour).toBe('amber');
    expect(rules(input)).toEqual([['decision_overdue', 'amber', ['D-4']]]);
  });

  it('lists every reason, red first, in one or two sentences naming at most three items each', () => {
    const input: HealthInput = {
      milestones: [milestone('Search GA', 'overdue'), milestone('Checkout 2.0', 'slipped')],
      risks: ['R-1', 'R-2', 'R-3', 'R-4', 'R-5'].map((k) => risk(k, 'high', '')),
      decisions: [decision('D-1', 'overdue'), decision('D-2', 'overdue')],
      dependencies: [link('SRC-9', 'LED-2', true, true), link('CHK-2', 'LED-3', true, false)],
    };
    const health = programHealth(input);
    expect(health.colour).toBe('red');
    expect(health.reasons.map((r) => r.rule)).toEqual([
      'milestone_overdue',
      'high_risk_unowned',
      'cross_program_stall',
      'milestone_slipped',
      'decision_overdue',
      'dependency_stalled',
    ]);
    expect(health.reasons[1]!.items).toHaveLength(5);
    expect(health.summary).toBe(
      'Red: 1 milestone overdue: Search GA; 5 high risks without an owner: R-1, R-2, R-3 and 2 more; ' +
        '1 dependency across programs stalled: SRC-9 blocks LED-2. ' +
        'Also amber: 1 milestone slipped: Checkout 2.0; 2 decisions past their target: D-1, D-2; 1 dependency stalled: CHK-2 blocks LED-3.',
    );
  });
});
