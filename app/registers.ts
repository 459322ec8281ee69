import { metricParams } from '../workers/metrics/engine.js';
import { readRegister } from '../workers/registers/index.js';
import { writeRegisterSnapshot, type RegisterSnapshotResult } from '../workers/registers/snapshot.js';
import type { RegisterDefinition, RegisterResult } from '../workers/registers/types.js';
import { recordedRun } from './job-runs.js';
import type { Runtime } from './runtime.js';

export interface RegisterQuery {
  /** The instant to take the register at; default now. */
  asOf?: Date;
  program?: string;
  team?: string;
  /** Finished items within this many days are listed; default metrics.registerRecentDays. */
  recentDays?: number;
  /** Only the rows that changed within the window. */
  changedOnly?: boolean;
}

/** A register as the configuration defines its targets and windows, at now or at `query.asOf`. */
export function registerNow(
  rt: Pick<Runtime, 'store' | 'config' | 'clock'>,
  definition: RegisterDefinition,
  query: RegisterQuery = {},
): Promise<RegisterResult> {
  return readRegister(rt.store, definition, {
    params: metricParams(rt.config),
    asOf: query.asOf ?? rt.clock.date(),
    recentDays: query.recentDays ?? rt.config.metrics.registerRecentDays,
    ...(query.program !== undefined ? { program: query.program } : {}),
    ...(query.team !== undefined ? { team: query.team } : {}),
    ...(query.changedOnly === true ? { changedOnly: true } : {}),
  });
}

/** What is wrong with a program or team name, said with the names that exist; undefined when it exists. */
export function unknownScope(rt: Pick<Runtime, 'organisation'>, kind: 'program' | 'team', name: string): string | undefined {
  const programs = rt.organisation.org.programs;
  const names = kind === 'program' ? programs.map((p) => p.id) : programs.flatMap((p) => p.teams.map((t) => t.id));
  if (names.includes(name)) return undefined;
  return `no ${kind} '${name}'; ${kind === 'program' ? 'programs' : 'teams'}: ${names.length > 0 ? names.join(', ') : 'none configured'}`;
}

/** Writes every register, as it stands at the clock's instant, to register_rows for the dashboards; recorded as a run of `registers`. */
export function registersNow(rt: Pick<Runtime, 'store' | 'config' | 'clock' | 'logger'>): Promise<RegisterSnapshotResult> {
  return recordedRun(
    rt,
    'registers',
    () =>
      writeRegisterSnapshot(rt.store, {
        params: metricParams(rt.config),
        now: rt.clock.date(),
        recentDays: rt.config.metrics.registerRecentDays,
      }),
    (r) =>
      Object.entries(r.rows)
        .map(([id, n]) => `${id} ${n}${(r.removed[id] ?? 0) > 0 ? ` (${r.removed[id] ?? 0} removed)` : ''}`)
        .join(', '),
  );
}
