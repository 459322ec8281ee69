import type {
  AdopterRow,
  CostRowRow,
  OutcomeActualRow,
  OutcomeTargetRow,
  ReadinessCheckRow,
  SurveyResponseRow,
} from '../../schemas/domain.js';
import {
  adopterRow,
  contentHash,
  costRow,
  INGEST_KINDS,
  outcomeActualRow,
  outcomeTargetRow,
  readinessCheckRow,
  surveyResponsePayload,
  type IngestKind,
} from '../../schemas/ingest.js';
import type { RawEvent } from '../../schemas/raw-event.js';
import { ok, parsePayload, type Mapper, type SourceMappers } from '../../mapping/registry.js';
import { iso, rowsOf, rowVersion } from '../../mapping/rows.js';

/**
 * The rows of the intake (schemas/ingest.ts) into their tables (migration 0021). An event's payload is
 * the row as its kind's schema output it; it is checked again here against the same strict schema, so a
 * payload that does not fit (a survey answer with a name, a score of 7) is dead-lettered naming the
 * field. One row per entity: its version is the event's ingest time, so the later arrival wins and a
 * corrected row replaces the one before it.
 */

/** Where an outcome's actual came from: the connector that pulled it, else an import (file or POST). */
const ORIGINS: Record<string, OutcomeActualRow['origin']> = {
  'outcomes/prometheus': 'prometheus',
  'outcomes/clickhouse': 'clickhouse',
};

const versioned = (event: RawEvent) => ({ raw_event_id: event.id, version: rowVersion(event.ingesttime) });

const mapReadinessCheck: Mapper = (event) => {
  const r = parsePayload(readinessCheckRow, event.data, event);
  const row: ReadinessCheckRow = {
    program: r.program,
    release_name: r.release,
    check_name: r.check,
    status: r.status,
    go_no_go: r.go_no_go,
    // Without its own instant, a check is taken at its go/no-go, as its event's time is.
    checked_at: iso(INGEST_KINDS.readiness_check.time(r), 'checked_at'),
    rationale: r.rationale ?? '',
    owner: r.owner ?? '',
    ...versioned(event),
    is_deleted: 0,
  };
  return ok([rowsOf('readiness_checks', [row])]);
};

const mapSurveyResponse: Mapper = (event) => {
  const r = parsePayload(surveyResponsePayload, event.data, event);
  const row: SurveyResponseRow = {
    survey: r.survey,
    program: r.program,
    response: r.response,
    submitted_at: iso(r.submitted_at, 'submitted_at'),
    score: r.score,
    comment_count: r.comment_count,
    ...versioned(event),
    is_deleted: 0,
  };
  return ok([rowsOf('survey_responses', [row])]);
};

const mapOutcomeTarget: Mapper = (event) => {
  const r = parsePayload(outcomeTargetRow, event.data, event);
  const row: OutcomeTargetRow = {
    program: r.program,
    outcome: r.outcome,
    target: r.target,
    direction: r.direction,
    due: r.due,
    unit: r.unit ?? '',
    set_at: iso(r.set_at, 'set_at'),
    rationale: r.rationale ?? '',
    ...versioned(event),
  };
  return ok([rowsOf('outcome_targets', [row])]);
};

const mapOutcomeActual: Mapper = (event) => {
  const r = parsePayload(outcomeActualRow, event.data, event);
  const row: OutcomeActualRow = {
    program: r.program,
    outcome: r.outcome,
    observed_at: iso(r.observed_at, 'observed_at'),
    value: r.value,
    origin: ORIGINS[event.connector] ?? 'import',
    ...versioned(event),
  };
  return ok([rowsOf('outcome_actuals', [row])]);
};

const mapAdopter: Mapper = (event) => {
  const r = parsePayload(adopterRow, event.data, event);
  const row: AdopterRow = {
    program: r.program,
    adopter: r.adopter,
    adopter_kind: r.kind,
    target_date: r.target_date,
    enabled_at: r.enabled_at === undefined ? null : iso(r.enabled_at, 'enabled_at'),
    jira_issue: r.jira_issue ?? '',
    jira_label: r.jira_label ?? '',
    ...versioned(event),
    is_deleted: 0,
  };
  return ok([rowsOf('adopters', [row])]);
};

const mapCostRow: Mapper = (event) => {
  const r = parsePayload(costRow, event.data, event);
  const row: CostRowRow = {
    // A FOCUS row has no id: its content is its identity, as in the event's subject.
    row_id: contentHash(r),
    charge_period_start: iso(r.ChargePeriodStart, 'ChargePeriodStart'),
    charge_period_end: iso(r.ChargePeriodEnd, 'ChargePeriodEnd'),
    billed_cost: r.BilledCost,
    effective_cost: r.EffectiveCost ?? null,
    currency: r.BillingCurrency,
    charge_category: r.ChargeCategory ?? '',
    provider: r.ProviderName ?? '',
    sub_account_id: r.SubAccountId ?? '',
    sub_account_name: r.SubAccountName ?? '',
    service_name: r.ServiceName ?? '',
    resource_id: r.ResourceId ?? '',
    tags: r.Tags,
    ...versioned(event),
  };
  return ok([rowsOf('cost_rows', [row])]);
};

const MAPPERS: Record<IngestKind, Mapper> = {
  readiness_check: mapReadinessCheck,
  survey_response: mapSurveyResponse,
  outcome_target: mapOutcomeTarget,
  outcome_actual: mapOutcomeActual,
  adopter: mapAdopter,
  cost_row: mapCostRow,
};

export const ingestMappers: SourceMappers = {
  source: 'ingest',
  mappers: Object.fromEntries(Object.entries(MAPPERS).map(([kind, mapper]) => [`ingest.${kind}`, mapper])),
};
