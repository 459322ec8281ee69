import type { MetricsConfig, ModelConfig, OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { metricById } from '../metrics/definitions/index.js';
import type { Clock } from '../../infra/clock.js';
import { explainMetric, instantParam, metricParams, scopesOf } from '../metrics/engine.js';
import type { ScopeKind } from '../metrics/types.js';
import { matchesScope, type KpiRow, type ScopeFilter } from './kpis.js';
import { addMonths, monthStart, type Month } from './month.js';

/** A scope of the export with the name the org mapping gives it. */
export interface ScopeInfo {
  kind: ScopeKind;
  id: string;
  name: string;
  /** A team's program. */
  program?: string;
}

/** An active risk signal: what was seen against what its baseline expected, [lower, upper] the band it left. */
export interface RiskSignal {
  indicator: string;
  week_start: string;
  observed: number;
  expected: number;
  band: [number, number];
  score: number;
  explanation: string;
}

export interface RiskScore {
  week_start: string;
  score: number;
  active_signals: number;
  top_indicator: string;
}

export interface Stall {
  item: string;
  detail: string;
}

export interface LinkedDeployment {
  source: string;
  id: string;
  method: string;
  rule: string;
  service: string;
  sha: string;
  ref: string;
  finished_at: string | null;
}

export interface Incident {
  source: string;
  id: string;
  number: string;
  title: string;
  service: string;
  severity: string;
  urgency: string;
  /** Times are in the metrics' time zone. */
  created_at: string;
  resolved_at: string | null;
  /** Hours from its start to its resolution, or to the month's end while it was still open then. */
  duration_hours: number;
  open_at_month_end: boolean;
  deployments: LinkedDeployment[];
}

/** What the report shows of one program or team (or the whole org) besides its KPI rows. */
export interface ScopeReport {
  scope: ScopeInfo;
  risks: RiskSignal[];
  riskScores: RiskScore[];
  /** The units of dependency_stalls for the month: the links stalled at its end (empty when the stored count is 0). */
  stalls: Stall[];
  incidents: Incident[];
}

/** The most of each list the report shows per scope. */
export const REPORT_LIMITS = { risks: 5, incidents: 10 } as const;

/** The scope kinds that get a section in report.html. */
export const REPORT_KINDS: readonly ScopeKind[] = ['org', 'program', 'team'];

/** Every scope with exported rows, named from the org mapping; org first, then each program followed by its teams. */
export function describeScopes(rows: readonly KpiRow[], org: OrgConfig): ScopeInfo[] {
  const names = new Map<string, ScopeInfo>([['org:org', { kind: 'org', id: 'org', name: 'Organisation' }]]);
  const mapped: string[] = ['org:org'];
  for (const p of org.programs) {
    names.set(`program:${p.id}`, { kind: 'program', id: p.id, name: p.name });
    mapped.push(`program:${p.id}`);
    for (const t of p.teams) {
      names.set(`team:${t.id}`, { kind: 'team', id: t.id, name: t.name, program: p.id });
      mapped.push(`team:${t.id}`);
    }
  }
  const present = new Map<string, ScopeInfo>();
  for (const r of rows) {
    const k = `${r.scope_kind}:${r.scope_id}`;
    if (!present.has(k)) present.set(k, names.get(k) ?? { kind: r.scope_kind, id: r.scope_id, name: r.scope_id });
  }
  const rank = (s: ScopeInfo): number => {
    const i = mapped.indexOf(`${s.kind}:${s.id}`);
    return i < 0 ? mapped.length : i;
  };
  // Rows come sorted by kind and id: a stable sort keeps that order for scopes the mapping does not name.
  return [...present.values()].sort((a, b) => (REPORT_KINDS.includes(a.kind) && REPORT_KINDS.includes(b.kind) ? rank(a) - rank(b) : 0));
}

/** The month's bounds as instants in the metrics' time zone, as query parameters. */
const monthRange = (month: Month) => ({ from_day: monthStart(month), to_day: monthStart(addMonths(month, 1)) });

async function rows<T>(store: Store, query: string, params: Record<string, unknown>): Promise<T[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/**
 * The rows of a versioned table (a ReplacingMergeTree with version and is_deleted) matching `where`: as
 * they are now (FINAL), or with `asOf` as recorded at that instant: per key, the highest version stamped
 * (`stamp`) at or before {as_of:DateTime64(3)}, unless that one is a deletion. These tables keep no
 * history of their own: a version replaced after the instant is read only while the merges have not yet
 * dropped it, so a row rewritten since may be missing from an as-of read, never shown with later content.
 */
function versionedRows(table: string, key: string, stamp: string, where: string, asOf: Date | undefined): string {
  if (asOf === undefined) return `(SELECT * FROM ${table} FINAL WHERE ${where})`;
  return `(SELECT * FROM
           (SELECT * FROM ${table} WHERE ${stamp} <= {as_of:DateTime64(3)} AND (${where}) ORDER BY version DESC LIMIT 1 BY ${key})
           WHERE is_deleted = 0)`;
}

/** The query parameter of an as-of instant, when there is one. */
const asOfParam = (asOf: Date | undefined): Record<string, unknown> => (asOf === undefined ? {} : { as_of: instantParam(asOf) });

/** Risk signals active in a week that starts in the month, per scope, strongest first (as computed by `asOf`, when given). */
async function riskSignals(store: Store, month: Month, asOf: Date | undefined): Promise<Map<string, RiskSignal[]>> {
  const source = versionedRows(
    'risk_signals',
    'scope_kind, scope_id, indicator, week_start',
    'computed_at',
    'week_start >= {from_day:Date} AND week_start < {to_day:Date}',
    asOf,
  );
  const found = await rows<RiskSignal & { scope: string }>(
    store,
    `SELECT concat(scope_kind, ':', scope_id) AS scope, indicator, toString(week_start) AS week_start, observed, expected,
            [lower, upper] AS band, score, explanation
     FROM ${source}
     WHERE active = 1
     ORDER BY scope, abs(score) DESC, week_start, indicator`,
    { ...monthRange(month), ...asOfParam(asOf) },
  );
  return byScope(found);
}

async function riskScores(store: Store, month: Month, asOf: Date | undefined): Promise<Map<string, RiskScore[]>> {
  const source = versionedRows(
    'risk_scores',
    'scope_kind, scope_id, week_start',
    'computed_at',
    'week_start >= {from_day:Date} AND week_start < {to_day:Date}',
    asOf,
  );
  const found = await rows<RiskScore & { scope: string }>(
    store,
    `SELECT concat(scope_kind, ':', scope_id) AS scope, toString(week_start) AS week_start, score, active_signals, top_indicator
     FROM ${source}
     ORDER BY scope, week_start`,
    { ...monthRange(month), ...asOfParam(asOf) },
  );
  return byScope(found);
}

const SEVERITY_RANK = "if(match(i.severity, '^sev[1-5]$'), toUInt8(substring(i.severity, 4, 1)), 9)";

/**
 * The incidents that started in the month, with the deployments the linker attributed them to. With
 * `asOf`: only incidents created by then, a resolution after it not yet known (the incident is open, its
 * duration runs to the instant or the month's end, whichever is first), and the links and deployment
 * facts as the linker had recorded them by then (linked_at). An incident's own fields (title, severity,
 * service) are its latest: incident_facts keeps no history.
 */
async function incidents(
  store: Store,
  month: Month,
  tz: string,
  asOf: Date | undefined,
): Promise<Array<Incident & { team: string; program: string }>> {
  const facts =
    asOf === undefined
      ? 'incident_facts AS i FINAL'
      : `(SELECT * REPLACE (if(resolved_at > {as_of:DateTime64(3)}, NULL, resolved_at) AS resolved_at)
          FROM incident_facts FINAL WHERE created_at <= {as_of:DateTime64(3)}) AS i`;
  const links = versionedRows(
    'incident_deployments',
    'incident_source, incident_id, deployment_source, deployment_id',
    'linked_at',
    "deployment_id != ''",
    asOf,
  );
  const deployments =
    asOf === undefined
      ? '(SELECT source, deployment_id, service, sha, ref, finished_at FROM deployment_facts FINAL)'
      : `(SELECT source, deployment_id, service, sha, ref, if(finished_at > {as_of:DateTime64(3)}, NULL, finished_at) AS finished_at
          FROM ${versionedRows('deployment_facts', 'source, deployment_id', 'linked_at', '1', asOf)})`;
  // What is known runs to the month's end, or to the as-of instant when that comes first.
  const known = asOf === undefined ? 't1' : 'least(t1, {as_of:DateTime64(3)})';
  const found = await rows<
    Omit<Incident, 'deployments' | 'open_at_month_end'> & {
      team: string;
      program: string;
      open_at_month_end: number;
      links: Array<[string, string, string, string, string, string, string, string | null]>;
    }
  >(
    store,
    `WITH toDateTime64(toDate({from_day:String}), 3, {tz:String}) AS t0, toDateTime64(toDate({to_day:String}), 3, {tz:String}) AS t1
     SELECT i.source AS source, i.incident_id AS id, i.number AS number, i.title AS title, i.service AS service, i.severity AS severity,
            i.urgency AS urgency, i.team AS team, i.program AS program, toString(toTimeZone(i.created_at, {tz:String})) AS created_at,
            if(i.resolved_at IS NULL, NULL, toString(toTimeZone(assumeNotNull(i.resolved_at), {tz:String}))) AS resolved_at,
            dateDiff('millisecond', i.created_at, if(i.resolved_at IS NULL OR i.resolved_at > ${known}, ${known}, assumeNotNull(i.resolved_at))) / 3600000.0 AS duration_hours,
            i.resolved_at IS NULL OR i.resolved_at > t1 AS open_at_month_end,
            ifNull(l.links, []) AS links
     FROM ${facts}
     LEFT JOIN
     (
         SELECT d.incident_source AS incident_source, d.incident_id AS incident_id,
                groupArray((d.deployment_source, d.deployment_id, d.method, d.rule, f.service, f.sha, f.ref,
                            if(f.finished_at IS NULL, NULL, toString(toTimeZone(assumeNotNull(f.finished_at), {tz:String}))))) AS links
         FROM ${links} AS d
         LEFT JOIN ${deployments} AS f
             ON f.source = d.deployment_source AND f.deployment_id = d.deployment_id
         GROUP BY d.incident_source, d.incident_id
     ) AS l ON l.incident_source = i.source AND l.incident_id = i.incident_id
     WHERE i.created_at >= t0 AND i.created_at < t1
     ORDER BY ${SEVERITY_RANK}, duration_hours DESC, i.created_at, i.incident_id
     SETTINGS join_use_nulls = 1`,
    { ...monthRange(month), tz, ...asOfParam(asOf) },
  );
  return found.map(({ links, ...i }) => ({
    ...i,
    duration_hours: Number(i.duration_hours),
    open_at_month_end: Boolean(Number(i.open_at_month_end)),
    deployments: links.map(([source, id, method, rule, service, sha, ref, finished]) => ({
      source,
      id,
      method,
      rule,
      service: service ?? '',
      sha: sha ?? '',
      ref: ref ?? '',
      finished_at: finished ?? null,
    })),
  }));
}

/** Rows grouped by their `scope` column ('kind:id'). */
function byScope<T extends { scope: string }>(list: T[]): Map<string, Array<Omit<T, 'scope'>>> {
  const out = new Map<string, Array<Omit<T, 'scope'>>>();
  for (const { scope, ...rest } of list) {
    const group = out.get(scope) ?? [];
    group.push(rest);
    out.set(scope, group);
  }
  return out;
}

/**
 * What the report shows per org, program and team besides the KPIs: the month's active risk signals and
 * weekly risk scores, the links stalled at the month's end (the units behind the stored dependency_stalls
 * value, read only where that value is above 0), and the incidents that started in the month. With
 * `asOf`, each list as the store held it at that instant: nothing computed, linked or dated after it.
 */
export async function reportData(options: {
  store: Store;
  month: Month;
  scopes: readonly ScopeInfo[];
  rows: readonly KpiRow[];
  filters: readonly ScopeFilter[];
  config: { model: ModelConfig; metrics: MetricsConfig; org: OrgConfig };
  /** The instant the lists are read at; default: as the store holds them now. */
  asOf?: Date;
  /** Where now comes from when there is no `asOf` (the stalls are evaluated at it); default the system clock. */
  clock?: Clock;
}): Promise<ScopeReport[]> {
  const { store, month, config, asOf } = options;
  const shown = options.scopes.filter((s) => REPORT_KINDS.includes(s.kind) && matchesScope(options.filters, s.kind, s.id));
  const [risks, scores, started] = await Promise.all([
    riskSignals(store, month, asOf),
    riskScores(store, month, asOf),
    incidents(store, month, config.metrics.timeZone, asOf),
  ]);
  // The stalled links of the whole org, read once; each scope takes its own.
  const stalledIn = (kind: string, id: string): boolean =>
    (options.rows.find((r) => r.scope_kind === kind && r.scope_id === id && r.metric === 'dependency_stalls')?.value ?? 0) > 0;
  const stallDef = metricById('dependency_stalls');
  const allStalls =
    stallDef !== undefined && shown.some((s) => stalledIn(s.kind, s.id))
      ? await explainMetric({
          store,
          definition: stallDef,
          params: metricParams(config),
          scope: { kind: 'org', id: 'org' },
          period: { kind: 'month', start: monthStart(month) },
          scopes: scopesOf(config.org),
          ...(asOf !== undefined ? { asOf } : {}),
          ...(options.clock !== undefined ? { clock: options.clock } : {}),
        })
      : [];
  const out: ScopeReport[] = [];
  for (const scope of shown) {
    const key = `${scope.kind}:${scope.id}`;
    const stalls = !stalledIn(scope.kind, scope.id)
      ? []
      : allStalls.filter((s) => scope.kind === 'org' || (scope.kind === 'program' ? s.program === scope.id : s.team === scope.id));
    out.push({
      scope,
      risks: (risks.get(key) ?? []).slice(0, REPORT_LIMITS.risks),
      riskScores: scores.get(key) ?? [],
      stalls: stalls.map((s) => ({ item: s.item, detail: s.detail })),
      incidents: started
        .filter((i) => scope.kind === 'org' || (scope.kind === 'program' ? i.program === scope.id : i.team === scope.id))
        .slice(0, REPORT_LIMITS.incidents)
        .map(({ team: _team, program: _program, ...i }) => i),
    });
  }
  return out;
}
