import { describe, expect, it } from 'vitest';
import { createLocalBus } from '../../infra/bus/local.js';
import { PipelineMetrics } from '../../infra/observability/metrics.js';
import { BatchWriter } from '../../infra/store/batch-writer.js';
import { rowVersion } from '../../mapping/rows.js';
import { INGEST_KINDS, ingestRecord, type IngestKind } from '../../schemas/ingest.js';
import { buildRawEvent, type RawEvent } from '../../schemas/raw-event.js';
import { ManualClock } from '../../test/support/clock.js';
import { queryRows, tempDir, testStore } from '../../test/support/harness.js';
import { mapEvents, mappedOk } from '../../test/support/mapping.js';
import { batchNormalizer } from '../../test/support/normalize.js';

const INGESTED = '2026-12-01T09:00:00.000Z';

/** The event of one row as the intake publishes it: checked by its kind's schema, then recorded. */
function eventOf(kind: IngestKind, row: Record<string, unknown>, connector = 'ingest/import', ingested = INGESTED): RawEvent {
  const parsed = INGEST_KINDS[kind].schema.parse(row) as never;
  return buildRawEvent(ingestRecord(kind, parsed), connector, new Date(ingested));
}

/** An event whose payload was not checked by the intake (a hand-made or older publisher's). */
function rawEventOf(kind: IngestKind, payload: Record<string, unknown>, subject: string): RawEvent {
  return buildRawEvent(
    { source: 'ingest', type: `ingest.${kind}`, subject, version: 'v1', time: INGESTED, payload },
    'ingest/import',
    new Date(INGESTED),
  );
}

const version = rowVersion(INGESTED);

const rows = {
  readiness: {
    program: 'payments',
    release: '2026.12',
    check: 'Load test',
    status: 'waived',
    go_no_go: '2026-12-10',
    rationale: 'ran on staging',
  },
  survey: {
    survey: 'stakeholder_satisfaction',
    program: 'payments',
    response_id: 'R_123',
    submitted_at: '2026-11-20T10:00:00+01:00',
    score: '4',
    comment_count: '2',
  },
  target: {
    program: 'payments',
    outcome: 'checkout_conversion',
    target: 0.42,
    direction: 'at_least',
    due: '2026-12-31',
    unit: 'ratio',
    set_at: '2026-09-01T00:00:00Z',
  },
  actual: { program: 'payments', outcome: 'checkout_conversion', value: '0.39', observed_at: '2026-11-30T00:00:00Z' },
  adopter: { program: 'payments', adopter: 'Team Web', target_date: '2026-12-15', jira_issue: 'PAY-7' },
  cost: {
    BilledCost: '12.5',
    BillingCurrency: 'USD',
    ChargePeriodStart: '2026-11-01T00:00:00Z',
    ChargePeriodEnd: '2026-11-02T00:00:00Z',
    ChargeCategory: 'Usage',
    ProviderName: 'AWS',
    SubAccountId: '1234',
    ServiceName: 'Amazon EC2',
    Tags: '{"program":"payments","env":"prod"}',
    x_Custom: 'not kept',
  },
} satisfies Record<string, Record<string, unknown>>;

describe('ingest mappers', () => {
  it('map each kind to its table row, versioned by the ingest time', () => {
    const events = [
      eventOf('readiness_check', rows.readiness),
      eventOf('survey_response', rows.survey),
      eventOf('outcome_target', rows.target),
      eventOf('outcome_actual', rows.actual),
      eventOf('adopter', rows.adopter),
      eventOf('cost_row', rows.cost),
    ];
    const tables = mappedOk(events);
    const cited = (i: number) => ({ raw_event_id: events[i]!.id, version });
    expect(tables).toEqual({
      readiness_checks: [
        {
          program: 'payments',
          release_name: '2026.12',
          check_name: 'Load test',
          status: 'waived',
          go_no_go: '2026-12-10',
          checked_at: '2026-12-10T00:00:00.000Z',
          rationale: 'ran on staging',
          owner: '',
          ...cited(0),
          is_deleted: 0,
        },
      ],
      survey_responses: [
        {
          survey: 'stakeholder_satisfaction',
          program: 'payments',
          response: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
          submitted_at: '2026-11-20T09:00:00.000Z',
          score: 4,
          comment_count: 2,
          ...cited(1),
          is_deleted: 0,
        },
      ],
      outcome_targets: [{ ...rows.target, set_at: '2026-09-01T00:00:00.000Z', rationale: '', ...cited(2) }],
      outcome_actuals: [
        {
          program: 'payments',
          outcome: 'checkout_conversion',
          observed_at: '2026-11-30T00:00:00.000Z',
          value: 0.39,
          origin: 'import',
          ...cited(3),
        },
      ],
      adopters: [
        {
          program: 'payments',
          adopter: 'Team Web',
          adopter_kind: 'team',
          target_date: '2026-12-15',
          enabled_at: null,
          jira_issue: 'PAY-7',
          jira_label: '',
          ...cited(4),
          is_deleted: 0,
        },
      ],
      cost_rows: [
        {
          row_id: events[5]!.subject.slice('cost/'.length),
          charge_period_start: '2026-11-01T00:00:00.000Z',
          charge_period_end: '2026-11-02T00:00:00.000Z',
          billed_cost: 12.5,
          effective_cost: null,
          currency: 'USD',
          charge_category: 'Usage',
          provider: 'AWS',
          sub_account_id: '1234',
          sub_account_name: '',
          service_name: 'Amazon EC2',
          resource_id: '',
          tags: { program: 'payments', env: 'prod' },
          ...cited(5),
        },
      ],
    });
    // The survey row holds the answer id's hash only.
    expect(JSON.stringify(tables['survey_responses'])).not.toContain('R_123');
  });

  it('take the origin of an actual from the connector that pulled it', () => {
    const origin = (connector: string) => mappedOk([eventOf('outcome_actual', rows.actual, connector)])['outcome_actuals']![0]!['origin'];
    expect(origin('outcomes/prometheus')).toBe('prometheus');
    expect(origin('outcomes/clickhouse')).toBe('clickhouse');
    expect(origin('webhook/ingest')).toBe('import');
  });

  it('dead-letter a payload that does not fit its schema, naming the field', () => {
    const { survey } = rows;
    const published = eventOf('survey_response', survey).data as Record<string, unknown>;
    const cases: Array<[RawEvent, string]> = [
      [
        rawEventOf('readiness_check', { ...rows.readiness, rationale: undefined }, 'readiness/x'),
        "field 'rationale': a waived check needs its rationale",
      ],
      [rawEventOf('survey_response', { ...published, score: 7 }, 'survey/a'), "field 'score'"],
      [rawEventOf('survey_response', { ...published, respondent: 'Ada Lovelace' }, 'survey/b'), 'respondent'],
      [
        rawEventOf('outcome_target', { ...rows.target, direction: 'up' }, 'outcome/t'),
        "field 'direction': expected one of at_least, at_most",
      ],
      [rawEventOf('outcome_actual', { ...rows.actual, value: 'n/a' }, 'outcome/a'), "field 'value': expected a number"],
      [rawEventOf('adopter', { ...rows.adopter, target_date: 'soon' }, 'adopter/a'), "field 'target_date': expected a date YYYY-MM-DD"],
      [rawEventOf('cost_row', { ...rows.cost, BillingCurrency: 'dollars' }, 'cost/a'), "field 'BillingCurrency'"],
    ];
    const { outcomes } = mapEvents(cases.map(([e]) => e));
    outcomes.forEach(({ event, outcome }, i) => {
      expect(outcome, event.type).toMatchObject({ kind: 'dead_letter', code: 'invalid_payload' });
      expect(outcome.kind === 'dead_letter' ? outcome.reason : '').toContain(cases[i]![1]);
      expect(outcome.kind === 'dead_letter' ? outcome.reason : '').toContain(`${event.type} ${event.subject}`);
    });
  });

  it('let a later arrival of the same entity win', () => {
    const first = eventOf('adopter', rows.adopter);
    const later = eventOf('adopter', { ...rows.adopter, enabled_at: '2026-12-01T12:00:00Z' }, 'ingest/import', '2026-12-02T00:00:00Z');
    expect(later.subject).toBe(first.subject);
    const [a, b] = mappedOk([first, later])['adopters']!;
    expect(Number(b!['version'])).toBeGreaterThan(Number(a!['version']));
  });
});

describe('ingest events through the normalizer', () => {
  it('store each row once, however often its event is published', async () => {
    const store = await testStore();
    const bus = createLocalBus({ dir: tempDir(), pollMs: 10 });
    const clock = new ManualClock('2026-12-01T10:00:00.000Z');
    const writer = new BatchWriter(store, { flushRows: 1000, flushIntervalMs: 20 });
    const normalize = batchNormalizer({ bus, writer, metrics: new PipelineMetrics({ defaultMetrics: false }), clock, topic: 'raw.ingest' });
    const revision = { ...rows.target, target: 0.4, set_at: '2026-11-01T00:00:00Z', rationale: 'seasonal dip' };
    const events = [
      eventOf('outcome_target', rows.target),
      eventOf('outcome_target', revision),
      eventOf('outcome_actual', rows.actual, 'outcomes/prometheus'),
      eventOf('cost_row', rows.cost),
      eventOf('survey_response', rows.survey),
    ];
    await normalize(events);
    // Published again at a later ingest time (the next interval's re-publish): the same ids.
    await normalize(events.map((e) => ({ ...e, ingesttime: '2026-12-01T11:00:00.000Z' })));
    await writer.close();

    const count = async (table: string) => Number((await queryRows<{ n: string }>(store, `SELECT count() AS n FROM ${table} FINAL`))[0]!.n);
    expect(await count('outcome_targets')).toBe(2);
    expect(await count('outcome_actuals')).toBe(1);
    expect(await count('cost_rows')).toBe(1);
    expect(await count('survey_responses')).toBe(1);

    const targets = await queryRows<{ target: number; rationale: string }>(
      store,
      'SELECT target, rationale FROM outcome_targets FINAL ORDER BY set_at',
    );
    expect(targets).toEqual([
      { target: 0.42, rationale: '' },
      { target: 0.4, rationale: 'seasonal dip' },
    ]);
    const [actual] = await queryRows<{ value: number; origin: string }>(store, 'SELECT value, origin FROM outcome_actuals FINAL');
    expect(actual).toEqual({ value: 0.39, origin: 'prometheus' });
    const [cost] = await queryRows<{ env: string; program: string }>(
      store,
      "SELECT tags['env'] AS env, tags['program'] AS program FROM cost_rows FINAL",
    );
    expect(cost).toEqual({ env: 'prod', program: 'payments' });
    await bus.close();
    await store.close();
  });
});
