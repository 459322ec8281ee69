import type { z } from 'zod';
import type { RawEvent, Source } from '../schemas/raw-event.js';
import type { Row } from '../infra/store/batch-writer.js';
import type { MapContext } from './context.js';

export interface TableRows {
  table: string;
  rows: Row[];
}

/**
 * What normalizing one event gives: rows for the domain tables, a dead letter with the reason (the
 * payload lacks what the mapping needs), or a deliberate drop with its reason. Each is counted.
 */
export type Outcome =
  { kind: 'ok'; rows: TableRows[] } | { kind: 'dead_letter'; code: string; reason: string } | { kind: 'drop'; reason: string };

export type { MapContext } from './context.js';
export { mapContext } from './context.js';

export type Mapper = (event: RawEvent, ctx: MapContext) => Outcome;

export const ok = (rows: TableRows[] = []): Outcome => ({ kind: 'ok', rows });
export const deadLetter = (code: string, reason: string): Outcome => ({ kind: 'dead_letter', code, reason });
export const drop = (reason: string): Outcome => ({ kind: 'drop', reason });

/** A payload lacks, or has a wrong, field the mapping needs. */
export class MappingError extends Error {
  override readonly name = 'MappingError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A mapper that first checks the payload against the subset of the vendor's schema it reads, so a
 * payload missing a field becomes a dead letter naming that field instead of a row with a hole.
 */
export function withPayload<S extends z.ZodType>(
  schema: S,
  map: (payload: z.infer<S>, event: RawEvent, ctx: MapContext) => Outcome,
): Mapper {
  return (event, ctx) => map(parsePayload(schema, event.data, event), event, ctx);
}

/**
 * Checks `data` (the payload, or a part of it found at `at`) against the subset of the vendor's schema
 * a mapper reads. Throws a MappingError whose reason names the first field that is missing or wrong,
 * which the registry turns into a dead letter.
 */
export function parsePayload<S extends z.ZodType>(
  schema: S,
  data: unknown,
  event: Pick<RawEvent, 'type' | 'subject'>,
  at = '',
): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  const first = parsed.error.issues[0];
  const path = [...(at === '' ? [] : [at]), ...(first?.path ?? []).map(String)];
  const where = path.length > 0 ? path.join('.') : '(payload)';
  const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
  throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field '${where}': ${first?.message ?? 'invalid'}${more}`);
}

/** The mappers of one source, by event type. */
export interface SourceMappers {
  source: Source;
  mappers: Record<string, Mapper>;
}

/** Which mapper handles which (source, type): one declarative table, filled at start-up. */
export class MapperRegistry {
  private readonly mappers = new Map<string, Mapper>();

  register(source: Source, type: string, mapper: Mapper): this {
    if (!type.startsWith(`${source}.`)) throw new Error(`mapper type '${type}' must start with '${source}.'`);
    if (this.mappers.has(type)) throw new Error(`a mapper for ${type} is already registered`);
    this.mappers.set(type, mapper);
    return this;
  }

  get(type: string): Mapper | undefined {
    return this.mappers.get(type);
  }

  types(): string[] {
    return [...this.mappers.keys()].sort();
  }

  /** Runs the event's mapper; an exception from it becomes a dead letter with its message. */
  apply(event: RawEvent, ctx: MapContext): Outcome {
    const mapper = this.mappers.get(event.type);
    if (mapper === undefined) return ok();
    try {
      return mapper(event, ctx);
    } catch (err) {
      if (err instanceof MappingError) return deadLetter(err.code, err.message);
      const message = err instanceof Error ? err.message : String(err);
      return deadLetter('mapper_error', `${event.type} ${event.subject}: ${message}`);
    }
  }
}
