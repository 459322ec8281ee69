import type { Store } from '../../infra/store/client.js';
import { instantParam } from '../metrics/engine.js';
import type { MetricParams } from '../metrics/types.js';
import { actionRegister } from './actions.js';
import { decisionRegister } from './decisions.js';
import { dependencyRegister } from './dependencies.js';
import { milestoneRegister } from './milestones.js';
import { riskRegister } from './risks.js';
import type { RegisterColumn, RegisterDefinition, RegisterId, RegisterResult, RegisterRow } from './types.js';

/** Every register, in the order a program review reads them. */
export const REGISTERS: RegisterDefinition[] = [milestoneRegister, riskRegister, decisionRegister, actionRegister, dependencyRegister];

export const registerById = (id: string): RegisterDefinition | undefined => REGISTERS.find((r) => r.id === id);

export interface RegisterOptions {
  params: MetricParams;
  /** The instant the register is taken at. */
  asOf: Date;
  /** Finished, decided and closed items within this many days before the instant are listed. */
  recentDays: number;
  program?: string;
  team?: string;
  /** Only the rows that changed within the window (the summary still describes the whole register). */
  changedOnly?: boolean;
}

/** A value of a column as the register's readers get it: numbers as numbers, flags as booleans, lists as arrays. */
function typed(column: RegisterColumn, v: unknown): RegisterRow[string] {
  if (v === null || v === undefined) return null;
  const text = (x: unknown): string => (typeof x === 'string' ? x : JSON.stringify(x));
  switch (column.kind) {
    case 'days':
    case 'hours':
    case 'count':
    case 'probability':
      return Number(v);
    case 'flag':
      return v === true || v === 1 || v === '1';
    case 'list':
      return Array.isArray(v) ? v.map(text) : [text(v)];
    case 'text':
    case 'title':
    case 'date':
    case 'time':
      return text(v);
  }
}

/** The register `definition` at `options.asOf`, narrowed to a program or team when asked. */
export async function readRegister(store: Store, definition: RegisterDefinition, options: RegisterOptions): Promise<RegisterResult> {
  if (!Number.isFinite(options.asOf.getTime())) throw new RangeError(`register ${definition.id}: as of is not an instant`);
  const programColumns = definition.programColumns ?? ['program'];
  const teamColumns = definition.teamColumns ?? ['team'];
  const rs = await store.client.query({
    query: `SELECT * FROM (${definition.rows})
            WHERE ({program:String} = '' OR has([${programColumns.join(', ')}], {program:String}))
              AND ({team:String} = '' OR has([${teamColumns.join(', ')}], {team:String}))`,
    query_params: {
      ...options.params,
      as_of: instantParam(options.asOf),
      recent_days: options.recentDays,
      program: options.program ?? '',
      team: options.team ?? '',
    },
    format: 'JSONEachRow',
  });
  const raw = await rs.json<Record<string, unknown>>();
  const rows = raw.map((r) => {
    const row: RegisterRow = { key: String(r['key']) };
    for (const c of definition.columns) row[c.key] = typed(c, r[c.key]);
    return row;
  });
  return {
    register: definition.id,
    title: definition.title,
    asOf: options.asOf.toISOString(),
    program: options.program ?? null,
    team: options.team ?? null,
    recentDays: options.recentDays,
    summary: definition.summarize(rows, { recentDays: options.recentDays }),
    columns: definition.columns,
    rows: options.changedOnly === true ? rows.filter((r) => r['change'] !== null && r['change'] !== '') : rows,
  };
}

/** The register ids, for messages. */
export const REGISTER_IDS: RegisterId[] = REGISTERS.map((r) => r.id);
