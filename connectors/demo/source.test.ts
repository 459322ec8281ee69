import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import { tempDir } from '../../test/support/harness.js';
import { loadDemoOrgConfig } from './source.js';

describe("the demo's anchor", () => {
  it("is fixed at the clock's day the first time, and kept for the data folder whatever the clock says later", () => {
    const dataDir = tempDir();
    const config = loadConfig({ env: { PTEL_DATA_DIR: dataDir }, cwd: tempDir() });
    const anchor = (): { now: string } => JSON.parse(readFileSync(path.join(dataDir, 'demo-anchor.json'), 'utf8')) as { now: string };
    const org = loadDemoOrgConfig(config, fixedClock(Date.parse('2024-02-29T17:45:00Z')));
    expect(anchor().now).toBe('2024-02-29T00:00:00.000Z');
    expect(org.programs.length).toBeGreaterThan(0);
    expect(loadDemoOrgConfig(config, fixedClock(Date.parse('2024-06-01T00:00:00Z')))).toEqual(org);
    expect(anchor().now).toBe('2024-02-29T00:00:00.000Z');
  });
});
