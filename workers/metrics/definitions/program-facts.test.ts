import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../../infra/store/client.js';
import type {
  AdopterRow,
  CostRowRow,
  MilestoneDateRow,
  OutcomeActualRow,
  OutcomeTargetRow,
  ReadinessCheckRow,
  SurveyResponseRow,
  WorkItemHistoryRow,
  WorkItemRow,
} from '../../../schemas/domain.js';
import { testStore } from '../../../test/support/harness.js';
import { insertTables } from '../../../test/support/mapping.js';
import { compute, explain, testParams, type Value } from '../../../test/support/metrics.js';
import { historyRow, milestoneRow, workItemMaker } from '../../../test/support/rows.js';
import type { MetricDefinition, MetricParams } from '../types.js';
import { PROGRAM_FACT_METRICS } from './program-facts.js';

/**
 * Hand-computed scenarios at the level of the tables, January to April 2026 (UTC). Two programs:
 * payments (team checkout) and discovery (team search).
 */

const def = (id: string): MetricDefinition => {
  const d = PROGRAM_FACT_METRICS.find((m) => m.id === id);
  if (d === undefined) throw new Error(`no metric ${id}`);
  return d;
};

const item = workItemMaker({
  programOf: { checkout: 'payments', search: 'discovery' },
  createdAt: '2026-01-15T00:00:00.000Z',
  updatedAt: '2026-01-15T00:00:00.000Z',
});
const done = { status: 'Done', status_category: 'done' } as const;
const at = (day: string, time = '12:00:00'): string => `${day}T${time}.000Z`;

const PARAMS: MetricParams = testParams({
  program_ids: ['payments', 'discovery'],
  cost_account_programs: ['discovery'],
  cost_account_ids: ['222'],
  // payments: 1,000 for March, 200 a month up to February; discovery: 500 a month from March on
  budget_programs: ['payments', 'payments', 'discovery'],
  budget_firsts: ['2026-03', '', '2026-03'],
  budget_lasts: ['2026-03', '2026-02', ''],
  budget_amounts: [1000, 200, 500],
  budget_currencies: ['USD', 'USD', 'USD'],
});

// ---------------------------------------------------------------------------------------------------
// Readiness (item 24). Release R1 of payments, go/no-go 2026-03-20:
//   imported: load test pass, runbook pass, security review fail, DR drill waived (with its rationale), an
//   old check deleted since (not counted);
//   Jira (label readiness-check, fix version version/10 "R1" released 03-20): A-1 passed 03-19 (pass);
//   A-2 passed only 03-22, Open at the go/no-go (fail); A-3 Waived with its resolution as the rationale;
//   A-5 labelled but in no release (not a check of any).
//   Pass rate: 3 of 5 (payments, March); team checkout (Jira only): 1 of 2. Waived: 2.
// Release R2 of discovery, go/no-go 04-10: one imported check, passed: 1 of 1 in April.

const check = (
  program: string,
  release: string,
  name: string,
  status: ReadinessCheckRow['status'],
  goNoGo: string,
  extra: Partial<ReadinessCheckRow> = {},
): ReadinessCheckRow => ({
  program,
  release_name: release,
  check_name: name,
  status,
  go_no_go: goNoGo,
  checked_at: at(goNoGo, '09:00:00'),
  rationale: '',
  owner: 'quinn',
  raw_event_id: 'e',
  version: 1,
  is_deleted: 0,
  ...extra,
});

const checks: ReadinessCheckRow[] = [
  check('payments', 'R1', 'load test', 'pass', '2026-03-20'),
  check('payments', 'R1', 'runbook', 'pass', '2026-03-20'),
  check('payments', 'R1', 'security review', 'fail', '2026-03-20'),
  check('payments', 'R1', 'DR drill', 'waived', '2026-03-20', { rationale: 'drill moved after launch, accepted by the CISO' }),
  check('payments', 'R1', 'old check', 'pass', '2026-03-20', { is_deleted: 1 }),
  check('discovery', 'R2', 'load test', 'pass', '2026-04-10'),
];

const readinessItems: WorkItemRow[] = [
  item('A-1', 'task', 'checkout', { status: 'Passed', labels: ['Readiness-Check'], fix_versions: ['version/10'] }),
  item('A-2', 'task', 'checkout', { status: 'Passed', labels: ['readiness-check'], fix_versions: ['version/10'] }),
  item('A-3', 'task', 'checkout', {
    status: 'Waived',
    labels: ['readiness-check'],
    fix_versions: ['version/10'],
    resolution: 'accepted risk: legacy API sunsets in May',
  }),
  item('A-5', 'task', 'checkout', { status: 'Passed', labels: ['readiness-check'] }),
];
const readinessHistory: WorkItemHistoryRow[] = [
  historyRow('A-1', at('2026-03-19'), 'status', 'Open', 'Passed'),
  historyRow('A-2', at('2026-03-22'), 'status', 'Open', 'Passed'),
];

// ---------------------------------------------------------------------------------------------------
// Surveys (items 25, 26), floor 5 answers a program and quarter to date.
// Stakeholder satisfaction, payments: January 5, 4; February 3, 4; March 5, 5; April 2, 3, 4, 4, 5.
//   January (2 to date) and February (4) show nothing; March: 26 / 6 = 4.3333; April (a new quarter, 5): 18 / 5 = 3.6.
//   Discovery, March: 3 answers (4, 4, 4): below the floor, no value, and not in the org's (org March = payments' 4.3333).
// Engineering sentiment, March: payments 5, 4, 4, 2, 3: positive (>= 4) 3, negative (<= 2) 1: net 2 / 5 = 0.4, mean 3.6;
//   discovery 1, 2, 2, 5: 4 answers, no value at the floor 5; at a floor of 4 net (1 - 3) / 4 = -0.5.

let answers = 0;
const answer = (survey: SurveyResponseRow['survey'], program: string, day: string, score: number): SurveyResponseRow => {
  answers += 1;
  return {
    survey,
    program,
    response: `r${answers}`,
    submitted_at: at(day),
    score,
    comment_count: answers % 2,
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
  };
};
const satisfaction = (program: string, day: string, ...scores: number[]): SurveyResponseRow[] =>
  scores.map((s) => answer('stakeholder_satisfaction', program, day, s));
const sentiment = (program: string, day: string, ...scores: number[]): SurveyResponseRow[] =>
  scores.map((s) => answer('engineering_sentiment', program, day, s));

const surveys: SurveyResponseRow[] = [
  ...satisfaction('payments', '2026-01-20', 5, 4),
  ...satisfaction('payments', '2026-02-20', 3, 4),
  ...satisfaction('payments', '2026-03-20', 5, 5),
  ...satisfaction('payments', '2026-04-20', 2, 3, 4, 4, 5),
  ...satisfaction('discovery', '2026-03-20', 4, 4, 4),
  ...sentiment('payments', '2026-03-10', 5, 4, 4, 2, 3),
  ...sentiment('discovery', '2026-03-10', 1, 2, 2, 5),
];

// ---------------------------------------------------------------------------------------------------
// Outcomes (item 27), payments:
//   conversion at least 0.05 due 03-31: actuals 0.04 (03-01), 0.055 (03-30), 0.03 (04-02, after the due date): met.
//   latency_p95 at most 300 due 03-15, revised 03-10 to 350 with a rationale; actual 400 (03-14): missed, but revised
//     with a rationale: counts.
//   signups at least 1000 due 03-20, revised 03-01 to due 04-30 without a rationale: due in April; actual 900 (04-29): missed.
//   churn at most 0.02 due 03-25, no actual: missed.
//   nps at least 40 due 03-10, actual 38 (03-09); lowered to 35 on 03-12 without a rationale, after the due date:
//     the target in force at the due date was 40: missed.
//   March: 2 of 4; April: 0 of 1.

const target = (
  outcome: string,
  value: number,
  direction: OutcomeTargetRow['direction'],
  due: string,
  setAt: string,
  rationale = '',
): OutcomeTargetRow => ({
  program: 'payments',
  outcome,
  target: value,
  direction,
  due,
  unit: '',
  set_at: setAt,
  rationale,
  raw_event_id: 'e',
  version: 1,
});
const actual = (outcome: string, observedAt: string, value: number): OutcomeActualRow => ({
  program: 'payments',
  outcome,
  observed_at: observedAt,
  value,
  origin: 'import',
  raw_event_id: 'e',
  version: 1,
});

const targets: OutcomeTargetRow[] = [
  target('conversion', 0.05, 'at_least', '2026-03-31', at('2026-01-05')),
  target('latency_p95', 300, 'at_most', '2026-03-15', at('2026-01-05')),
  target('latency_p95', 350, 'at_most', '2026-03-15', at('2026-03-10'), 'traffic from the new region'),
  target('signups', 1000, 'at_least', '2026-03-20', at('2026-01-05')),
  target('signups', 1000, 'at_least', '2026-04-30', at('2026-03-01')),
  target('churn', 0.02, 'at_most', '2026-03-25', at('2026-01-05')),
  target('nps', 40, 'at_least', '2026-03-10', at('2026-01-05')),
  target('nps', 35, 'at_least', '2026-03-10', at('2026-03-12')),
];
const actuals: OutcomeActualRow[] = [
  actual('conversion', at('2026-03-01'), 0.04),
  actual('conversion', at('2026-03-30'), 0.055),
  actual('conversion', at('2026-04-02'), 0.03),
  actual('latency_p95', at('2026-03-14'), 400),
  actual('signups', at('2026-04-29'), 900),
  actual('nps', at('2026-03-09'), 38),
];

// ---------------------------------------------------------------------------------------------------
// Adoption (item 28), payments: team-a enabled 03-09 for 03-10 (on time); team-b enabled 03-12 for 03-10 (late);
//   acme by Jira issue A-20, done 03-30 for 03-31 (on time); globex by label enable-globex, first done 04-03
//   for 03-31 (late); initech for 03-20, never enabled. March: 2 of 5.

const adopter = (name: string, kind: AdopterRow['adopter_kind'], targetDate: string, extra: Partial<AdopterRow> = {}): AdopterRow => ({
  program: 'payments',
  adopter: name,
  adopter_kind: kind,
  target_date: targetDate,
  enabled_at: null,
  jira_issue: '',
  jira_label: '',
  raw_event_id: 'e',
  version: 1,
  is_deleted: 0,
  ...extra,
});
const adopters: AdopterRow[] = [
  adopter('team-a', 'team', '2026-03-10', { enabled_at: at('2026-03-09') }),
  adopter('team-b', 'team', '2026-03-10', { enabled_at: at('2026-03-12') }),
  adopter('acme', 'customer', '2026-03-31', { jira_issue: 'A-20' }),
  adopter('globex', 'customer', '2026-03-31', { jira_label: 'enable-globex' }),
  adopter('initech', 'customer', '2026-03-20'),
];
const adoptionItems: WorkItemRow[] = [
  item('A-20', 'task', 'checkout', { ...done, resolved_at: at('2026-03-30') }),
  item('A-21', 'task', 'checkout', { ...done, labels: ['Enable-Globex'], resolved_at: at('2026-04-03') }),
  item('A-22', 'task', 'checkout', { ...done, labels: ['enable-globex'], resolved_at: at('2026-04-05') }),
];
const adoptionHistory: WorkItemHistoryRow[] = [
  historyRow('A-20', at('2026-03-30'), 'status', 'To Do', 'Done'),
  historyRow('A-21', at('2026-04-03'), 'status', 'To Do', 'Done'),
  historyRow('A-22', at('2026-04-05'), 'status', 'To Do', 'Done'),
];

// ---------------------------------------------------------------------------------------------------
// Effort (item 29): version/30 "E1" of checkout, committed 02-01 (first date seen), released 03-16.
//   B-1 in it from the start, 3 points then, 5 from 02-10: planned 3, actual 5.
//   B-2 in it from the start, 8 points, removed 02-20: planned 8, not at completion.
//   B-3 added 02-15, 5 points: actual 5.
//   Planned 11, actual 10: (10 - 11) / 11 = -0.0909 in March.

//   In hours (time tracking): B-1 estimated 2 h at the commit (4 h from 02-05), 3 h logged at completion
//   (5 h from 03-20); B-2 estimated 8 h; B-3 2 h logged. Planned 10 h, actual 5 h: -0.5.
const HOUR = 3600;
const effortItems: WorkItemRow[] = [
  item('B-1', 'story', 'checkout', {
    fix_versions: ['version/30'],
    story_points: 5,
    original_estimate_seconds: 4 * HOUR,
    time_spent_seconds: 5 * HOUR,
  }),
  item('B-2', 'story', 'checkout', { story_points: 8, original_estimate_seconds: 8 * HOUR }),
  item('B-3', 'story', 'checkout', {
    fix_versions: ['version/30'],
    story_points: 5,
    original_estimate_seconds: HOUR,
    time_spent_seconds: 2 * HOUR,
  }),
];
const effortHistory: WorkItemHistoryRow[] = [
  historyRow('B-1', at('2026-02-10'), 'Story Points', '3', '5'),
  historyRow('B-2', at('2026-02-20'), 'Fix Version', '30', ''),
  historyRow('B-3', at('2026-02-15'), 'Fix Version', '', '30'),
  // a site's own points field, by another name: 2 points until after the release, 5 since
  { ...historyRow('B-3', at('2026-03-20'), 'Team effort', '2', '5'), field_id: 'customfield_10099' },
  historyRow('B-1', at('2026-02-05'), 'timeoriginalestimate', String(2 * HOUR), String(4 * HOUR)),
  historyRow('B-1', at('2026-03-20'), 'timespent', String(3 * HOUR), String(5 * HOUR)),
];
const seen: MilestoneDateRow = {
  source: 'jira',
  milestone_id: 'version/30',
  committed_date: '2026-03-13',
  observed_at: at('2026-02-01', '00:00:00'),
  basis: 'snapshot',
  raw_event_id: 'e',
  version: 1,
};

// ---------------------------------------------------------------------------------------------------
// Spend (item 29), March budgets: payments 1000 USD, discovery 500 USD (discovery owns account 222).
//   c1 payments by tag, 600 USD; c2 payments by tag, billed 500, effective 450 USD: 450 counts;
//   c3 account 222 (no tag): discovery, 400 USD; c4 payments by tag, 100 EUR: another currency, not counted;
//   c5 account 999, no tag: unallocated; c6 tag program=marketing (no such program): unallocated.
//   payments (1050 - 1000) / 1000 = 0.05; discovery (400 - 500) / 500 = -0.2; unallocated: 2 rows.

const cost = (
  id: string,
  amount: number,
  currency: string,
  account: string,
  tags: Record<string, string>,
  effective: number | null = null,
): CostRowRow => ({
  row_id: id,
  charge_period_start: at('2026-03-05', '00:00:00'),
  charge_period_end: at('2026-03-06', '00:00:00'),
  billed_cost: amount,
  effective_cost: effective,
  currency,
  charge_category: 'Usage',
  provider: 'AWS',
  sub_account_id: account,
  sub_account_name: '',
  service_name: 'EC2',
  resource_id: '',
  tags,
  raw_event_id: 'e',
  version: 1,
});
const costs: CostRowRow[] = [
  cost('c1', 600, 'USD', '111', { program: 'payments' }),
  cost('c2', 500, 'USD', '111', { program: 'payments' }, 450),
  cost('c3', 400, 'USD', '222', {}),
  cost('c4', 100, 'EUR', '111', { program: 'payments' }),
  cost('c5', 70, 'USD', '999', {}),
  cost('c6', 30, 'USD', '', { program: 'marketing' }),
];

// ---------------------------------------------------------------------------------------------------
// Compliance (item 30), label compliance-control, payments: C-1 due 03-31 done 03-30 (evidence); C-2 due 03-31,
//   Evidence Attached 03-28, done 04-02 (none by the due date unless Evidence Attached is an evidence status);
//   C-3 due 03-15, open; C-4 no due date (not due). March: 1 of 3.

const controls: WorkItemRow[] = [
  item('C-1', 'task', 'checkout', { ...done, labels: ['compliance-control'], due_date: '2026-03-31' }),
  item('C-2', 'task', 'checkout', { ...done, labels: ['compliance-control'], due_date: '2026-03-31' }),
  item('C-3', 'task', 'checkout', { labels: ['compliance-control'], due_date: '2026-03-15' }),
  item('C-4', 'task', 'checkout', { labels: ['compliance-control'] }),
];
const controlHistory: WorkItemHistoryRow[] = [
  historyRow('C-1', at('2026-03-30'), 'status', 'To Do', 'Done'),
  historyRow('C-2', at('2026-03-28'), 'status', 'To Do', 'Evidence Attached'),
  historyRow('C-2', at('2026-04-02'), 'status', 'Evidence Attached', 'Done'),
];

// ---------------------------------------------------------------------------------------------------

let store: Store;
type Reader = Awaited<ReturnType<typeof compute>>;
let read: Reader;

beforeAll(async () => {
  store = await testStore();
  await insertTables(store, {
    readiness_checks: checks,
    survey_responses: surveys,
    outcome_targets: targets,
    outcome_actuals: actuals,
    adopters,
    cost_rows: costs,
    milestones: [
      milestoneRow('version/10', 'R1', 'checkout', 'payments', { committed_date: '2026-03-20' }),
      milestoneRow('version/30', 'E1', 'checkout', 'payments', {
        state: 'done',
        committed_date: '2026-03-13',
        completed_at: at('2026-03-16', '00:00:00'),
      }),
    ],
    milestone_dates: [seen],
    work_items: [...readinessItems, ...adoptionItems, ...effortItems, ...controls],
    work_item_history: [...readinessHistory, ...adoptionHistory, ...effortHistory, ...controlHistory],
  });
  read = await compute(store, PROGRAM_FACT_METRICS, '2026-01-01', '2026-05-01', PARAMS);
}, 120_000);

afterAll(async () => {
  await store.close();
});

/** Reads a value and checks the fields `want` gives, numbers to 6 decimals. */
async function expectValue(
  metric: string,
  scope: Parameters<Reader>[1],
  start: string,
  want: Partial<Value>,
  period: Parameters<Reader>[2] = 'month',
) {
  const close = Object.fromEntries(Object.entries(want).map(([k, v]) => [k, v === null ? null : expect.closeTo(v, 6)]));
  expect(await read(metric, scope, period, start), `${metric} ${scope} ${period} ${start}`).toMatchObject(close);
}

const units = (metric: string, scope: Parameters<Reader>[1], start: string, params = PARAMS) =>
  explain(store, def(metric), scope, 'month', start, params);

describe('release readiness (item 24)', () => {
  it('passing checks at the go/no-go over those passed or failed, imported and from Jira', async () => {
    await expectValue('release_readiness_pass_rate', 'program:payments', '2026-03-01', {
      value: 0.6,
      numerator: 3,
      denominator: 5,
      sample_size: 5,
    });
    // the Jira checks are the team's
    await expectValue('release_readiness_pass_rate', 'team:checkout', '2026-03-01', { value: 0.5, numerator: 1, denominator: 2 });
    await expectValue('release_readiness_pass_rate', 'program:discovery', '2026-04-01', { value: 1, numerator: 1, denominator: 1 });
    await expectValue('release_readiness_pass_rate', 'program:payments', '2026-03-16', { value: 0.6 }, 'week');
    const why = await units('release_readiness_pass_rate', 'program:payments', '2026-03-01');
    expect(why.map((u) => [u.item, u.num])).toEqual([
      ['readiness R1: A-1 A-1 title', 1],
      ['readiness R1: A-2 A-2 title', 0],
      ['readiness R1: load test', 1],
      ['readiness R1: runbook', 1],
      ['readiness R1: security review', 0],
    ]);
    // A-2 passed two days after the go/no-go: it was Open then
    expect(why[1]!.detail).toContain("fail at the go/no-go 2026-03-20 of R1; Jira A-2 in version/10, status 'Open'");
  });

  it('waived checks are counted apart, each with its rationale', async () => {
    await expectValue('release_readiness_waived', 'program:payments', '2026-03-01', { value: 2 });
    const why = await units('release_readiness_waived', 'program:payments', '2026-03-01');
    expect(why.map((u) => u.item)).toEqual(['readiness R1: A-3 A-3 title', 'readiness R1: DR drill']);
    expect(why[0]!.detail).toContain('waived at the go/no-go 2026-03-20 of R1: accepted risk: legacy API sunsets in May');
    expect(why[1]!.detail).toContain('drill moved after launch, accepted by the CISO');
  });

  it('a configured issue type makes an item a check; statuses are compared in lower case', async () => {
    const params = { ...PARAMS, readiness_labels: [], readiness_issue_types: ['task'], readiness_pass_statuses: ['open'] };
    const why = await units('release_readiness_pass_rate', 'team:checkout', '2026-03-01', params);
    // A-1 was Passed (now no pass status), A-2 Open (now a pass status); A-3 still waived
    expect(why.map((u) => [u.item, u.num])).toEqual([
      ['readiness R1: A-1 A-1 title', 0],
      ['readiness R1: A-2 A-2 title', 1],
    ]);
  });
});

describe('surveys (items 25, 26)', () => {
  it('stakeholder satisfaction: the mean score of the quarter to date, none under the floor', async () => {
    expect(await read('stakeholder_satisfaction', 'program:payments', 'month', '2026-01-01')).toBeUndefined();
    expect(await read('stakeholder_satisfaction', 'program:payments', 'month', '2026-02-01')).toBeUndefined();
    await expectValue('stakeholder_satisfaction', 'program:payments', '2026-03-01', { value: 26 / 6, sample_size: 6 });
    // a new quarter starts from its own answers
    await expectValue('stakeholder_satisfaction', 'program:payments', '2026-04-01', { value: 3.6, sample_size: 5 });
    // discovery's 3 answers: no value, and not in the org's
    expect(await read('stakeholder_satisfaction', 'program:discovery', 'month', '2026-03-01')).toBeUndefined();
    await expectValue('stakeholder_satisfaction', 'org:org', '2026-03-01', { value: 26 / 6, sample_size: 6 });
    // monthly only
    expect(await read('stakeholder_satisfaction', 'program:payments', 'week', '2026-03-16')).toBeUndefined();
    const why = await units('stakeholder_satisfaction', 'program:payments', '2026-03-01');
    expect(why).toHaveLength(6);
    expect(why[0]!.detail).toContain('6 answers of stakeholder_satisfaction for payments in the quarter from 2026-01-01 to date');
  });

  it('engineering sentiment: share positive less share negative, and the mean, with the same floor', async () => {
    await expectValue('engineering_sentiment_net', 'program:payments', '2026-03-01', {
      value: 0.4,
      numerator: 2,
      denominator: 5,
      sample_size: 5,
    });
    await expectValue('engineering_sentiment_mean', 'program:payments', '2026-03-01', { value: 3.6, sample_size: 5 });
    expect(await read('engineering_sentiment_net', 'program:discovery', 'month', '2026-03-01')).toBeUndefined();
    // a floor of 4 shows discovery's 4 answers
    const low = await units('engineering_sentiment_net', 'program:discovery', '2026-03-01', { ...PARAMS, survey_min_responses: 4 });
    expect(low.reduce((s, u) => s + u.num, 0) / low.reduce((s, u) => s + u.den, 0)).toBeCloseTo(-0.5, 9);
  });
});

describe('outcome attainment (item 27)', () => {
  it('targets due met, or revised with a rationale, over targets due; a revision moves a target to its latest due date', async () => {
    await expectValue('outcome_attainment_rate', 'program:payments', '2026-03-01', { value: 0.5, numerator: 2, denominator: 4 });
    await expectValue('outcome_attainment_rate', 'program:payments', '2026-04-01', { value: 0, numerator: 0, denominator: 1 });
    const march = await units('outcome_attainment_rate', 'program:payments', '2026-03-01');
    expect(march.map((u) => [u.item, u.num])).toEqual([
      ['outcome payments/nps', 0],
      ['outcome payments/latency_p95', 1],
      ['outcome payments/churn', 0],
      ['outcome payments/conversion', 1],
    ]);
    // lowered after its due date, without a rationale: read against the target in force at the due date
    expect(march[0]!.detail).toContain('missed: actual 38 observed 2026-03-09 12:00:00.000 against at least 40 due 2026-03-10');
    expect(march[1]!.detail).toContain('revised with a rationale: actual 400 observed 2026-03-14 12:00:00.000 against at most 350');
    expect(march[2]!.detail).toContain('missed: no actual by the due date');
    // the last actual by the due date, not the one after it
    expect(march[3]!.detail).toContain('met: actual 0.055');
    const april = await units('outcome_attainment_rate', 'program:payments', '2026-04-01');
    // revised without a rationale: missed at its new due date
    expect(april[0]!.detail).toContain('missed: actual 900');
  });
});

describe('adoption completion (item 28)', () => {
  it('planned adopters due enabled by their target date: imported, by a Jira issue, by a label', async () => {
    await expectValue('adoption_completion_rate', 'program:payments', '2026-03-01', { value: 0.4, numerator: 2, denominator: 5 });
    const why = await units('adoption_completion_rate', 'program:payments', '2026-03-01');
    const byItem = new Map(why.map((u) => [u.item, u]));
    expect(byItem.get('team team-a')!.num).toBe(1);
    expect(byItem.get('team team-b')!.detail).toContain('enabled late 2026-03-12');
    expect(byItem.get('customer acme')!.detail).toContain('enabled 2026-03-30 12:00:00.000 (Jira A-20 done)');
    expect(byItem.get('customer globex')!.detail).toContain(
      'enabled late 2026-04-03 12:00:00.000 (first item labelled enable-globex done: A-21)',
    );
    expect(byItem.get('customer initech')!.detail).toContain('not enabled');
  });
});

describe('effort and spend variance (item 29)', () => {
  it('effort: story points at completion against those at the commit point', async () => {
    await expectValue('effort_variance', 'program:payments', '2026-03-01', { value: -1 / 11, numerator: -1, denominator: 11 });
    const [u] = await units('effort_variance', 'team:checkout', '2026-03-01');
    expect(u!.detail).toContain('planned 11 points');
    expect(u!.detail).toContain('(B-1 3, B-2 8); actual 10 points');
  });

  it('effort in hours: the original estimate at the commit against the time logged at completion', async () => {
    await expectValue('effort_hours_variance', 'program:payments', '2026-03-01', { value: -0.5, numerator: -5, denominator: 10 });
    const [u] = await units('effort_hours_variance', 'team:checkout', '2026-03-01');
    expect(u!.detail).toContain('planned 10 hours at the commit');
    expect(u!.detail).toContain('(B-1 2, B-2 8); actual 5 hours at completion');
    expect(u!.detail).toContain('(B-1 3, B-3 2)');
  });

  it('effort: reads the configured story points field by its id whatever its name', async () => {
    const byId = await units('effort_variance', 'team:checkout', '2026-03-01', { ...PARAMS, story_point_field_ids: ['customfield_10099'] });
    expect(byId.map((u) => [u.num, u.den])).toEqual([[-4, 11]]);
    expect(byId[0]!.detail).toContain('actual 7 points at completion');
    expect(byId[0]!.detail).toContain('(B-1 5, B-3 2)');
  });

  it('spend: allocated cost against the budget in its currency; unmapped rows are counted apart', async () => {
    await expectValue('spend_variance', 'program:payments', '2026-03-01', { value: 0.05, numerator: 50, denominator: 1000 });
    await expectValue('spend_variance', 'program:discovery', '2026-03-01', { value: -0.2, numerator: -100, denominator: 500 });
    // a budget over a range of months: each month of it, with no cost there; an end left open is the range's
    await expectValue('spend_variance', 'program:payments', '2026-01-01', { value: -1, numerator: -200, denominator: 200 });
    await expectValue('spend_variance', 'program:payments', '2026-02-01', { value: -1, numerator: -200, denominator: 200 });
    expect(await read('spend_variance', 'program:payments', 'month', '2026-04-01')).toBeUndefined();
    // an open-ended budget runs to the end of the range computed, and starts at its first month
    await expectValue('spend_variance', 'program:discovery', '2026-04-01', { value: -1, numerator: -500, denominator: 500 });
    expect(await read('spend_variance', 'program:discovery', 'month', '2026-02-01')).toBeUndefined();
    // budgets in different currencies do not add up: no org value
    expect(await read('spend_variance', 'org:org', 'month', '2026-03-01')).toBeUndefined();
    const why = await units('spend_variance', 'program:payments', '2026-03-01');
    expect(why.map((u) => [u.item, u.num])).toEqual([
      ['budget payments 2026-03', -1000],
      ['cost row c1', 600],
      ['cost row c2', 450],
    ]);
    expect(why[0]!.detail).toContain('not counted, in another currency: 100 EUR');
    await expectValue('unallocated_cost', 'org:org', '2026-03-01', { value: 2 });
    const lost = await units('unallocated_cost', 'org:org', '2026-03-01');
    expect(lost.map((u) => u.item)).toEqual(['cost row c5', 'cost row c6']);
    expect(lost[1]!.detail).toContain('tag program=marketing names no program');
  });
});

describe('compliance evidence completeness (item 30)', () => {
  it('controls due with evidence by their audit date: done then, or in an evidence status', async () => {
    await expectValue('compliance_evidence_completeness', 'program:payments', '2026-03-01', { value: 1 / 3, numerator: 1, denominator: 3 });
    const byDone = await units('compliance_evidence_completeness', 'team:checkout', '2026-03-01');
    expect(byDone.map((u) => [u.item, u.num])).toEqual([
      ['jira control C-3', 0],
      ['jira control C-1', 1],
      ['jira control C-2', 0],
    ]);
    const byStatus = await units('compliance_evidence_completeness', 'team:checkout', '2026-03-01', {
      ...PARAMS,
      compliance_evidence_statuses: ['evidence attached'],
    });
    expect(byStatus.map((u) => [u.item, u.num])).toEqual([
      ['jira control C-3', 0],
      ['jira control C-1', 0],
      ['jira control C-2', 1],
    ]);
  });
});
