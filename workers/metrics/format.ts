/**
 * Metric values in their units, for reading: the monthly report, `ptel metrics show` and `ptel metrics
 * explain` all write a value this way (ratios as percentages, long hour spans in days, per-week rates with
 * one decimal, counts as whole numbers).
 */

const trimmed = (v: number, digits: number): string => String(Number(v.toFixed(digits)));

export interface FormatOptions {
  /**
   * Keep the trailing zeros of the decimals (40.0%, 3.0 d), so the values of a column line up; by default
   * they are dropped (40%, 3 d), as prose reads them.
   */
  fixed?: boolean;
}

/** A value in its unit; a missing value is '—'. One decimal, or two below 1 (so 0.04 h does not read as 0 h). */
export function formatValue(unit: string, v: number | null, options: FormatOptions = {}): string {
  if (v === null) return '—';
  const short = (x: number): string => {
    const digits = Math.abs(x) < 1 && x !== 0 ? 2 : 1;
    return options.fixed === true ? x.toFixed(digits) : trimmed(x, digits);
  };
  switch (unit) {
    case 'ratio':
      return `${short(v * 100)}%`;
    case 'percent':
      return `${short(v)}%`;
    case 'hours':
      return Math.abs(v) >= 48 ? `${short(v / 24)} d` : `${short(v)} h`;
    case 'days':
      return `${short(v)} d`;
    case 'per_week':
      return `${short(v)}/wk`;
    case 'count':
      return Number.isInteger(v) || options.fixed !== true ? trimmed(v, 2) : v.toFixed(2);
    default:
      return trimmed(v, 2);
  }
}

/** A change in the value's unit with its sign; a ratio's change in percentage points; one too small to show as '<0.01'. */
export function formatChange(unit: string, change: number): string {
  const sign = change > 0 ? '+' : change < 0 ? '−' : '±';
  const size = Math.abs(change);
  const text = unit === 'ratio' ? `${trimmed(size * 100, size * 100 < 1 ? 2 : 1)} pp` : formatValue(unit, size);
  return `${sign}${change !== 0 && Number.parseFloat(text) === 0 ? text.replace(/^[\d.]+/, '<0.01') : text}`;
}

/** What a ratio metric divides, in words: '{n} failed of {d} production deployments'. */
const RATIO_TERMS: Record<string, { of: (n: string, d: string) => string }> = {
  change_failure_rate: { of: (n, d) => `${n} failed of ${d} production deployments` },
  deployment_rework_rate: { of: (n, d) => `${n} hotfix deployments of ${d} production deployments` },
  deployments_per_week: { of: (n, d) => `${n} successful production deployments over ${d} weeks` },
  defect_escape_rate: { of: (n, d) => `${n} found in production of ${d} bugs found` },
  ci_success_rate: { of: (n, d) => `${n} passed of ${d} passed or failed runs` },
  ci_flaky_rate: { of: (n, d) => `${n} flaky of ${d} jobs run per commit` },
  milestone_on_time_rate_original: { of: (n, d) => `${n} on time of ${d} completed milestones` },
  milestone_on_time_rate_latest: { of: (n, d) => `${n} on time of ${d} completed milestones` },
  replan_frequency: { of: (n, d) => `${n} re-plans over ${d} milestone-months` },
  scope_change_rate_count: { of: (n, d) => `${n} items added or removed of ${d} committed` },
  scope_change_rate_points: { of: (n, d) => `${n} points added or removed of ${d} committed` },
  high_risks_mitigated_share: { of: (n, d) => `${n} mitigated of ${d} high risks live in the period` },
  release_critical_decisions_on_time: { of: (n, d) => `${n} made within the target of ${d} release-critical decisions` },
  action_item_closure_rate: { of: (n, d) => `${n} closed by their due date of ${d} action items due` },
  flow_efficiency: { of: (n, d) => `${n} h active of ${d} h cycle time` },
};

/** A number as arithmetic shows it: whole numbers as they are, others with up to two decimals. */
export const plainNumber = (v: number): string => String(Number(v.toFixed(2)));

/** The words of an aggregate over how many values: 'median of 7 values', 'p90 of 12 values', 'mean of 3 values'. */
function statistic(aggregate: { kind: 'quantile'; q: number } | { kind: 'mean' }, n: number): string {
  const name = aggregate.kind === 'mean' ? 'mean' : aggregate.q === 0.5 ? 'median' : `p${Math.round(aggregate.q * 100)}`;
  return `${name} of ${n} ${n === 1 ? 'value' : 'values'}`;
}

/**
 * A value restated with its arithmetic, for `metrics explain`: '40.0% = 4 failed of 10 production
 * deployments', 'median of 7 values: 12.5 h', '3 = 3 units counted'.
 */
export function arithmeticText(
  metric: { id: string; unit: string },
  a: {
    aggregate: { kind: 'count' } | { kind: 'distinct' } | { kind: 'ratio' } | { kind: 'quantile'; q: number } | { kind: 'mean' };
    value: number | null;
    units: number;
    numerator: number | null;
    denominator: number | null;
    values: number[];
    distinct: number | null;
  },
): string {
  const shown = formatValue(metric.unit, a.value, { fixed: true });
  switch (a.aggregate.kind) {
    case 'ratio': {
      const n = plainNumber(a.numerator ?? 0);
      const d = plainNumber(a.denominator ?? 0);
      const terms = RATIO_TERMS[metric.id]?.of(n, d) ?? `${n} of ${d} (the sums of the units' numerators and denominators)`;
      return a.value === null ? `no value: ${terms}` : `${shown} = ${terms}`;
    }
    case 'quantile':
    case 'mean':
      return a.value === null ? `no value: none of the ${a.units} units has one` : `${statistic(a.aggregate, a.values.length)}: ${shown}`;
    case 'count':
      return `${shown} = ${a.units === (a.numerator ?? 0) ? `${a.units} ${a.units === 1 ? 'unit' : 'units'} counted` : `the sum over ${a.units} units`}`;
    case 'distinct':
      return `${shown} = ${a.distinct ?? 0} different of ${a.units} units`;
  }
}
