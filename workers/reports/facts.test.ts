import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMetricsConfig, defaultModel, orgSchema } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { OutcomeActualRow, OutcomeTargetRow, ReadinessCheckRow } from '../../schemas/domain.js';
import { testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { statusHtml } from './html.js';
import { statusMarkdown } from './markdown.js';
import { statusSlack } from './slack.js';
import { statusReport, type StatusReport } from './status.js';
import { reportWeek } from './week.js';

/**
 * The weekly status report of program payments for week 2026-W11 (Monday 03-09 to Sunday 03-15, UTC),
 * drafted on Tuesday 03-17 09:00, reads the store as of the week's end (03-16 00:00):
 * - release R1, go/no-go 03-12 (in the week): load test passed, security review failed, DR drill waived
 *   ('covered by the March drill'), checked 03-10 and 03-11;
 * - release R2, go/no-go 03-27 (within the two weeks ahead): runbook passed 03-13, rollback not passed yet; a
 *   check made on 03-16 is after the report's instant;
 * - release R0, go/no-go 03-02 (before the week) and R9, go/no-go 04-20 (past the two weeks): not shown;
 * - another program's release in the week: not shown.
 * - outcome conversion: at least 0.03 by 03-01 (due, missed at 0.028 on 02-28); revised on 03-05 to 0.029
 *   by 03-31 with its rationale, actual 0.0295 on 03-14: on target, and revised once;
 * - outcome latency: at most 300 ms by 06-30, actual 320 on 03-15: not on target yet; an actual observed
 *   after the report's instant is not read.
 */
const UNTIL = new Date('2026-03-17T09:00:00Z');
const org = orgSchema.parse({
  programs: [
    { id: 'payments', name: 'Payments', teams: [{ id: 'checkout', name: 'Checkout' }] },
    { id: 'growth', name: 'Growth', teams: [{ id: 'web', name: 'Web' }] },
  ],
});

const check = (
  program: string,
  release: string,
  check_name: string,
  status: ReadinessCheckRow['status'],
  go_no_go: string,
  checked: string,
  rationale = '',
): ReadinessCheckRow => ({
  program,
  release_name: release,
  check_name,
  status,
  go_no_go,
  checked_at: `${checked}T15:00:00.000Z`,
  rationale,
  owner: 'Checkout',
  raw_event_id: `e-${release}-${check_name}`,
  version: 1,
  is_deleted: 0,
});
const target = (
  outcome: string,
  t: number,
  direction: OutcomeTargetRow['direction'],
  due: string,
  set_at: string,
  rationale = '',
  unit = '',
): OutcomeTargetRow => ({
  program: 'payments',
  outcome,
  target: t,
  direction,
  due,
  unit,
  set_at: `${set_at}T00:00:00.000Z`,
  rationale,
  raw_event_id: `t-${outcome}-${set_at}`,
  version: 1,
});
const actual = (outcome: string, value: number, at: string): OutcomeActualRow => ({
  program: 'payments',
  outcome,
  observed_at: `${at}T12:00:00.000Z`,
  value,
  origin: 'import',
  raw_event_id: `a-${outcome}-${at}`,
  version: 1,
});

let store: Store;
let r: StatusReport;

beforeAll(async () => {
  store = await testStore();
  await insertTables(store, {
    readiness_checks: [
      check('payments', 'R1', 'Load test', 'pass', '2026-03-12', '2026-03-10'),
      check('payments', 'R1', 'Security review', 'fail', '2026-03-12', '2026-03-11'),
      check('payments', 'R1', 'DR drill', 'waived', '2026-03-12', '2026-03-11', 'covered by the March drill'),
      check('payments', 'R2', 'Runbook', 'pass', '2026-03-27', '2026-03-13'),
      check('payments', 'R2', 'Rollback', 'fail', '2026-03-27', '2026-03-13'),
      check('payments', 'R0', 'Load test', 'pass', '2026-03-02', '2026-02-27'),
      check('payments', 'R9', 'Load test', 'pass', '2026-04-20', '2026-03-13'),
      // checked after the report's instant (the week's end): not read
      check('payments', 'R2', 'On-call briefed', 'pass', '2026-03-27', '2026-03-16'),
      check('growth', 'G1', 'Load test', 'fail', '2026-03-12', '2026-03-11'),
    ],
    outcome_targets: [
      target('conversion', 0.03, 'at_least', '2026-03-01', '2026-01-05'),
      target('conversion', 0.029, 'at_least', '2026-03-31', '2026-03-05', 'traffic mix changed'),
      target('latency', 300, 'at_most', '2026-06-30', '2026-01-05', '', 'ms'),
    ],
    outcome_actuals: [
      actual('conversion', 0.028, '2026-02-28'),
      actual('conversion', 0.0295, '2026-03-14'),
      actual('latency', 320, '2026-03-15'),
      actual('latency', 280, '2026-03-18'),
    ],
  });
  r = await statusReport({
    store,
    config: { model: defaultModel(), metrics: defaultMetricsConfig(), org },
    program: 'payments',
    week: reportWeek('2026-03-09', 'UTC'),
    until: UNTIL,
  });
}, 120_000);

afterAll(async () => {
  await store.close();
});

describe("the status report's facts from outside the trackers", () => {
  it('lists the readiness of each release whose go/no-go is in the week or the two weeks after, passed ones with their explain command', () => {
    expect(r.nextMilestones.readiness.items.map((i) => [i.name, i.detail, i.command])).toEqual([
      [
        'R1',
        'go/no-go 2026-03-12: 1 of 3 checks passed; failed: Security review; waived: DR drill (covered by the March drill)',
        'ptel metrics explain release_readiness_pass_rate --scope program:payments --period day --start 2026-03-12 --as-of 2026-03-16T00:00:00Z',
      ],
      ['R2', 'go/no-go 2026-03-27 (ahead): 1 of 2 checks passed; not passed yet: Rollback', ''],
    ]);
  });

  it('tells each outcome against its target as of the report, a revision with its history', () => {
    expect(r.metrics.outcomes.items.map((i) => [i.name, i.detail])).toEqual([
      [
        'conversion',
        'on target: actual 0.0295 on 2026-03-14 against at least 0.029 by 2026-03-31; revised once: ' +
          '0.03 due 2026-03-01 set 2026-01-05 00:00:00.000 -> 0.029 due 2026-03-31 set 2026-03-05 00:00:00.000 (traffic mix changed)',
      ],
      ['latency', 'not on target yet: actual 320 ms on 2026-03-15 against at most 300 ms by 2026-06-30'],
    ]);
  });

  it('renders both lists in Markdown, HTML and Slack', () => {
    const md = statusMarkdown(r);
    expect(md).toContain('**Readiness before the go/no-go (2)**:');
    expect(md).toContain('- R2: go/no-go 2026-03-27 (ahead): 1 of 2 checks passed; not passed yet: Rollback');
    expect(md).toContain('**Outcomes against their targets (2)**:');
    // The section order: readiness with the milestones (3), outcomes with the metrics (6).
    expect(md.indexOf('Readiness before')).toBeGreaterThan(md.indexOf('## 3.'));
    expect(md.indexOf('Readiness before')).toBeLessThan(md.indexOf('## 4.'));
    expect(md.indexOf('Outcomes against')).toBeGreaterThan(md.indexOf('## 6.'));
    const html = statusHtml(r);
    expect(html).toContain('Readiness before the go/no-go (2)');
    expect(html).toContain('not on target yet: actual 320 ms on 2026-03-15 against at most 300 ms by 2026-06-30');
    const slack = JSON.stringify(statusSlack(r));
    expect(slack).toContain('Readiness before the go/no-go (2)');
    expect(slack).toContain('Outcomes against their targets (2)');
  });
});
