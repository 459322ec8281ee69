import type { z } from 'zod';
import type { RawEvent, Source, SourceRecord } from '../schemas/raw-event.js';
import type { Row } from '../infra/store/batch-writer.js';
import type { MapContext } from './context.js';

export interface TableRows {
  table: string;
  rows: Row[];
}

/**
 * A field of an event that could not be read: its row was still written, with that column empty (or a
 * stated stand-in). `entity` is the entity type (the event type without its source), `field` the
 * field's path in the entity (array positions written `[]`), `problem` what was wrong with it.
 */
export interface DataQualityNote {
  entity: string;
  field: string;
  problem: string;
}

/**
 * What normalizing one event gives: rows for the domain tables (with notes on the fields that could
 * not be read), a dead letter with the reason (the payload lacks what the entity cannot exist
 * without), or a deliberate drop with its reason. Each is counted.
 */
export type Outcome =
  | { kind: 'ok'; rows: TableRows[]; notes: DataQualityNote[] }
  | { kind: 'dead_letter'; code: string; reason: string }
  | { kind: 'drop'; reason: string };

export type { MapContext } from './context.js';
export { mapContext } from './context.js';

/** Maps one event; fields it cannot read are reported to `notes` and left empty in the row. */
export type Mapper = (event: RawEvent, ctx: MapContext, notes: FieldNotes) => Outcome;

export const ok = (rows: TableRows[] = [], notes: DataQualityNote[] = []): Outcome => ({ kind: 'ok', rows, notes });
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
  map: (payload: z.infer<S>, event: RawEvent, ctx: MapContext, notes: FieldNotes) => Outcome,
): Mapper {
  return (event, ctx, notes) => map(parsePayload(schema, event.data, event), event, ctx, notes);
}

/** A field path as notes name it: array positions become `[]`, so one field is one name whatever the position. */
export const fieldName = (path: ReadonlyArray<PropertyKey>): string =>
  path
    .map((p) => (typeof p === 'number' || /^\d+$/.test(String(p)) ? '[]' : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');

/**
 * The fields of one event that could not be read. A mapper reads each field the entity can exist
 * without through `read`: a value that does not fit its schema becomes the fallback (the column's
 * empty value), and a note naming the field, instead of a dead letter for the whole entity.
 */
export class FieldNotes {
  private readonly notes = new Map<string, DataQualityNote>();

  constructor(readonly entity: string) {}

  /** Notes that `field` could not be read and why; the same field and problem is noted once per event. */
  note(field: string, problem: string): void {
    const name = fieldName(field.split('.').filter((p) => p !== ''));
    this.notes.set(`${name}\u0000${problem}`, { entity: this.entity, field: name, problem });
  }

  /** `value` checked against `schema`; when it does not fit, `fallback`, and a note naming the (sub)field and the problem. */
  read<S extends z.ZodType, F = z.infer<S>>(schema: S, value: unknown, field: string, fallback: F): z.infer<S> | F {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const sub = issue === undefined || issue.path.length === 0 ? '' : `.${issue.path.map(String).join('.')}`;
    this.note(`${field}${sub}`, value === undefined && sub === '' ? 'missing' : (issue?.message ?? 'invalid'));
    return fallback;
  }

  list(): DataQualityNote[] {
    return [...this.notes.values()];
  }
}

/** The entity type of an event type: 'jira.issue' -> 'issue'. */
export const entityOfType = (type: string): string => type.slice(type.indexOf('.') + 1);

/** The last payload parsePayload took, with its schema and what it gave: the next check of the same payload with the same schema is free. */
let lastParsed: { schema: z.ZodType; data: unknown; output: unknown } | undefined;

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
  // What an entity cannot exist without is checked by the registry, then again by its mapper, on the same payload.
  if (lastParsed !== undefined && lastParsed.schema === schema && lastParsed.data === data && typeof data === 'object')
    return lastParsed.output as z.infer<S>;
  const parsed = schema.safeParse(data);
  if (parsed.success) {
    lastParsed = { schema, data, output: parsed.data };
    return parsed.data;
  }
  const first = parsed.error.issues[0];
  const path = [...(at === '' ? [] : [at]), ...(first?.path ?? []).map(String)];
  const where = path.length > 0 ? path.join('.') : '(payload)';
  const more = parsed.error.issues.length > 1 ? ` (+${parsed.error.issues.length - 1} more)` : '';
  throw new MappingError('invalid_payload', `${event.type} ${event.subject}: field '${where}': ${first?.message ?? 'invalid'}${more}`);
}

/**
 * What an entity cannot exist without (its id, the time its version is ordered by): checked before
 * the event is mapped, and by the source's webhook before it accepts a delivery, so the two agree.
 * Throws a MappingError naming the field (see parsePayload).
 */
export type Requirement = (data: unknown, event: Pick<RawEvent, 'type' | 'subject'>) => void;

/** The mappers of one source, by event type, and what each type's entity cannot exist without. */
export interface SourceMappers {
  source: Source;
  mappers: Record<string, Mapper>;
  required?: Record<string, Requirement>;
}

/**
 * Whether a record carries what its entity cannot exist without: undefined when it does, else the
 * reason naming the field. Webhooks call it before they answer, so a delivery accepted is a delivery
 * the mapper can place.
 */
export function missingRequired(mappers: SourceMappers, record: Pick<SourceRecord, 'type' | 'subject' | 'payload'>): string | undefined {
  const requirement = mappers.required?.[record.type];
  if (requirement === undefined) return undefined;
  try {
    requirement(record.payload, record);
    return undefined;
  } catch (err) {
    if (err instanceof MappingError) return err.message;
    throw err;
  }
}

/** Which mapper handles which (source, type): one declarative table, filled at start-up. */
export class MapperRegistry {
  private readonly mappers = new Map<string, Mapper>();
  private readonly required = new Map<string, Requirement>();

  register(source: Source, type: string, mapper: Mapper, required?: Requirement): this {
    if (!type.startsWith(`${source}.`)) throw new Error(`mapper type '${type}' must start with '${source}.'`);
    if (this.mappers.has(type)) throw new Error(`a mapper for ${type} is already registered`);
    this.mappers.set(type, mapper);
    if (required !== undefined) this.required.set(type, required);
    return this;
  }

  get(type: string): Mapper | undefined {
    return this.mappers.get(type);
  }

  types(): string[] {
    return [...this.mappers.keys()].sort();
  }

  /**
   * Checks what the entity cannot exist without, then runs the event's mapper; the fields it could
   * not read come back as the ok outcome's notes. An exception becomes a dead letter with its message.
   */
  apply(event: RawEvent, ctx: MapContext): Outcome {
    const mapper = this.mappers.get(event.type);
    if (mapper === undefined) return ok();
    try {
      this.required.get(event.type)?.(event.data, event);
      const notes = new FieldNotes(entityOfType(event.type));
      const outcome = mapper(event, ctx, notes);
      return outcome.kind === 'ok' && notes.list().length > 0 ? { ...outcome, notes: [...outcome.notes, ...notes.list()] } : outcome;
    } catch (err) {
      if (err instanceof MappingError) return deadLetter(err.code, err.message);
      const message = err instanceof Error ? err.message : String(err);
      return deadLetter('mapper_error', `${event.type} ${event.subject}: ${message}`);
    }
  }
}
