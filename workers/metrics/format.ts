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
