/**
 * The demo organisation's facts from outside the trackers, as its intake would take them in: readiness
 * checks at each release's go/no-go, survey answers, outcome targets (one revised) with their actuals,
 * planned adopters, and a daily FOCUS cost export. Seeded like the rest of the demo, and never dated
 * after its `now`.
 */
import { ingestRecord, INGEST_KINDS, type IngestKind, type IngestPayload } from '../../schemas/ingest.js';
import type { SourceRecord } from '../../schemas/raw-event.js';
import type { Version } from './jira.js';
import type { Window } from './model.js';
import { demoCostAccount, TEAM_DAILY_COST, type Organisation } from './org.js';
import type { Rng } from './prng.js';
import { DAY, HOUR, isoDate, isoSeconds, WEEK } from './time.js';

const CHECKS = [
  'Load test at peak traffic',
  'Security review',
  'Runbook updated',
  'Rollback rehearsed',
  'On-call briefed',
  'Release notes',
];
const WAIVERS = ['covered by the previous release', 'accepted by the program lead for a low-risk change', 'feature flag off at launch'];
const OUTCOMES: Array<{ name: string; unit: string; direction: 'at_least' | 'at_most'; start: number; target: number; noise: number }> = [
  { name: 'checkout_conversion', unit: 'ratio', direction: 'at_least', start: 0.027, target: 0.032, noise: 0.0008 },
  { name: 'p95_latency_ms', unit: 'ms', direction: 'at_most', start: 520, target: 350, noise: 25 },
  { name: 'availability', unit: 'ratio', direction: 'at_least', start: 0.9985, target: 0.9995, noise: 0.0002 },
  { name: 'mttr_minutes', unit: 'min', direction: 'at_most', start: 95, target: 60, noise: 8 },
];
const ADOPTERS: Array<{ name: string; kind: 'team' | 'customer' }> = [
  { name: 'Mobile apps', kind: 'team' },
  { name: 'Partner API', kind: 'team' },
  { name: 'Web storefront', kind: 'team' },
  { name: 'Globex Retail', kind: 'customer' },
  { name: 'Initech Travel', kind: 'customer' },
];

/** A row checked by its kind's schema, as every intake path checks it: the demo writes rows, not records. */
function record<K extends IngestKind>(kind: K, row: unknown): SourceRecord {
  return ingestRecord(kind, INGEST_KINDS[kind].schema.parse(row) as IngestPayload<K>);
}

/** Readiness checks of each version whose go/no-go (its planned date) has come, or whose checks have started. */
function readiness(rng: Rng, org: Organisation, versions: readonly Version[], window: Window): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const v of versions) {
    const goNoGo = Date.parse(`${v.releaseDate}T00:00:00Z`);
    for (const [i, check] of CHECKS.entries()) {
      // The checks are run over the days before the go/no-go, the last ones on the day before.
      const checkedAt = goNoGo - (CHECKS.length - i) * DAY + 15 * HOUR;
      if (checkedAt > window.now || checkedAt < window.start) continue;
      const status = rng.weighted<'pass' | 'fail' | 'waived'>([
        ['pass', 86],
        ['fail', 8],
        ['waived', 6],
      ]);
      out.push(
        record('readiness_check', {
          program: v.team.program.id,
          release: v.name,
          check,
          status,
          go_no_go: v.releaseDate,
          checked_at: isoSeconds(checkedAt),
          ...(status === 'waived' ? { rationale: rng.pick(WAIVERS) } : {}),
          owner: v.team.name,
        }),
      );
    }
  }
  return out;
}

/** Each month, a few stakeholders and more engineers answer each program's survey; some months too few to show. */
function surveys(rng: Rng, org: Organisation, window: Window): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const program of org.programs) {
    for (let month = window.start; month < window.now; month += 30 * DAY) {
      const answers = [
        { survey: 'stakeholder_satisfaction' as const, count: rng.int(3, 9), scores: [3, 4, 4, 4, 5, 5] },
        { survey: 'engineering_sentiment' as const, count: rng.int(5, 12), scores: [1, 2, 3, 3, 4, 4, 5] },
      ];
      for (const { survey, count, scores } of answers) {
        for (let i = 0; i < count; i++) {
          const at = month + rng.int(1, 29) * DAY + rng.int(8, 18) * HOUR;
          if (at > window.now) continue;
          out.push(
            record('survey_response', {
              survey,
              program: program.id,
              response_id: `${program.id}-${survey}-${isoDate(month)}-${i}`,
              submitted_at: isoSeconds(at),
              score: rng.pick(scores),
              comment_count: rng.int(0, 2),
            }),
          );
        }
      }
    }
  }
  return out;
}

/** Two outcome targets per program, the second revised with its rationale; weekly actuals moving toward the targets. */
function outcomes(rng: Rng, org: Organisation, window: Window): SourceRecord[] {
  const out: SourceRecord[] = [];
  const span = window.now - window.start;
  org.programs.forEach((program, p) => {
    for (let k = 0; k < 2; k++) {
      const o = OUTCOMES[(2 * p + k) % OUTCOMES.length]!;
      const setAt = window.start + DAY;
      // The first is due two thirds into the history, the second at its end (after a revision).
      const due = k === 0 ? window.start + Math.floor((span * 2) / 3) : window.now;
      const base = { program: program.id, outcome: o.name, direction: o.direction, unit: o.unit };
      out.push(record('outcome_target', { ...base, target: o.target, due: isoDate(due - WEEK), set_at: isoSeconds(setAt) }));
      if (k === 1) {
        const eased = o.start + (o.target - o.start) * 0.8;
        out.push(
          record('outcome_target', {
            ...base,
            target: Number(eased.toPrecision(4)),
            due: isoDate(due),
            set_at: isoSeconds(window.start + Math.floor(span / 2)),
            rationale: 'the traffic mix changed after the spring launch',
          }),
        );
      }
      // Weekly values from the start value toward the target (the first outcome reaches it, the second falls short).
      const reach = k === 0 ? 1.05 : 0.75;
      for (let at = window.start + WEEK; at <= window.now; at += WEEK) {
        const progress = Math.min(1, (at - window.start) / Math.max(1, due - window.start));
        const value = o.start + (o.target - o.start) * progress * reach + rng.float(-o.noise, o.noise);
        out.push(
          record('outcome_actual', {
            program: program.id,
            outcome: o.name,
            value: Number(value.toPrecision(6)),
            observed_at: isoSeconds(at),
          }),
        );
      }
    }
  });
  return out;
}

/** Planned adopters of each program over the history: most enabled by their date, some late, some not yet. */
function adopters(rng: Rng, org: Organisation, window: Window): SourceRecord[] {
  const out: SourceRecord[] = [];
  const span = window.now - window.start;
  for (const program of org.programs) {
    ADOPTERS.forEach((a, i) => {
      const target = window.start + Math.floor((span * (i + 1)) / (ADOPTERS.length + 1));
      const outcome = rng.weighted<'on time' | 'late' | 'not yet'>([
        ['on time', 70],
        ['late', 18],
        ['not yet', 12],
      ]);
      const enabledAt =
        outcome === 'on time' ? target - rng.int(1, 20) * DAY : outcome === 'late' ? target + rng.int(3, 30) * DAY : undefined;
      out.push(
        record('adopter', {
          program: program.id,
          adopter: a.name,
          kind: a.kind,
          target_date: isoDate(target),
          ...(enabledAt !== undefined && enabledAt <= window.now ? { enabled_at: isoSeconds(enabledAt + 10 * HOUR) } : {}),
        }),
      );
    });
  }
  return out;
}

/**
 * A daily FOCUS export: each team's account, tagged with its program (some rows untagged, which their
 * account allocates), and a shared account that no program claims.
 */
function costs(rng: Rng, org: Organisation, window: Window): SourceRecord[] {
  const out: SourceRecord[] = [];
  const firstDay = Math.ceil(window.start / DAY) * DAY;
  for (let day = firstDay; day + DAY <= window.now; day += DAY) {
    const period = {
      ChargePeriodStart: isoSeconds(day),
      ChargePeriodEnd: isoSeconds(day + DAY),
      BillingCurrency: 'USD',
      ProviderName: 'AWS',
    };
    for (const team of org.teams) {
      const cost = TEAM_DAILY_COST * rng.float(0.8, 1.3);
      const tagged = rng.chance(0.9);
      out.push(
        record('cost_row', {
          ...period,
          BilledCost: Number(cost.toFixed(2)),
          EffectiveCost: Number((cost * 0.93).toFixed(2)),
          ChargeCategory: 'Usage',
          SubAccountId: demoCostAccount(team),
          SubAccountName: `${team.name} production`,
          ServiceName: rng.pick(['Amazon Elastic Compute Cloud', 'Amazon Relational Database Service', 'Amazon Simple Storage Service']),
          Tags: tagged ? { program: team.program.id, team: team.id } : { team: team.id },
        }),
      );
    }
    out.push(
      record('cost_row', {
        ...period,
        BilledCost: Number((40 * rng.float(0.9, 1.1)).toFixed(2)),
        ChargeCategory: 'Usage',
        SubAccountId: 'acme-shared-platform',
        SubAccountName: 'Shared platform',
        ServiceName: 'Amazon CloudWatch',
        Tags: {},
      }),
    );
  }
  return out;
}

/** Every fact of the demo from outside the trackers. */
export function factRecords(rng: Rng, org: Organisation, versions: readonly Version[], window: Window): SourceRecord[] {
  return [
    ...readiness(rng.fork('readiness'), org, versions, window),
    ...surveys(rng.fork('surveys'), org, window),
    ...outcomes(rng.fork('outcomes'), org, window),
    ...adopters(rng.fork('adopters'), org, window),
    ...costs(rng.fork('costs'), org, window),
  ];
}
