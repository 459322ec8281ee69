import { existsSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it, vi } from 'vitest';
import { fixedClock } from '../infra/clock.js';
import { loadConfig } from '../infra/config/load.js';
import { queryRows, tempDir, testStore } from '../test/support/harness.js';
import type * as Generator from '../connectors/demo/generator.js';
import { resolveOrganisation } from './organisation.js';

const generated = vi.hoisted(() => ({ count: 0 }));

vi.mock('../connectors/demo/generator.js', async (importOriginal) => {
  const original = await importOriginal<typeof Generator>();
  return {
    ...original,
    generateDemoOrg: (...args: Parameters<typeof original.generateDemoOrg>) => {
      generated.count++;
      return original.generateDemoOrg(...args);
    },
  };
});

describe('the demo organisation of a process', () => {
  it('maps (a normalizer at start) without generating the history, reading the anchor or writing a file; the history is generated once, when asked', async () => {
    const dataDir = tempDir();
    const config = loadConfig({ env: { PTEL_DATA_DIR: dataDir }, cwd: tempDir() });
    const started = performance.now();
    const organisation = resolveOrganisation(config, fixedClock(Date.parse('2026-05-05T10:00:00Z')));
    const context = organisation.mapContext();
    const ms = performance.now() - started;
    expect(organisation.kind).toBe('demo');
    expect(context.org.programs.length).toBeGreaterThan(0);
    expect(generated.count).toBe(0);
    // The whole history (9,000 entity versions by default) takes seconds; the org mapping alone a few milliseconds.
    expect(ms).toBeLessThan(500);
    expect(existsSync(path.join(dataDir, 'demo-anchor.json'))).toBe(false);

    const store = await testStore();
    const history = await organisation.demoRecords(store);
    expect(history?.now).toBe('2026-05-05T00:00:00.000Z');
    expect(history?.records.length).toBeGreaterThan(1000);
    expect(await organisation.demoRecords(store)).toBe(history);
    expect(generated.count).toBe(1);
    const [anchors] = await queryRows<{ n: string }>(store, 'SELECT count() AS n FROM demo_anchors');
    expect(Number(anchors!.n)).toBe(1);
    expect(existsSync(path.join(dataDir, 'demo-anchor.json'))).toBe(false);
    await store.close();
  });
});
