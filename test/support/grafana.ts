/**
 * What the Grafana ClickHouse data source does to a panel's SQL before it reaches the server: its macros
 * and the dashboard's variables, expanded the way the plugin (v4) expands them, so a test can run every
 * panel query against a real engine.
 */
export interface GrafanaRange {
  from: Date;
  to: Date;
  /** The panel's interval in seconds (Grafana derives it from the range and the panel's width). */
  intervalSeconds: number;
}

/** A variable's current value; '' is the "All" value the ptel dashboards use. */
export type Variables = Record<string, string>;

const seconds = (d: Date): number => Math.floor(d.getTime() / 1000);
const day = (d: Date): string => d.toISOString().slice(0, 10);

/** Splits a macro's argument list at top-level commas. */
function args(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  out.push(cur.trim());
  return out;
}

/** Replaces each `$__name(args)` call, with balanced parentheses in the arguments. */
function replaceCalls(sql: string, name: string, fn: (a: string[]) => string): string {
  let out = '';
  let i = 0;
  const token = `$__${name}(`;
  for (;;) {
    const at = sql.indexOf(token, i);
    if (at < 0) return out + sql.slice(i);
    let depth = 1;
    let j = at + token.length;
    for (; j < sql.length && depth > 0; j++) {
      if (sql[j] === '(') depth++;
      if (sql[j] === ')') depth--;
    }
    out += sql.slice(i, at) + fn(args(sql.slice(at + token.length, j - 1)));
    i = j;
  }
}

export function expandVariables(sql: string, vars: Variables): string {
  return sql.replace(
    /\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g,
    (whole, braced: string | undefined, format: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare!;
      if (name.startsWith('__')) return whole;
      const value = vars[name];
      if (value === undefined) throw new Error(`the query names variable $${name}, which the dashboard does not define`);
      return format === 'singlequote' ? `'${value.replaceAll("'", "\\'")}'` : value;
    },
  );
}

export function expandMacros(sql: string, range: GrafanaRange, vars: Variables = {}): string {
  const from = seconds(range.from);
  const to = seconds(range.to);
  let s = expandVariables(sql, vars);
  s = replaceCalls(
    s,
    'timeFilter_ms',
    ([c]) => `${c} >= fromUnixTimestamp64Milli(${range.from.getTime()}) AND ${c} <= fromUnixTimestamp64Milli(${range.to.getTime()})`,
  );
  s = replaceCalls(s, 'timeFilter', ([c]) => `${c} >= toDateTime(${from}) AND ${c} <= toDateTime(${to})`);
  s = replaceCalls(s, 'dateFilter', ([c]) => `${c} >= toDate('${day(range.from)}') AND ${c} <= toDate('${day(range.to)}')`);
  s = replaceCalls(
    s,
    'timeInterval_ms',
    ([c]) => `toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${range.intervalSeconds * 1000} millisecond)`,
  );
  s = replaceCalls(s, 'timeInterval', ([c]) => `toStartOfInterval(toDateTime(${c}), INTERVAL ${range.intervalSeconds} second)`);
  s = replaceCalls(s, 'conditionalAll', ([cond, v]) => (v === undefined || v === '' || v === "''" ? '1=1' : cond!));
  return s
    .replaceAll('$__fromTime_ms', `fromUnixTimestamp64Milli(${range.from.getTime()})`)
    .replaceAll('$__toTime_ms', `fromUnixTimestamp64Milli(${range.to.getTime()})`)
    .replaceAll('$__fromTime', `toDateTime(${from})`)
    .replaceAll('$__toTime', `toDateTime(${to})`)
    .replaceAll('$__interval_s', String(range.intervalSeconds));
}
