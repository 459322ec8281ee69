import {
  defaultMetricsConfig,
  defaultModel,
  orgSchema,
  type MetricsConfig,
  type ModelConfig,
  type OrgConfig,
} from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { runMetricsJob } from '../../workers/metrics/job.js';
import { statusReport, type StatusReport } from '../../workers/reports/status.js';
import { lastWholeWeek } from '../../workers/reports/week.js';
import { testStore } from './harness.js';
import { insertTables } from './mapping.js';
import { blocksLinkRow, deploymentRow, historyRow, milestoneDateRow, milestoneRow, workItemMaker } from './rows.js';

/**
 * A hand-built program for the weekly status report, one item of each kind, read for week 2026-W44
 * (Monday 2026-10-26 to Sunday 11-01, UTC) on Wednesday 11-04; "last week" is the report as of 10-26 00:00.
 *
 * Program payments (teams checkout and ledger):
 * - milestones: Checkout 1.9 reached on 10-29 (committed 10-30); epic PAY-200 Wallet launch reached late on
 *   10-30 (committed 10-28), an epic that is a milestone; Checkout 2.0 open, committed 11-20, its
 *   forecast P(on time) 0.55 (at risk) in the run of 10-19 and 0.42 (off track) in the run of 10-30, with
 *   scope grown and throughput down; Ledger GA open, committed 12-10, 0.9 on track in both runs.
 * - work items done in the week: epic PAY-100 (10-28), story CHK-11 of priority High (10-27), task CHK-12
 *   of priority Medium (10-29).
 * - production deployments: checkout-api twice (10-28, 10-29), ledger-api once (10-30); incident #101
 *   started 10-29 11:00 and resolved 13:00, linked to the checkout-api deployment of 10-29.
 * - risks: R-1 high with no owner (raised 10-01), R-2 high owned by lee and being mitigated, R-3 medium
 *   raised 10-28; a change failure rate risk signal for the week.
 * - LED-5 (ledger, idle since 10-05) blocks CHK-20 (checkout): a stalled cross-team dependency.
 * - decision D-1 raised 10-19 09:00, open past its 5-business-day target; action A-1 due 10-23, open.
 * - weekly KPIs for W44 and the four weeks before.
 * Program growth (team web) holds nothing of its own week: no milestone, deployment, incident, decision or
 * high risk. Across the portfolio:
 * - CHK-30 (checkout, payments, moving on 10-28) blocks WEB-7 (web, growth) since 10-28: a blocking link
 *   across programs, open and not stalled, so neither program's report names it.
 * - growth's older risks: GRO-1 medium with no owner (raised 10-05), GRO-2 and GRO-3 low, owned (10-08,
 *   10-12): with payments' three, six open risks, one more than a list names.
 */
export const STATUS_WEEK = '2026-W44';
export const STATUS_NOW = new Date('2026-11-04T09:00:00Z');

const TEAM_PROGRAM: Record<string, string> = { checkout: 'payments', ledger: 'payments', web: 'growth' };

export const statusOrg = (): OrgConfig =>
  orgSchema.parse({
    programs: [
      {
        id: 'payments',
        name: 'Payments',
        teams: [
          { id: 'checkout', name: 'Checkout', services: ['checkout-api'] },
          { id: 'ledger', name: 'Ledger', services: ['ledger-api'] },
        ],
      },
      { id: 'growth', name: 'Growth', teams: [{ id: 'web', name: 'Web' }] },
    ],
  });

export interface StatusScenario {
  store: Store;
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig };
}

const item = workItemMaker({ programOf: TEAM_PROGRAM, createdAt: '2026-10-01T09:00:00.000Z', updatedAt: '2026-10-01T09:00:00.000Z' });
const done = { status: 'Done', status_category: 'done' as const };

/** A milestone_forecasts row as a forecast run writes it, with the inputs its change sentence reads. */
function forecast(
  at: string,
  id: string,
  name: string,
  team: string,
  committed: string,
  f: { p50: string; p85: string; confidence: number; band: string; remaining: number; done: number; perWeek: number },
): object {
  const instant = at.replace('T', ' ').replace('Z', '');
  return {
    source: 'jira',
    milestone_id: id,
    name,
    program: TEAM_PROGRAM[team],
    team,
    as_of: instant,
    computed_at: instant,
    committed,
    p50: f.p50,
    p85: f.p85,
    p95: f.p85,
    confidence: f.confidence,
    band: f.band,
    method: 'throughput',
    ok: 1,
    reason: '',
    drivers: [],
    critical_path: [],
    inputs: JSON.stringify({
      asOf: at,
      committed,
      remainingItems: f.remaining,
      remainingPoints: null,
      doneItems: f.done,
      throughput: [f.perWeek, f.perWeek, f.perWeek, f.perWeek],
      throughputBasis: 'milestone',
      teams: [team],
      growth: [],
      blockers: [],
    }),
    trials: 1000,
    seed: 1,
    version: Date.parse(at) * 1000,
  };
}

/** Weekly values of program payments, W40 to W44: [metric, unit, five values oldest first]. */
function weekly(values: Array<[string, string, number[]]>): object[] {
  const weeks = ['2026-09-28', '2026-10-05', '2026-10-12', '2026-10-19', '2026-10-26'];
  return values.flatMap(([metric, unit, vs]) =>
    vs.map((value, i) => ({
      metric,
      scope_kind: 'program',
      scope_id: 'payments',
      period_kind: 'week',
      period_start: weeks[i],
      value,
      numerator: value,
      denominator: null,
      sample_size: 4,
      unit,
      definition_version: 1,
      computed_at: '2026-11-02 00:00:00.000',
      version: 1,
    })),
  );
}

/** Stores the scenario (see above) in a fresh store. */
export async function statusScenario(): Promise<StatusScenario> {
  const store = await testStore();
  await insertTables(store, {
    milestones: [
      milestoneRow('version/1', 'Checkout 2.0', 'checkout', 'payments', { start_date: '2026-09-01', committed_date: '2026-11-20' }),
      milestoneRow('version/2', 'Checkout 1.9', 'checkout', 'payments', {
        start_date: '2026-09-01',
        committed_date: '2026-10-30',
        state: 'done',
        raw_state: 'released',
        completed_at: '2026-10-29T00:00:00.000Z',
      }),
      milestoneRow('version/3', 'Ledger GA', 'ledger', 'payments', { start_date: '2026-09-01', committed_date: '2026-12-10' }),
      milestoneRow('epic/id-PAY-200', 'Wallet launch', 'checkout', 'payments', {
        start_date: '2026-09-01',
        committed_date: '2026-10-28',
        state: 'done',
        raw_state: 'Done',
        completed_at: '2026-10-30T16:00:00.000Z',
        url: 'https://acme.atlassian.net/browse/PAY-200',
      }),
    ],
    milestone_dates: [
      milestoneDateRow('version/1', '2026-09-01T00:00:00.000Z', '2026-11-20'),
      milestoneDateRow('version/2', '2026-09-01T00:00:00.000Z', '2026-10-30'),
      milestoneDateRow('version/3', '2026-09-01T00:00:00.000Z', '2026-12-10'),
      milestoneDateRow('epic/id-PAY-200', '2026-09-01T00:00:00.000Z', '2026-10-28'),
    ],
    milestone_forecasts: [
      forecast('2026-10-19T06:00:00.000Z', 'version/1', 'Checkout 2.0', 'checkout', '2026-11-20', {
        p50: '2026-11-13',
        p85: '2026-11-27',
        confidence: 0.55,
        band: 'at risk',
        remaining: 10,
        done: 20,
        perWeek: 4,
      }),
      forecast('2026-10-19T06:00:00.000Z', 'version/3', 'Ledger GA', 'ledger', '2026-12-10', {
        p50: '2026-11-25',
        p85: '2026-12-04',
        confidence: 0.9,
        band: 'on track',
        remaining: 8,
        done: 12,
        perWeek: 2,
      }),
      forecast('2026-10-30T06:00:00.000Z', 'version/1', 'Checkout 2.0', 'checkout', '2026-11-20', {
        p50: '2026-11-18',
        p85: '2026-12-04',
        confidence: 0.42,
        band: 'off track',
        remaining: 11,
        done: 23,
        perWeek: 3,
      }),
      forecast('2026-10-30T06:00:00.000Z', 'version/3', 'Ledger GA', 'ledger', '2026-12-10', {
        p50: '2026-11-25',
        p85: '2026-12-04',
        confidence: 0.9,
        band: 'on track',
        remaining: 8,
        done: 12,
        perWeek: 2,
      }),
    ],
    work_items: [
      item('PAY-100', 'epic', 'checkout', { ...done, summary: 'Saved cards', updated_at: '2026-10-28T15:00:00.000Z' }),
      item('PAY-200', 'epic', 'checkout', { ...done, summary: 'Wallet launch', updated_at: '2026-10-30T16:00:00.000Z' }),
      item('CHK-11', 'story', 'checkout', {
        ...done,
        summary: 'Retry declined payments',
        priority: 'High',
        priority_rank: 2,
        updated_at: '2026-10-27T10:00:00.000Z',
      }),
      item('CHK-12', 'task', 'checkout', { ...done, summary: 'Rotate API keys', updated_at: '2026-10-29T10:00:00.000Z' }),
      item('R-1', 'risk', 'checkout', { severity: 'High', assignee: '', summary: 'Card network certification may lapse' }),
      item('R-2', 'risk', 'ledger', {
        severity: 'High',
        assignee: 'lee',
        status: 'In Progress',
        status_category: 'in_progress',
        summary: 'Ledger migration needs a freeze window',
        created_at: '2026-10-20T09:00:00.000Z',
      }),
      item('R-3', 'risk', 'checkout', {
        severity: 'Medium',
        summary: 'Fraud vendor contract renewal',
        created_at: '2026-10-28T09:00:00.000Z',
      }),
      item('D-1', 'decision', 'checkout', { summary: 'Choose the 3-D Secure provider', created_at: '2026-10-19T09:00:00.000Z' }),
      item('A-1', 'action', 'ledger', { summary: 'Book the freeze window with operations', due_date: '2026-10-23' }),
      item('LED-5', 'task', 'ledger', {
        status: 'In Progress',
        status_category: 'in_progress',
        summary: 'Ledger posting API',
        updated_at: '2026-10-05T09:00:00.000Z',
      }),
      item('CHK-20', 'story', 'checkout', { summary: 'Post captured payments to the ledger' }),
      item('CHK-30', 'story', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        summary: 'Expose saved cards to other apps',
        updated_at: '2026-10-28T09:00:00.000Z',
      }),
      item('WEB-7', 'story', 'web', { summary: 'Show saved cards on the account page', assignee: 'sam' }),
      item('GRO-1', 'risk', 'web', {
        severity: 'Medium',
        assignee: '',
        summary: 'Sign-up funnel tracking gaps',
        created_at: '2026-10-05T09:00:00.000Z',
      }),
      item('GRO-2', 'risk', 'web', {
        severity: 'Low',
        assignee: 'sam',
        summary: 'Copy review backlog',
        created_at: '2026-10-08T09:00:00.000Z',
      }),
      item('GRO-3', 'risk', 'web', {
        severity: 'Low',
        assignee: 'sam',
        summary: 'A/B tool licence renewal',
        created_at: '2026-10-12T09:00:00.000Z',
      }),
    ],
    work_item_history: [
      historyRow('PAY-100', '2026-10-28T15:00:00.000Z', 'status', 'In Progress', 'Done'),
      historyRow('PAY-200', '2026-10-30T16:00:00.000Z', 'status', 'In Progress', 'Done'),
      historyRow('CHK-11', '2026-10-27T10:00:00.000Z', 'status', 'In Progress', 'Done'),
      historyRow('CHK-12', '2026-10-29T10:00:00.000Z', 'status', 'In Progress', 'Done'),
      historyRow('LED-5', '2026-10-05T09:00:00.000Z', 'status', 'To Do', 'In Progress'),
      historyRow('CHK-30', '2026-10-28T09:00:00.000Z', 'status', 'To Do', 'In Progress'),
    ],
    work_item_links: [
      blocksLinkRow('LED-5', 'CHK-20', '2026-10-05T09:00:00.000Z'),
      blocksLinkRow('CHK-30', 'WEB-7', '2026-10-28T09:00:00.000Z'),
    ],
    deployments: [
      deploymentRow({
        deployment_id: '9001',
        service: 'checkout-api',
        sha: 'a1',
        created_at: '2026-10-28T10:00:00.000Z',
        team: 'checkout',
        program: 'payments',
        url: 'https://github.com/acme/checkout-api/deployments/9001',
      }),
      deploymentRow({
        deployment_id: '9002',
        service: 'checkout-api',
        sha: 'a2',
        created_at: '2026-10-29T10:00:00.000Z',
        team: 'checkout',
        program: 'payments',
        url: 'https://github.com/acme/checkout-api/deployments/9002',
      }),
      deploymentRow({
        deployment_id: '9003',
        service: 'ledger-api',
        sha: 'b1',
        created_at: '2026-10-30T10:00:00.000Z',
        team: 'ledger',
        program: 'payments',
        url: 'https://github.com/acme/ledger-api/deployments/9003',
      }),
    ],
    deployment_facts: [
      ['9001', 'checkout-api', 'checkout', '2026-10-28 10:05:00.000'],
      ['9002', 'checkout-api', 'checkout', '2026-10-29 10:05:00.000'],
      ['9003', 'ledger-api', 'ledger', '2026-10-30 10:05:00.000'],
    ].map(([id, service, team, finished]) => ({
      source: 'github',
      deployment_id: id,
      repo: `acme/${service}`,
      service,
      environment: 'production',
      is_production: 1,
      sha: id,
      ref: 'main',
      result: 'success',
      raw_result: 'success',
      created_at: finished,
      started_at: finished,
      finished_at: finished,
      previous_deployment_id: '',
      is_rollback: 0,
      rolled_back_by: '',
      is_hotfix: 0,
      hotfix_rule: '',
      hotfix_for: '',
      commit_count: 1,
      team,
      program: 'payments',
      raw_event_id: 'e',
      linked_at: '2026-11-02 00:00:00.000',
      version: 1,
    })),
    incidents: [
      {
        source: 'pagerduty',
        incident_id: 'PINC101',
        number: '101',
        title: 'Checkout errors after deploy',
        service_id: 'PSVC1',
        service: 'checkout-api',
        urgency: 'high',
        severity: 'sev2',
        raw_severity: 'SEV-2',
        status: 'resolved',
        raw_status: 'resolved',
        created_at: '2026-10-29 11:00:00.000',
        acknowledged_at: '2026-10-29 11:05:00.000',
        resolved_at: '2026-10-29 13:00:00.000',
        description: '',
        team: 'checkout',
        program: 'payments',
        url: 'https://acme.pagerduty.com/incidents/PINC101',
        raw_event_id: 'e',
        version: 1,
      },
    ],
    incident_facts: [
      {
        source: 'pagerduty',
        incident_id: 'PINC101',
        number: '101',
        title: 'Checkout errors after deploy',
        service: 'checkout-api',
        urgency: 'high',
        severity: 'sev2',
        status: 'resolved',
        created_at: '2026-10-29 11:00:00.000',
        acknowledged_at: '2026-10-29 11:05:00.000',
        resolved_at: '2026-10-29 13:00:00.000',
        team: 'checkout',
        program: 'payments',
        raw_event_id: 'e',
        linked_at: '2026-11-02 00:00:00.000',
        version: 1,
      },
    ],
    incident_deployments: [
      {
        incident_source: 'pagerduty',
        incident_id: 'PINC101',
        deployment_source: 'github',
        deployment_id: '9002',
        service: 'checkout-api',
        method: 'explicit',
        rule: 'deployment_id',
        evidence: 'the incident names deployment 9002',
        linked_at: '2026-11-02 00:00:00.000',
        version: 1,
      },
    ],
    risk_signals: [
      {
        scope_kind: 'program',
        scope_id: 'payments',
        indicator: 'change_failure_rate',
        week_start: '2026-10-26',
        observed: 0.33,
        expected: 0.05,
        lower: 0,
        upper: 0.15,
        score: 4.2,
        active: 1,
        method: 'robust_z',
        history_weeks: 12,
        explanation:
          'Change failure rate for program payments was 33% in the week of 2026-10-26, against 5% expected (band 0% to 15%) from the previous 12 weeks.',
        computed_at: '2026-11-02 00:00:00.000',
        version: 1,
      },
    ],
    metric_values: weekly([
      ['change_failure_rate', 'ratio', [0.05, 0.1, 0, 0.05, 0.33]],
      ['deployment_frequency', 'count', [2, 3, 2, 3, 3]],
      ['change_lead_time_p50', 'hours', [30, 28, 32, 30, 24]],
    ]),
  });
  const metrics = { ...defaultMetricsConfig(), timeZone: 'UTC' };
  return { store, config: { model: defaultModel(), metrics, org: statusOrg() } };
}

/** A program's report in a scenario, for the last whole week before `until` (default STATUS_NOW) unless a week is given. */
export const scenarioReport = (
  s: Pick<StatusScenario, 'store' | 'config'>,
  program = 'payments',
  until: Date = STATUS_NOW,
  week = lastWholeWeek(until, 'UTC'),
): Promise<StatusReport> => statusReport({ store: s.store, config: s.config, program, week, until });

/** The instant week 2026-W44 ends, the report's instant: Monday 2026-11-02 00:00 UTC. */
export const STATUS_WEEK_END = new Date('2026-11-02T00:00:00Z');

/** Production deployments of checkout-api per week before W44, from W34 (2026-08-17) to W43: about ten a week. */
export const CHECKOUT_HISTORY: ReadonlyArray<[string, number]> = [
  ['2026-08-18', 9],
  ['2026-08-25', 11],
  ['2026-09-01', 10],
  ['2026-09-08', 12],
  ['2026-09-15', 9],
  ['2026-09-22', 11],
  ['2026-09-29', 10],
  ['2026-10-06', 12],
  ['2026-10-13', 9],
  ['2026-10-20', 11],
];

/**
 * The scenario of statusScenario as the quick start leaves it: nothing stored by the week's end, every
 * metric and risk signal computed by one full metrics run on 11-04 09:00 (STATUS_NOW), after it. Its
 * hand-written weekly values and signal are gone; checkout-api deployed about ten times a week from W34
 * to W43 (CHECKOUT_HISTORY) and three times in W44 with ledger-api, so the week's production deployment
 * count is far below its baseline for the program and for team checkout.
 */
export async function statusScenarioComputedLater(): Promise<StatusScenario> {
  const s = await statusScenario();
  for (const table of ['metric_values', 'metric_value_history', 'risk_signals', 'risk_scores'])
    await s.store.client.command({ query: `TRUNCATE TABLE ${table}` });
  const deployments = CHECKOUT_HISTORY.flatMap(([day, n]) =>
    Array.from({ length: n }, (_, i) => ({ id: `h-${day}-${i}`, at: `${day}T${String(8 + i).padStart(2, '0')}:00:00.000Z` })),
  );
  await insertTables(s.store, {
    deployments: deployments.map((d) =>
      deploymentRow({
        deployment_id: d.id,
        service: 'checkout-api',
        sha: d.id,
        created_at: d.at,
        team: 'checkout',
        program: 'payments',
        url: `https://github.com/acme/checkout-api/deployments/${d.id}`,
      }),
    ),
    deployment_facts: deployments.map((d) => {
      const at = d.at.replace('T', ' ').replace('Z', '');
      return {
        source: 'github',
        deployment_id: d.id,
        repo: 'acme/checkout-api',
        service: 'checkout-api',
        environment: 'production',
        is_production: 1,
        sha: d.id,
        ref: 'main',
        result: 'success',
        raw_result: 'success',
        created_at: at,
        started_at: at,
        finished_at: at,
        previous_deployment_id: '',
        is_rollback: 0,
        rolled_back_by: '',
        is_hotfix: 0,
        hotfix_rule: '',
        hotfix_for: '',
        commit_count: 1,
        team: 'checkout',
        program: 'payments',
        raw_event_id: 'e',
        linked_at: at,
        version: 1,
      };
    }),
  });
  await runMetricsJob({ store: s.store, config: s.config, run: { mode: 'full' }, now: STATUS_NOW });
  return s;
}
