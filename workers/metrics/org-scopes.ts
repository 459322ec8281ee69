import { serviceName, type OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import type { ScopeKind } from './types.js';

/** A scope of the organisation as org_scopes holds it: its id, its configured name and where it belongs. */
export interface OrgScopeRow {
  kind: ScopeKind;
  id: string;
  name: string;
  /** The program it belongs to: a program's own id, '' for the org. */
  program: string;
  /** The team it belongs to: a team's own id, '' for the org and a program. */
  team: string;
}

/** The name the org scope goes by: the configuration names programs and teams, not the organisation. */
export const ORG_NAME = 'Whole organisation';

/**
 * Every scope of the org config with its name and parents: the same scopes, in the same order, as
 * scopesOf (engine.ts), which computes the metrics of each. Programs and teams carry their configured
 * names; a service or repository is named by itself.
 */
export function orgScopeRows(org: OrgConfig): OrgScopeRow[] {
  const out: OrgScopeRow[] = [{ kind: 'org', id: 'org', name: ORG_NAME, program: '', team: '' }];
  for (const p of org.programs) {
    out.push({ kind: 'program', id: p.id, name: p.name, program: p.id, team: '' });
    for (const t of p.teams) {
      out.push({ kind: 'team', id: t.id, name: t.name, program: p.id, team: t.id });
      for (const s of t.services) out.push({ kind: 'service', id: serviceName(s), name: serviceName(s), program: p.id, team: t.id });
      for (const r of t.repositories) out.push({ kind: 'repo', id: r.toLowerCase(), name: r, program: p.id, team: t.id });
    }
  }
  return out;
}

const instant = (at: Date): string => at.toISOString().replace('T', ' ').replace('Z', '');

/**
 * Writes the organisation's scopes to org_scopes at `now`: a row for each scope the config names, and a
 * deletion row for each scope an earlier write named that this config no longer does, so the dashboards'
 * variables list the organisation as it is configured now.
 */
export async function writeOrgScopes(store: Store, org: OrgConfig, now: Date): Promise<{ written: number; removed: number }> {
  if (!Number.isFinite(now.getTime())) throw new RangeError('org scopes: the instant to write them at is not a date');
  const version = now.getTime() * 1000;
  const computedAt = instant(now);
  const rows = orgScopeRows(org);
  await store.client.insert({
    table: 'org_scopes',
    values: rows.map((r) => ({ ...r, computed_at: computedAt, version, is_deleted: 0 })),
    format: 'JSONEachRow',
  });
  const rs = await store.client.query({
    query: `SELECT kind, id FROM org_scopes FINAL WHERE is_deleted = 0 AND version < {version:UInt64}`,
    query_params: { version },
    format: 'JSONEachRow',
  });
  const current = new Set(rows.map((r) => `${r.kind}:${r.id}`));
  const gone = (await rs.json<{ kind: string; id: string }>()).filter((r) => !current.has(`${r.kind}:${r.id}`));
  if (gone.length > 0) {
    await store.client.insert({
      table: 'org_scopes',
      values: gone.map((r) => ({
        kind: r.kind,
        id: r.id,
        name: '',
        program: '',
        team: '',
        computed_at: computedAt,
        version: version + 1,
        is_deleted: 1,
      })),
      format: 'JSONEachRow',
    });
  }
  return { written: rows.length, removed: gone.length };
}
