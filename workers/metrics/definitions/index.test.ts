import { describe, expect, it } from 'vitest';
import { RISK_INDICATORS } from '../risk.js';
import { METRICS } from './index.js';

describe('the metric definitions', () => {
  it('have unique ids and cover every item of the definitions (6, the tiers, is data; 20, the signals, reads them)', () => {
    const ids = METRICS.map((m) => m.id);
    expect(new Set(ids).size).toBe(ids.length);
    const items = new Set(METRICS.map((m) => m.item));
    for (const item of [1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]) expect(items.has(item), `item ${item}`).toBe(true);
    for (const m of METRICS) expect(m.id).toMatch(/^[a-z][a-z0-9_]*$/);
  });

  it('give every risk indicator a metric that exists, read in its harmful direction', () => {
    const byId = new Map(METRICS.map((m) => [m.id, m]));
    const missing = RISK_INDICATORS.filter((i) => !byId.has(i.metric)).map((i) => i.indicator);
    expect(missing).toEqual([]);
    for (const i of RISK_INDICATORS.filter((r) => byId.has(r.metric))) expect(i.harmful).not.toBe(byId.get(i.metric)!.better);
  });
});
