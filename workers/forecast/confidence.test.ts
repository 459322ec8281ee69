import { describe, expect, it } from 'vitest';
import { programConfidence, type ForecastOfProgram } from './confidence.js';

const NOW = new Date('2026-03-16T12:00:00Z');

const forecast = (
  name: string,
  program: string,
  committed: string | null,
  confidence: number | null,
  extra: Partial<ForecastOfProgram> = {},
): ForecastOfProgram => ({
  source: 'jira',
  milestoneId: `version/${name}`,
  name,
  program,
  committed,
  confidence,
  band: confidence === null ? null : confidence >= 0.8 ? 'on track' : confidence >= 0.5 ? 'at risk' : 'off track',
  ok: confidence !== null || committed === null,
  ...extra,
});

describe('program confidence', () => {
  const forecasts = [
    forecast('Checkout 2.0', 'payments', '2026-04-30', 0.62),
    forecast('Wallet 1.0', 'payments', '2026-06-14', 0.41),
    // Lower, but due after the quarter (2026-03-16 + 90 days = 2026-06-14).
    forecast('Wallet 2.0', 'payments', '2026-06-15', 0.05),
    forecast('Refunds', 'payments', null, null, { ok: true }),
    forecast('Ledger 1.0', 'core', '2026-05-01', null, { ok: false }),
    forecast('Ledger 0.9', 'core', '2026-03-10', 0),
    forecast('Search 1.0', 'growth', '2026-09-01', 0.3),
  ];

  it('is the lowest confidence among the milestones due in the next 90 days, named with the milestone that sets it', () => {
    const [core, growth, payments] = programConfidence(forecasts, { now: NOW, days: 90 });
    expect(payments).toEqual({
      program: 'payments',
      confidence: 0.41,
      band: 'off track',
      setBy: { source: 'jira', milestoneId: 'version/Wallet 1.0', name: 'Wallet 1.0', committed: '2026-06-14' },
      due: 2,
      dueWithoutNumber: 0,
      dueBy: '2026-06-14',
      rule: 'lowest confidence among its open milestones due by 2026-06-14 (the next 90 days, overdue ones included)',
    });
    // An overdue milestone is still due; a milestone with no number is counted apart.
    expect(core).toMatchObject({ program: 'core', confidence: 0, setBy: { name: 'Ledger 0.9' }, due: 1, dueWithoutNumber: 1 });
    // Nothing due in the quarter: no confidence.
    expect(growth).toMatchObject({ program: 'growth', confidence: null, band: null, setBy: null, due: 0 });
  });

  it('takes the window it is given, days counted from the day of now in the time zone', () => {
    const shorter = programConfidence(forecasts, { now: NOW, days: 30 }).find((p) => p.program === 'payments')!;
    expect(shorter).toMatchObject({ confidence: null, dueBy: '2026-04-15', due: 0 });
    const later = programConfidence(forecasts, { now: new Date('2026-03-16T23:30:00Z'), days: 90, timeZone: 'Asia/Tokyo' })[2]!;
    // 2026-03-17 in Tokyo: 2026-06-15 is in the window, and Wallet 2.0 sets it.
    expect(later).toMatchObject({ dueBy: '2026-06-15', confidence: 0.05, setBy: { name: 'Wallet 2.0' } });
  });

  it('picks the soonest due among equal confidences, and says what is wrong with a window', () => {
    const tie = programConfidence([forecast('B', 'p', '2026-05-01', 0.5), forecast('A', 'p', '2026-04-01', 0.5)], { now: NOW });
    expect(tie[0]!.setBy?.name).toBe('A');
    expect(() => programConfidence(forecasts, { now: NOW, days: 0 })).toThrow(
      'program confidence: a window of 0 days; expected a whole number of 1 or more',
    );
  });
});
