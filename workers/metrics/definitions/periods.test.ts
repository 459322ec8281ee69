import { describe, expect, it } from 'vitest';
import { periodSupport, periodsOf } from '../types.js';
import { metricById } from './index.js';

describe('the period kinds of a metric', () => {
  it('lists them, all three when the definition names none', () => {
    expect(periodsOf(metricById('deployment_days')!)).toEqual(['week']);
    expect(periodsOf(metricById('deployments_per_week')!)).toEqual(['month']);
    expect(periodsOf(metricById('deployment_frequency')!)).toEqual(['day', 'week', 'month']);
  });

  it('says how to ask for a period kind a metric is not computed for', () => {
    expect(periodSupport(metricById('deployment_days')!, 'week')).toEqual({ ok: true });
    expect(periodSupport(metricById('deployment_days')!, 'month')).toEqual({
      ok: false,
      periods: ['week'],
      message: 'deployment_days is computed per week only; use --period week',
    });
    expect(periodSupport({ id: 'x', periods: ['week', 'month'] }, 'day')).toMatchObject({
      message: 'x is computed per week and month only; use --period with one of week, month',
    });
    expect(periodSupport(metricById('deployment_frequency')!, 'day')).toEqual({ ok: true });
  });
});
