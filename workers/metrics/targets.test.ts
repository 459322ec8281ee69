import { describe, expect, it } from 'vitest';
import { tierOf } from './benchmarks.js';
import { METRICS } from './definitions/index.js';
import { defaultMetricsConfig } from '../../infra/config/schema.js';
import { DORA_TARGET_YEAR, FORECAST_CONFIDENCE_TARGET, grafanaThresholds, statusAgainst, statusOf, TARGETS, targetOf } from './targets.js';

describe('targets', () => {
  it('reads the catalogue ranges with their edges: the lower end of a band belongs to it', () => {
    expect([0.79, 0.8, 0.89, 0.9, 1].map((v) => statusOf('milestone_on_time_rate_original', v))).toEqual([
      'red',
      'amber',
      'amber',
      'green',
      'green',
    ]);
    expect([0.84, 0.85, 0.95].map((v) => statusOf('action_item_closure_rate', v))).toEqual(['red', 'amber', 'green']);
    expect([0.05, 0.1, 0.149, 0.15].map((v) => statusOf('change_failure_rate', v))).toEqual(['green', 'amber', 'amber', 'red']);
    // schedule variance in percent of the planned duration; early (negative) is fine
    expect([-20, 9.9, 10, 15].map((v) => statusOf('schedule_variance_percent_p50', v))).toEqual(['green', 'green', 'amber', 'red']);
    expect([13.9, 14].map((v) => statusOf('dependency_age_mean_days', v))).toEqual(['green', 'red']);
    // 5 business days: under 5 calendar days surely, from 7 surely not
    expect([119, 120, 167, 168].map((v) => statusOf('decision_latency_p50', v))).toEqual(['green', 'amber', 'amber', 'red']);
    expect([-0.25, -0.15, 0, 0.15, 0.2].map((v) => statusOf('effort_variance', v))).toEqual(['red', 'amber', 'green', 'amber', 'red']);
  });

  it('has no status without a target or a value', () => {
    expect(statusOf('throughput', 3)).toBeUndefined();
    expect(statusOf('change_failure_rate', null)).toBeUndefined();
    expect(statusOf('change_failure_rate', Number.NaN)).toBeUndefined();
  });

  it('places DORA values as the latest report tiers them: elite and high green, medium amber, low red', () => {
    const status = { elite: 'green', high: 'green', medium: 'amber', low: 'red' } as const;
    for (const [metric, values] of [
      ['deployment_frequency', [0, 0.1, 0.5, 1, 3, 7, 20]],
      ['change_lead_time_p50', [0, 12, 24, 100, 168, 500, 731, 5000]],
      ['failed_deployment_recovery_time_p50', [0, 0.5, 1, 23, 24, 167, 168, 1000]],
    ] as const) {
      for (const v of values) expect(statusOf(metric, v), `${metric} ${v}`).toBe(status[tierOf(DORA_TARGET_YEAR, metric, v)!]);
    }
  });

  it('are bands from the lowest value up, each a metric the product computes unless marked otherwise', () => {
    const ids = new Set(METRICS.map((m) => m.id));
    expect(new Set(TARGETS.map((t) => t.metric)).size).toBe(TARGETS.length);
    for (const t of TARGETS) {
      expect(t.bands[0]!.from, t.metric).toBeNull();
      const froms = t.bands.slice(1).map((b) => b.from!);
      expect(froms, t.metric).toEqual([...froms].sort((a, b) => a - b));
      expect(new Set(froms).size, t.metric).toBe(froms.length);
      expect(ids.has(t.metric), t.metric).toBe(t.computed);
    }
    // every "Existing target" of the catalogue is there
    for (const id of [
      'milestone_on_time_rate_original',
      'schedule_variance_percent_p50',
      'dependency_age_mean_days',
      'decision_latency_p50',
    ]) {
      expect(targetOf(id), id).toBeDefined();
    }
  });

  it('become Grafana thresholds step by step', () => {
    expect(grafanaThresholds(targetOf('change_failure_rate')!)).toEqual({
      mode: 'absolute',
      steps: [
        { color: 'green', value: null },
        { color: 'orange', value: 0.1 },
        { color: 'red', value: 0.15 },
      ],
    });
  });

  it("colours a forecast's confidence as its default band reads it: off track red, at risk amber, on track green", () => {
    const { atRisk, onTrack } = defaultMetricsConfig().forecast;
    expect(FORECAST_CONFIDENCE_TARGET.bands.map((b) => b.from)).toEqual([null, atRisk, onTrack]);
    expect([0, 0.49, 0.5, 0.79, 0.8, 1].map((v) => statusAgainst(FORECAST_CONFIDENCE_TARGET, v))).toEqual([
      'red',
      'red',
      'amber',
      'amber',
      'green',
      'green',
    ]);
    expect(statusAgainst(FORECAST_CONFIDENCE_TARGET, null)).toBeUndefined();
    // not a metric of metric_values
    expect(targetOf(FORECAST_CONFIDENCE_TARGET.metric)).toBeUndefined();
    expect(grafanaThresholds(FORECAST_CONFIDENCE_TARGET).steps).toEqual([
      { color: 'red', value: null },
      { color: 'orange', value: 0.5 },
      { color: 'green', value: 0.8 },
    ]);
  });
});
