import type { MetricDefinition } from '../types.js';
import { DORA_METRICS } from './dora.js';

/** Every metric the pipeline computes, by group (docs/metrics.md). */
export const METRICS: MetricDefinition[] = [...DORA_METRICS];

export function metricById(id: string): MetricDefinition | undefined {
  return METRICS.find((m) => m.id === id);
}
