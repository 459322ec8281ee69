import type { MetricDefinition } from '../types.js';
import { DORA_METRICS } from './dora.js';
import { FLOW_METRICS } from './program-flow.js';
import { PROGRAM_FACT_METRICS } from './program-facts.js';
import { PLAN_METRICS } from './program-plan.js';
import { QUALITY_METRICS } from './quality.js';

/** Every metric the pipeline computes, by group (docs/metrics.md). */
export const METRICS: MetricDefinition[] = [...DORA_METRICS, ...QUALITY_METRICS, ...PLAN_METRICS, ...FLOW_METRICS, ...PROGRAM_FACT_METRICS];

export function metricById(id: string): MetricDefinition | undefined {
  return METRICS.find((m) => m.id === id);
}
