import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { SourceRecord } from './raw-event.js';

/**
 * The facts a program is judged on that live outside the trackers (docs/metrics.md items 24-30), as
 * rows taken in through `POST /ingest/<kind>` and `ptel import <kind> FILE`, or published from the
 * configuration (outcome targets, planned adopters) and pulled from a query endpoint (outcome actuals).
 *
 * Each kind is one strict row schema: a field that is not listed is refused, naming it, so a survey row
 * can never carry a respondent's name or a comment's text. A row becomes one raw event `ingest.<kind>`
 * whose subject is the row's natural key and whose version is a hash of its content: the same row sent
 * twice is the same event (stored once), a corrected row is a new version of the same entity, and the
 * later arrival wins.
 */

const isoDateTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a zone, for example 2026-11-30T17:00:00Z' });
const isoDate = z.iso.date({ error: 'expected a date YYYY-MM-DD' });
/** A program id as the organisation in the configuration names it. */
const programId = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "expected a program id of the organisation, for example 'payments'");
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max, `at most ${max} characters`);
/** A number from JSON, or from a CSV cell holding one ('4', '-0.5', '1e3'). */
const number = z.preprocess(
  (v) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v),
  z.number({ error: 'expected a number' }).finite(),
);
const optionalNumber = z.preprocess((v) => (v === '' ? undefined : v), number.optional());
/** An empty CSV cell is a missing value. */
const optional = <S extends z.ZodType>(schema: S) => z.preprocess((v) => (v === '' || v === null ? undefined : v), schema.optional());

export const READINESS_STATUSES = ['pass', 'fail', 'waived'] as const;

/** One check of a release's (or milestone's) readiness review, as it stood at the go/no-go. */
export const readinessCheckRow = z
  .strictObject({
    program: programId,
    /** The release or milestone: a fix version's or milestone's name, as the trackers name it. */
    release: text(256),
    check: text(256),
    status: z.enum(READINESS_STATUSES, { error: `expected one of ${READINESS_STATUSES.join(', ')}` }),
    /** The go/no-go date of the release. */
    go_no_go: isoDate,
    /** When the check took this status (default: the go/no-go date at 00:00 UTC). */
    checked_at: optional(isoDateTime),
    /** Why a waived check was waived: required with status waived. */
    rationale: optional(text(2_000)),
    owner: optional(text(256)),
  })
  .superRefine((row, ctx) => {
    if (row.status === 'waived' && row.rationale === undefined)
      ctx.addIssue({ code: 'custom', path: ['rationale'], message: 'a waived check needs its rationale' });
  });

export const SURVEYS = ['stakeholder_satisfaction', 'engineering_sentiment'] as const;

/**
 * One answer to a program survey: a score from 1 to 5 and how many comments came with it. The answer's
 * id in the survey tool is kept only as a hash (to store a resent answer once); names, e-mails and
 * comment texts are refused.
 */
export const surveyResponseRow = z.strictObject({
  survey: z.enum(SURVEYS, { error: `expected one of ${SURVEYS.join(', ')}` }),
  program: programId,
  response_id: text(256),
  submitted_at: isoDateTime,
  score: z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'expected a whole number from 1 to 5' }).int('expected a whole number from 1 to 5').min(1).max(5),
  ),
  comment_count: z.preprocess(
    (v) => (v === '' || v === undefined ? 0 : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error: 'expected a whole number of comments' }).int().min(0),
  ),
});

/**
 * A survey answer as published (the payload of `ingest.survey_response`): the answer id replaced by its
 * hash, still refusing any other field, so a payload with a name or a comment's text is not stored.
 */
export const surveyResponsePayload = surveyResponseRow
  .omit({ response_id: true })
  .extend({ response: z.string().regex(/^[0-9a-f]{32}$/, 'expected the hash of the answer id') });

export const DIRECTIONS = ['at_least', 'at_most'] as const;

/**
 * An outcome target of a program: met when the last actual by its due date is at least (or at most)
 * the target. A revision is a later version of the same target with its rationale.
 */
export const outcomeTargetRow = z.strictObject({
  program: programId,
  /** The outcome's name, unique within the program, e.g. 'checkout_conversion'. */
  outcome: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "expected a lower-case name, for example 'checkout_conversion'"),
  target: number,
  direction: z.enum(DIRECTIONS, { error: `expected one of ${DIRECTIONS.join(', ')}` }),
  due: isoDate,
  unit: optional(text(64)),
  /** When this target (or this revision of it) was set. */
  set_at: isoDateTime,
  /** Why the target was revised: a revision without one does not count as met. */
  rationale: optional(text(2_000)),
});

/** One observed value of a program's outcome. */
export const outcomeActualRow = z.strictObject({
  program: programId,
  outcome: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "expected a lower-case name, for example 'checkout_conversion'"),
  value: number,
  observed_at: isoDateTime,
});

export const ADOPTER_KINDS = ['team', 'customer'] as const;

/** A planned adopter of a program (a team or a customer) with its target date, and when it was enabled. */
export const adopterRow = z.strictObject({
  program: programId,
  adopter: text(256),
  kind: z.preprocess(
    (v) => (v === '' || v === undefined ? 'team' : v),
    z.enum(ADOPTER_KINDS, { error: `expected one of ${ADOPTER_KINDS.join(', ')}` }),
  ),
  target_date: isoDate,
  enabled_at: optional(isoDateTime),
  /** A Jira issue (key) whose resolution enables the adopter, when enabled_at is not given. */
  jira_issue: optional(text(64)),
  /** A label on Jira issues: the first one done enables the adopter, when enabled_at is not given. */
  jira_label: optional(text(255)),
});

/** FinOps FOCUS charge categories (FOCUS 1.0 and later). */
export const CHARGE_CATEGORIES = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'] as const;

/** A CSV cell holding a JSON object of tags (FOCUS `Tags`), or the object itself from JSON. */
const tags = z.preprocess(
  (v) => {
    if (v === '' || v === undefined || v === null) return {};
    if (typeof v !== 'string') return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  },
  z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String), {
    error: 'expected a JSON object of tag names to values, for example {"program":"payments"}',
  }),
);

/**
 * One row of a cloud cost export in the FinOps FOCUS format (columns by their FOCUS names). The columns
 * the spend allocation reads are listed; other FOCUS columns and custom `x_` columns are accepted and
 * not kept. A row has no natural id in FOCUS: its content is its identity, so the same export imported
 * twice is stored once.
 */
export const costRow = z
  .looseObject({
    BilledCost: number,
    EffectiveCost: optionalNumber,
    BillingCurrency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code, for example USD'),
    ChargePeriodStart: isoDateTime,
    ChargePeriodEnd: isoDateTime,
    ChargeCategory: optional(z.enum(CHARGE_CATEGORIES, { error: `expected one of ${CHARGE_CATEGORIES.join(', ')}` })),
    ProviderName: optional(z.string().max(256)),
    SubAccountId: optional(z.string().max(256)),
    SubAccountName: optional(z.string().max(512)),
    ServiceName: optional(z.string().max(512)),
    ResourceId: optional(z.string().max(2_048)),
    Tags: tags.optional().default({}),
  })
  .superRefine((row, ctx) => {
    if (Date.parse(row.ChargePeriodEnd) < Date.parse(row.ChargePeriodStart))
      ctx.addIssue({ code: 'custom', path: ['ChargePeriodEnd'], message: 'ends before ChargePeriodStart' });
  })
  .transform((row) => {
    // Only the columns above are kept: FOCUS has some fifty more, and custom x_ columns.
    const { BilledCost, EffectiveCost, BillingCurrency, ChargePeriodStart, ChargePeriodEnd, ChargeCategory } = row;
    const { ProviderName, SubAccountId, SubAccountName, ServiceName, ResourceId, Tags } = row;
    return {
      BilledCost,
      EffectiveCost,
      BillingCurrency,
      ChargePeriodStart,
      ChargePeriodEnd,
      ChargeCategory,
      ProviderName,
      SubAccountId,
      SubAccountName,
      ServiceName,
      ResourceId,
      Tags,
    };
  });

export type ReadinessCheck = z.infer<typeof readinessCheckRow>;
export type SurveyResponse = z.infer<typeof surveyResponseRow>;
export type OutcomeTarget = z.infer<typeof outcomeTargetRow>;
export type OutcomeActual = z.infer<typeof outcomeActualRow>;
export type Adopter = z.infer<typeof adopterRow>;
export type CostRow = z.infer<typeof costRow>;

/** A hash of a value's canonical JSON (keys sorted at every level). */
export function contentHash(value: unknown, length = 32): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v !== null && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
              .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex')
    .slice(0, length);
}

interface KindSpec<S extends z.ZodType = z.ZodType> {
  /** The row schema; what it outputs is the event's payload. */
  schema: S;
  /** The row's natural key inside the source: the raw event's subject. */
  subject(row: z.infer<S>): string;
  /** The instant the row is about (the raw event's time). */
  time(row: z.infer<S>): string;
  /** What the row is, for messages: 'readiness check payments/2026.12/Load test'. */
  describe(row: z.infer<S>): string;
}

const spec = <S extends z.ZodType>(s: KindSpec<S>): KindSpec<S> => s;

/**
 * Every kind of row the intake takes, by the name used in `/ingest/<kind>`, `ptel import <kind>`, the
 * token variable PTEL_INGEST_<KIND>_TOKEN and the event type `ingest.<kind>`.
 */
export const INGEST_KINDS = {
  readiness_check: spec({
    schema: readinessCheckRow,
    subject: (r) => `readiness/${r.program}/${r.release}/${r.check}`,
    time: (r) => r.checked_at ?? `${r.go_no_go}T00:00:00.000Z`,
    describe: (r) => `readiness check ${r.program}/${r.release}/${r.check}`,
  }),
  survey_response: spec({
    schema: surveyResponseRow.transform(({ response_id, ...rest }): z.output<typeof surveyResponsePayload> => ({
      ...rest,
      response: contentHash(['survey', rest.survey, response_id]),
    })),
    subject: (r) => `survey/${r.survey}/${r.response}`,
    time: (r) => r.submitted_at,
    describe: (r) => `${r.survey} response for ${r.program}`,
  }),
  outcome_target: spec({
    schema: outcomeTargetRow,
    subject: (r) => `outcome/${r.program}/${r.outcome}/target`,
    time: (r) => r.set_at,
    describe: (r) => `outcome target ${r.program}/${r.outcome}`,
  }),
  outcome_actual: spec({
    schema: outcomeActualRow,
    subject: (r) => `outcome/${r.program}/${r.outcome}/actual/${new Date(r.observed_at).toISOString()}`,
    time: (r) => r.observed_at,
    describe: (r) => `outcome actual ${r.program}/${r.outcome} at ${r.observed_at}`,
  }),
  adopter: spec({
    schema: adopterRow,
    subject: (r) => `adopter/${r.program}/${r.adopter}`,
    time: (r) => r.enabled_at ?? `${r.target_date}T00:00:00.000Z`,
    describe: (r) => `adopter ${r.adopter} of ${r.program}`,
  }),
  cost_row: spec({
    schema: costRow,
    subject: (r) => `cost/${contentHash(r)}`,
    time: (r) => r.ChargePeriodStart,
    describe: (r) => `cost row of ${r.ChargePeriodStart} (${r.BilledCost} ${r.BillingCurrency})`,
  }),
} as const;

export type IngestKind = keyof typeof INGEST_KINDS;
export const INGEST_KIND_NAMES = Object.keys(INGEST_KINDS) as IngestKind[];
export const isIngestKind = (name: string): name is IngestKind => Object.hasOwn(INGEST_KINDS, name);
/** The payload of an `ingest.<kind>` event: the row as its schema outputs it. */
export type IngestPayload<K extends IngestKind> = z.output<(typeof INGEST_KINDS)[K]['schema']>;

/**
 * The record of one row already checked by its kind's schema (the schema's output): the one rule every
 * intake path (the HTTP route, `ptel import`, the outcomes puller, the demo) builds `ingest.<kind>` events by.
 */
export function ingestRecord<K extends IngestKind>(kind: K, row: IngestPayload<K>): SourceRecord {
  const s = INGEST_KINDS[kind] as unknown as KindSpec<z.ZodType<IngestPayload<K>>>;
  return {
    source: 'ingest',
    type: `ingest.${kind}`,
    subject: s.subject(row),
    version: contentHash(row),
    time: new Date(s.time(row)).toISOString(),
    payload: row,
  };
}
