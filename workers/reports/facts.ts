import type { MetricsConfig, ModelConfig, OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { OUTCOME_READINGS, READINESS_CHECKS } from '../metrics/definitions/program-facts.js';
import { addDays, instantParam, metricParams, type Day } from '../metrics/engine.js';

/**
 * What the weekly status report tells of a program's facts from outside the trackers, as the store held
 * them at the report's instant: the readiness of each release whose go/no-go falls in the week or in the
 * READINESS_AHEAD_DAYS after it, and where each outcome target stands against its latest actual. The
 * checks and readings are the ones the metrics count (release_readiness_pass_rate, outcome_attainment_rate).
 */

/** How far past the report's week a go/no-go is shown: readiness is read before the date, not after. */
export const READINESS_AHEAD_DAYS = 14;

export interface ReleaseReadiness {
  release: string;
  goNoGo: Day;
  checks: Array<{ check: string; status: 'pass' | 'fail' | 'waived'; rationale: string }>;
}

export interface OutcomeReading {
  outcome: string;
  target: number;
  direction: 'at_least' | 'at_most';
  due: Day;
  unit: string;
  revisions: number;
  /** Every revision gave its rationale. */
  explained: boolean;
  /** The targets it had, oldest first, as the metric's detail says them. */
  history: string;
  actual: number | null;
  observedAt: string | null;
}

export interface ProgramFactsReading {
  readiness: ReleaseReadiness[];
  outcomes: OutcomeReading[];
}

export async function programFactsAt(
  store: Store,
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig },
  at: Date,
  program: string,
  week: { first: Day },
): Promise<ProgramFactsReading> {
  const params = {
    ...metricParams(config),
    as_of: instantParam(at),
    program,
    first: week.first,
    until: addDays(week.first, 7 + READINESS_AHEAD_DAYS),
  };
  const query = async <T>(sql: string): Promise<T[]> =>
    (await store.client.query({ query: sql, query_params: params, format: 'JSONEachRow' })).json<T>();
  const [releases, outcomes] = await Promise.all([
    query<{ release: string; go_no_go: string; checks: Array<[string, string, string]> }>(
      `SELECT c.release_name AS release, toString(c.go_no_go) AS go_no_go,
              arraySort(x -> (x.2 = 'pass', x.1), groupArray((c.check_name, c.status, c.rationale))) AS checks
       FROM (${READINESS_CHECKS}) AS c
       WHERE c.program = {program:String} AND c.go_no_go >= toDate({first:String}) AND c.go_no_go < toDate({until:String})
       GROUP BY c.release_name, c.go_no_go
       ORDER BY c.go_no_go, c.release_name`,
    ),
    query<{
      outcome: string;
      target: number;
      direction: string;
      due: string;
      unit: string;
      revisions: number | string;
      explained: number | boolean;
      history: string;
      actual: number | null;
      observed_at: string | null;
    }>(
      `SELECT o.outcome AS outcome, o.target AS target, o.direction AS direction, toString(o.due) AS due, o.unit AS unit,
              o.revisions AS revisions, o.explained AS explained, o.history AS history, o.actual AS actual,
              if(o.observed_at IS NULL, NULL, toString(o.observed_at)) AS observed_at
       FROM (${OUTCOME_READINGS}) AS o
       WHERE o.program = {program:String}
       ORDER BY o.due, o.outcome`,
    ),
  ]);
  return {
    readiness: releases.map((r) => ({
      release: r.release,
      goNoGo: r.go_no_go,
      checks: r.checks.map(([check, status, rationale]) => ({ check, status: status as 'pass' | 'fail' | 'waived', rationale })),
    })),
    outcomes: outcomes.map((o) => ({
      outcome: o.outcome,
      target: Number(o.target),
      direction: o.direction === 'at_most' ? 'at_most' : 'at_least',
      due: o.due,
      unit: o.unit,
      revisions: Number(o.revisions),
      explained: Number(o.explained) === 1 || o.explained === true,
      history: o.history,
      actual: o.actual === null ? null : Number(o.actual),
      observedAt: o.observed_at,
    })),
  };
}

/** Whether a reading meets its target. */
export const meets = (o: Pick<OutcomeReading, 'actual' | 'target' | 'direction'>): boolean =>
  o.actual !== null && (o.direction === 'at_most' ? o.actual <= o.target : o.actual >= o.target);

/** A release's readiness in a sentence: '4 of 6 checks passed; failed: Load test; waived: Security review (covered by ...)'. */
export function readinessText(r: ReleaseReadiness, past: boolean): string {
  const by = (status: string) => r.checks.filter((c) => c.status === status);
  const failed = by('fail');
  const waived = by('waived');
  const parts = [`go/no-go ${r.goNoGo}${past ? '' : ' (ahead)'}: ${by('pass').length} of ${r.checks.length} checks passed`];
  if (failed.length > 0) parts.push(`${past ? 'failed' : 'not passed yet'}: ${failed.map((c) => c.check).join(', ')}`);
  if (waived.length > 0) parts.push(`waived: ${waived.map((c) => `${c.check} (${c.rationale})`).join(', ')}`);
  return parts.join('; ');
}

/** An outcome against its target in a sentence, with its due date and whether the due date has passed. */
export function outcomeText(o: OutcomeReading, today: Day): string {
  const unit = o.unit === '' ? '' : ` ${o.unit}`;
  const target = `${o.direction === 'at_most' ? 'at most' : 'at least'} ${o.target}${unit} by ${o.due}`;
  const actual = o.actual === null ? 'no actual yet' : `actual ${o.actual}${unit} on ${(o.observedAt ?? '').slice(0, 10)}`;
  const due = o.due < today;
  const standing = meets(o)
    ? due
      ? 'met'
      : 'on target'
    : due
      ? o.revisions > 0 && o.explained
        ? 'missed, revised with a rationale'
        : 'missed'
      : 'not on target yet';
  const revised = o.revisions === 0 ? '' : `; revised ${o.revisions === 1 ? 'once' : `${o.revisions} times`}: ${o.history}`;
  return `${standing}: ${actual} against ${target}${revised}`;
}
