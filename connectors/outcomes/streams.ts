import type { Config, PullSettings } from '../../infra/config/schema.js';
import { pullSettingsOf } from '../../infra/config/schema.js';
import { contentHash, INGEST_KINDS, ingestRecord, type IngestKind } from '../../schemas/ingest.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import type { Page, Stream, StreamContext } from '../core/types.js';
import type { OutcomesClient, QueryEndpoint } from './client.js';

/**
 * The streams of the outcomes source. Its events are the intake's (`ingest.outcome_target`,
 * `ingest.adopter`, `ingest.outcome_actual`, source 'ingest'); what produced them is named by the
 * stream: `outcomes/targets`, `outcomes/prometheus`, `outcomes/clickhouse`.
 */

type Program = Config['org']['programs'][number];
type Outcome = NonNullable<Program['outcomes']>[number];
export type Engine = 'prometheus' | 'clickhouse';

/** A row checked by its kind's schema, as every intake path publishes it; `where` names it when it does not fit. */
function record<K extends IngestKind>(kind: K, row: Record<string, unknown>, where: string): SourceRecord {
  const parsed = INGEST_KINDS[kind].schema.safeParse(row);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${where}: field '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`);
  }
  return ingestRecord(kind, parsed.data as never);
}

/**
 * The configured targets, one event per version (the first, then each revision carrying the target and
 * due date it sets, and its rationale), and the planned adopters.
 */
export function configuredFacts(config: Config): SourceRecord[] {
  const records: SourceRecord[] = [];
  for (const program of config.org.programs) {
    for (const o of program.outcomes ?? []) {
      let current = { target: o.target, due: o.due };
      const base = { program: program.id, outcome: o.name, direction: o.direction, unit: o.unit };
      const where = `org.programs ${program.id} outcome ${o.name}`;
      records.push(record('outcome_target', { ...base, ...current, set_at: o.setAt }, where));
      for (const r of [...o.revisions].sort((a, b) => Date.parse(a.at) - Date.parse(b.at))) {
        current = { target: r.target ?? current.target, due: r.due ?? current.due };
        records.push(
          record('outcome_target', { ...base, ...current, set_at: r.at, rationale: r.rationale }, `${where} revision at ${r.at}`),
        );
      }
    }
    for (const a of program.adopters ?? [])
      records.push(
        record(
          'adopter',
          {
            program: program.id,
            adopter: a.name,
            kind: a.kind,
            target_date: a.targetDate,
            jira_issue: a.jira?.issue,
            jira_label: a.jira?.label,
          },
          `org.programs ${program.id} adopter ${a.name}`,
        ),
      );
  }
  return records;
}

/**
 * Publishes the configured targets and adopters when they changed since the last publish (the cursor
 * holds a digest of them), or on a backfill: an unchanged configuration publishes nothing, so an
 * adopter's later import (with its enabling instant) is not overwritten by the configuration each interval.
 * Were they published again, their ids are the same and the raw store keeps one of each.
 */
export const targetsStream: Stream<OutcomesClient> = {
  name: 'targets',
  scopes: (config) => (config.org.programs.some((p) => (p.outcomes?.length ?? 0) + (p.adopters?.length ?? 0) > 0) ? ['config'] : []),
  // eslint-disable-next-line @typescript-eslint/require-await
  async *pull(_client, _scope, cursor, ctx) {
    const records = configuredFacts(ctx.config);
    const digest = contentHash(records.map((r) => r.payload));
    if (!ctx.backfill && cursor?.['digest'] === digest) return;
    yield { records, cursor: { digest }, requests: 0 };
  },
};

/** The outcomes whose actual `engine` queries, as scopes 'program/outcome'. */
export function queriedOutcomes(
  config: Config,
  engine: Engine,
): Array<{ scope: string; program: string; outcome: Outcome; query: string }> {
  return config.org.programs.flatMap((p) =>
    (p.outcomes ?? []).flatMap((o) => {
      const actual = o.actual;
      if (actual === undefined) return [];
      const query =
        'prometheus' in actual
          ? engine === 'prometheus'
            ? actual.prometheus
            : undefined
          : engine === 'clickhouse'
            ? actual.clickhouse
            : undefined;
      return query === undefined ? [] : [{ scope: `${p.id}/${o.name}`, program: p.id, outcome: o, query }];
    }),
  );
}

/** Most instants one pull evaluates per outcome: beyond it, the instants are spread wider apart. */
export const MAX_INSTANTS = 1_000;
/** Instants per page: each page's actuals are published, then its cursor stored. */
const PAGE = 50;

/**
 * The instants to evaluate after `after` up to `now`: whole multiples of the interval (so a pull and a
 * re-pull ask for the same instants), at most MAX_INSTANTS of them, the step widened by a whole factor
 * when there would be more (a first pull 180 days back at 15 minutes reads every 4.5 hours).
 */
export function instants(after: number, now: number, stepMs: number): number[] {
  if (now <= after) return [];
  const factor = Math.max(1, Math.ceil((now - after) / stepMs / MAX_INSTANTS));
  const step = stepMs * factor;
  const out: number[] = [];
  for (let t = Math.floor(after / step) * step + step; t <= now; t += step) out.push(t);
  return out;
}

const intervalMs = (settings: PullSettings | undefined): number => (settings?.intervalMinutes ?? 15) * 60_000;

/**
 * Evaluates each outcome's query at each interval instant since its cursor (first pull: initialDays
 * back) up to the clock's now; each value is an `ingest.outcome_actual` event observed at that instant.
 * The cursor, per outcome, is the last instant evaluated, stored once its page's actuals are on the bus.
 */
function actualsStream(engine: Engine): Stream<OutcomesClient> {
  return {
    name: engine,
    scopes: (config) => queriedOutcomes(config, engine).map((o) => o.scope),
    async *pull(client, scope, cursor, ctx: StreamContext): AsyncGenerator<Page> {
      const endpoint: QueryEndpoint | undefined = client[engine];
      const found = queriedOutcomes(ctx.config, engine).find((o) => o.scope === scope);
      if (found === undefined) return;
      const what = `outcome ${scope}`;
      if (endpoint === undefined) throw new Error(`${what} queries ${engine}, but sources.outcomes.${engine} is not configured`);
      const last = typeof cursor?.['at'] === 'string' && !ctx.backfill ? Date.parse(cursor['at']) : NaN;
      const after = Number.isNaN(last) ? ctx.since.getTime() - 1 : last;
      const all = instants(after, ctx.clock.now(), intervalMs(pullSettingsOf(ctx.config, 'outcomes')));
      for (let i = 0; i < all.length; i += PAGE) {
        ctx.signal.throwIfAborted();
        const page = all.slice(i, i + PAGE);
        const records: SourceRecord[] = [];
        for (const t of page) {
          const at = new Date(t);
          const value = await endpoint.value(found.query, at, what, ctx.signal);
          if (value !== undefined)
            records.push(
              record('outcome_actual', { program: found.program, outcome: found.outcome.name, value, observed_at: at.toISOString() }, what),
            );
        }
        yield { records, cursor: { at: new Date(page.at(-1)!).toISOString() }, requests: page.length };
      }
    },
  };
}

export const outcomesStreams: Array<Stream<OutcomesClient>> = [targetsStream, actualsStream('prometheus'), actualsStream('clickhouse')];
