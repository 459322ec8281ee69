import { createHash } from 'node:crypto';
import type { ModelConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';

/**
 * What changed in the linker's inputs since its last run. Two fingerprints per input: the active parts
 * of each domain table (names and file hashes, a few milliseconds to read: parts are immutable, so the
 * same parts mean the same rows), and, when the parts differ, the content of each table and of the
 * commits of each repository (a hash over FINAL, so a merge that changed the parts but not the rows
 * changes nothing). The last run's fingerprints live in link_inputs.
 */

/** Bumped when a rule changes what the linker makes of the same facts: every run after links from scratch. */
const RULES_VERSION = 1;

/** The domain tables the linker reads, besides commits (fingerprinted per repository). */
export const INPUT_TABLES = [
  'deployments',
  'deployment_statuses',
  'incidents',
  'incident_events',
  'lifecycle_events',
  'pull_requests',
  'pull_request_commits',
  'work_items',
] as const;

/** What commit_pull_requests and incident_facts (built in SQL) are built from, besides the commits. */
export const PR_INPUTS = ['pull_requests', 'pull_request_commits'] as const;
export const INCIDENT_INPUTS = ['incidents', 'incident_events', 'lifecycle_events'] as const;

/** Counts of the last run, given back by a run that finds nothing changed. */
export interface LinkCounts {
  deployments: number;
  deploymentCommits: number;
  commitPullRequests: number;
  incidentDeployments: number;
  hotfixes: number;
  bugs: number;
}

export interface InputState {
  rules: number;
  /** sha1 of the model settings. */
  model: string;
  /** Per table (commits included): its active parts. */
  parts: Record<string, string>;
  /** Per table of INPUT_TABLES: row count and hash of its rows (FINAL). */
  tables: Record<string, string>;
  /** Per `source\u0000repo`: count and hash of its commits' graph and fingerprint columns (FINAL). */
  repos: Record<string, string>;
  counts: LinkCounts;
  /**
   * Per link table: row count and hash of its rows (FINAL) as the run left them. Link tables that no
   * longer hold what the last run wrote (truncated for a replay, restored from a backup, edited) make
   * the next run link from scratch.
   */
  outputs?: Record<string, string>;
  /** Per link table: its active parts as the run left them; the same parts spare reading `outputs` again. */
  outputParts?: Record<string, string>;
  /** The version of the row that holds this state. */
  version: number;
}

export const modelHash = (model: ModelConfig): string => createHash('sha1').update(JSON.stringify(model)).digest('hex');

async function rows<T>(store: Store, query: string, params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await store.client.query({ query, query_params: params, format: 'JSONEachRow' });
  return rs.json<T>();
}

/** The active parts of each input table: the same list means the same rows. */
export async function partsOf(store: Store, tables: readonly string[] = ['commits', ...INPUT_TABLES]): Promise<Record<string, string>> {
  const list = await rows<{ t: string; p: string }>(
    store,
    `SELECT table AS t, arrayStringConcat(arraySort(groupArray(concat(name, ':', hash_of_all_files))), ',') AS p
     FROM system.parts WHERE database = currentDatabase() AND active AND table IN {tables:Array(String)}
     GROUP BY table`,
    { tables },
  );
  return Object.fromEntries(list.map((r) => [r.t, r.p]));
}

/**
 * The content of each input table, and of the commits per repository. A table whose parts are those
 * the last run saw has the content it had then: only the others are read.
 */
export async function contentOf(
  store: Store,
  parts: Record<string, string>,
  previous: InputState | undefined,
): Promise<{ tables: Record<string, string>; repos: Record<string, string> }> {
  const same = (t: string): boolean => previous !== undefined && previous.parts[t] === parts[t];
  const tables: Record<string, string> = {};
  const read: string[] = [];
  for (const t of INPUT_TABLES) {
    if (same(t) && previous?.tables[t] !== undefined) tables[t] = previous.tables[t];
    else read.push(t);
  }
  if (read.length > 0) Object.assign(tables, await tableHashes(store, read));
  if (same('commits') && previous !== undefined) return { tables, repos: previous.repos };
  const repos = await rows<{ source: string; repo: string; h: string }>(
    store,
    `SELECT source, repo, concat(toString(count()), ':', toString(sum(cityHash64(sha, parents, parents_known, committed_at, fingerprint)))) AS h
     FROM commits FINAL GROUP BY source, repo`,
  );
  return { tables, repos: Object.fromEntries(repos.map((r) => [`${r.source}\u0000${r.repo}`, r.h])) };
}

/**
 * Whether the link tables hold what the last run left: the same active parts, or else the same rows
 * (a merge changes the parts, not the rows).
 */
export async function outputsHeld(store: Store, last: InputState, tables: readonly string[]): Promise<boolean> {
  if (last.outputs === undefined) return false;
  if (last.outputParts !== undefined && sameRecord(last.outputParts, await partsOf(store, tables))) return true;
  return sameRecord(last.outputs, await tableHashes(store, tables));
}

/** Row count and hash of the rows (FINAL) of each of `tables`. */
export async function tableHashes(store: Store, tables: readonly string[]): Promise<Record<string, string>> {
  const list = await rows<{ t: string; h: string }>(
    store,
    tables
      .map((t) => `SELECT '${t}' AS t, concat(toString(count()), ':', toString(sum(cityHash64(*)))) AS h FROM ${t} FINAL`)
      .join(' UNION ALL '),
  );
  return Object.fromEntries(list.map((r) => [r.t, r.h]));
}

/** The state the last run left, unless it was left by other rules than these. */
export async function lastState(store: Store): Promise<InputState | undefined> {
  const [row] = await rows<{ state: string; version: string }>(
    store,
    `SELECT state, toString(version) AS version FROM link_inputs FINAL WHERE key = 'linker'`,
  );
  if (row === undefined) return undefined;
  try {
    const state = JSON.parse(row.state) as InputState;
    return state.rules === RULES_VERSION ? { ...state, version: Number(row.version) } : undefined;
  } catch {
    // A state that cannot be read only costs a run from scratch.
    return undefined;
  }
}

/** Records what this run linked; its version stays above the last one even when the run's instant is earlier. */
export async function saveState(
  store: Store,
  state: Omit<InputState, 'rules' | 'version'>,
  previous: InputState | undefined,
  stamp: { linked_at: string; version: number },
): Promise<void> {
  const version = Math.max(stamp.version, (previous?.version ?? 0) + 1);
  await store.client.insert({
    table: 'link_inputs',
    values: [{ key: 'linker', state: JSON.stringify({ ...state, rules: RULES_VERSION }), linked_at: stamp.linked_at, version }],
    format: 'JSONEachRow',
  });
}

export const sameRecord = (a: Record<string, string>, b: Record<string, string>): boolean => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};
