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

/** A panel's field configuration as a dashboard's JSON holds it: defaults, and overrides by field name. */
export interface FieldConfig {
  defaults: Record<string, unknown>;
  overrides: Array<{ matcher: { id: string; options?: unknown }; properties: Array<{ id: string; value?: unknown }> }>;
}

/** A Grafana data link: where a click on a value goes. */
export interface DataLink {
  title: string;
  url: string;
  targetBlank?: boolean;
}

/**
 * The value of a field config property for one field as Grafana resolves it: the last override that
 * matches the field by name and sets the property, else the defaults' (a property id such as
 * 'custom.hidden' names a nested default).
 */
export function fieldProperty(config: FieldConfig, field: string, id: string): unknown {
  let value: unknown = id.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config.defaults);
  for (const o of config.overrides) {
    if (o.matcher.id !== 'byName' || o.matcher.options !== field) continue;
    for (const p of o.properties) if (p.id === id) value = p.value;
  }
  return value;
}

/** Every data link of a panel: the defaults' and every override's. */
export function panelLinks(config: FieldConfig): DataLink[] {
  const own = (config.defaults['links'] as DataLink[] | undefined) ?? [];
  return [...own, ...config.overrides.flatMap((o) => o.properties.filter((p) => p.id === 'links').flatMap((p) => p.value as DataLink[]))];
}

/** The dashboard uid a link opens (`/d/UID/...`), or undefined for a link out of Grafana. */
export function linkedDashboard(url: string): string | undefined {
  return /^\/d\/([^/?]+)/.exec(url)?.[1];
}
