import { contentHash, type IngestKind } from '../../schemas/ingest.js';

/** One valid row of each kind, as JSON would send it, and the subject it must get. */
export const VALID_ROWS: Record<IngestKind, { row: Record<string, unknown>; subject: string; time: string }> = {
  readiness_check: {
    row: {
      program: 'payments',
      release: '2026.12',
      check: 'Load test',
      status: 'waived',
      go_no_go: '2026-12-10',
      rationale: 'same load as 2026.11',
    },
    subject: 'readiness/payments/2026.12/Load test',
    time: '2026-12-10T00:00:00.000Z',
  },
  survey_response: {
    row: { survey: 'stakeholder_satisfaction', program: 'payments', response_id: 'r-17', submitted_at: '2026-11-30T17:00:00Z', score: 4 },
    subject: `survey/stakeholder_satisfaction/${contentHash(['survey', 'stakeholder_satisfaction', 'r-17'])}`,
    time: '2026-11-30T17:00:00.000Z',
  },
  outcome_target: {
    row: {
      program: 'payments',
      outcome: 'checkout_conversion',
      target: 0.42,
      direction: 'at_least',
      due: '2027-03-31',
      set_at: '2026-10-01T09:00:00Z',
    },
    subject: 'outcome/payments/checkout_conversion/target',
    time: '2026-10-01T09:00:00.000Z',
  },
  outcome_actual: {
    row: { program: 'payments', outcome: 'checkout_conversion', value: 0.39, observed_at: '2026-11-01T00:00:00+01:00' },
    subject: 'outcome/payments/checkout_conversion/actual/2026-10-31T23:00:00.000Z',
    time: '2026-10-31T23:00:00.000Z',
  },
  adopter: {
    row: { program: 'payments', adopter: 'team-ledger', target_date: '2026-12-31', enabled_at: '2026-12-02T10:00:00Z' },
    subject: 'adopter/payments/team-ledger',
    time: '2026-12-02T10:00:00.000Z',
  },
  cost_row: {
    row: {
      BilledCost: '12.50',
      BillingCurrency: 'EUR',
      ChargePeriodStart: '2026-11-01T00:00:00Z',
      ChargePeriodEnd: '2026-11-02T00:00:00Z',
      ServiceName: 'Compute',
      Tags: '{"program":"payments"}',
      x_Custom: 'dropped',
    },
    subject: '',
    time: '2026-11-01T00:00:00.000Z',
  },
};
