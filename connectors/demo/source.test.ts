import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import type { Store } from '../../infra/store/client.js';
import { queryRows, tempDir, testStore } from '../../test/support/harness.js';
import { demoOrgConfig } from './generator.js';
import { DEMO_ANCHORS_TABLE, demoAnchor, loadDemo, loadDemoOrgConfig } from './source.js';

const config = (demo: { seed?: number; months?: number; teams?: number } = {}, dataDir = tempDir()) =>
  loadConfig({ env: { PTEL_DATA_DIR: dataDir }, cwd: tempDir(), overrides: { demo } });

const day = (iso: string) => fixedClock(Date.parse(iso));

async function anchorRows(store: Store): Promise<number> {
  const [r] = await queryRows<{ n: string }>(store, `SELECT count() AS n FROM ${DEMO_ANCHORS_TABLE}`);
  return Number(r!.n);
}

describe("the demo's anchor, kept in the store", () => {
  it("is the clock's UTC day the first time, and the same for every later reader whatever its clock says", async () => {
    const store = await testStore();
    const c = config();
    const first = await demoAnchor(store, c, day('2024-02-29T17:45:00Z'));
    expect(first).toEqual({ seed: 42, months: 6, teams: 4, now: '2024-02-29T00:00:00.000Z' });
    expect(await demoAnchor(store, c, day('2024-06-01T00:00:00Z'))).toEqual(first);
    // Another process of the deployment, with a data folder of its own: the same anchor.
    expect(await demoAnchor(store, config({}, tempDir()), day('2025-01-01T00:00:00Z'))).toEqual(first);
    expect(await anchorRows(store)).toBe(1);
    await store.close();
  });

  it('converges when processes decide at once: each reads back the earliest anchor written', async () => {
    const store = await testStore();
    const c = config();
    // Another process wrote its anchor (an earlier day) between this one's look and its write.
    const racing: Store = {
      ...store,
      client: new Proxy(store.client, {
        get(target, prop) {
          const own = Reflect.get(target, prop, target) as unknown;
          if (prop !== 'insert') return typeof own === 'function' ? (own as (...a: unknown[]) => unknown).bind(target) : own;
          return async (params: Parameters<Store['client']['insert']>[0]) => {
            const values = [{ seed: 42, months: 6, teams: 4, now: '2024-03-09T00:00:00.000Z', written_at: '2024-03-09T23:59:59.000Z' }];
            await target.insert({ table: DEMO_ANCHORS_TABLE, values, format: 'JSONEachRow' });
            return target.insert(params);
          };
        },
      }),
    };
    expect((await demoAnchor(racing, c, day('2024-03-10T00:00:01Z'))).now).toBe('2024-03-09T00:00:00.000Z');
    expect((await demoAnchor(store, c, day('2024-03-11T08:00:00Z'))).now).toBe('2024-03-09T00:00:00.000Z');
    expect(await anchorRows(store)).toBe(2);

    // Processes deciding on the same day write the same anchor.
    const together = await Promise.all([1, 2, 3].map((h) => demoAnchor(store, config({ seed: 7 }), day(`2024-05-05T0${h}:00:00Z`))));
    expect(new Set(together.map((a) => a.now))).toEqual(new Set(['2024-05-05T00:00:00.000Z']));
    await store.close();
  });

  it('is one per seed and size: another seed or size starts its own', async () => {
    const store = await testStore();
    const a = await demoAnchor(store, config(), day('2024-01-10T12:00:00Z'));
    const b = await demoAnchor(store, config({ teams: 2 }), day('2024-01-20T12:00:00Z'));
    expect(a.now).toBe('2024-01-10T00:00:00.000Z');
    expect(b).toEqual({ seed: 42, months: 6, teams: 2, now: '2024-01-20T00:00:00.000Z' });
    expect(await demoAnchor(store, config(), day('2024-02-01T00:00:00Z'))).toEqual(a);
    await store.close();
  });

  it("takes over the anchor an earlier version kept in an embedded store's data folder", async () => {
    const store = await testStore();
    const dataDir = tempDir();
    writeFileSync(
      path.join(dataDir, 'demo-anchor.json'),
      JSON.stringify({ seed: 42, now: '2023-11-05T00:00:00.000Z', months: 6, teams: 4 }),
    );
    expect((await demoAnchor(store, config({}, dataDir), day('2024-01-01T00:00:00Z'))).now).toBe('2023-11-05T00:00:00.000Z');
    await store.close();
  });

  it('says to run ptel migrate when its table is missing', async () => {
    const store = await testStore(undefined, { migrate: false });
    await expect(demoAnchor(store, config(), day('2024-01-01T00:00:00Z'))).rejects.toThrow(
      `the demo's anchor table 'demo_anchors' does not exist in database '${store.database}': run ptel migrate first`,
    );
    await store.close();
  });
});

describe("the demo's org mapping", () => {
  it('depends on the seed and the number of teams alone, so a normalizer maps without the anchor or the history', async () => {
    const store = await testStore();
    const c = config({ months: 1, teams: 2 });
    const demo = await loadDemo(store, c, day('2024-04-04T00:00:00Z'));
    expect(loadDemoOrgConfig(c)).toEqual(demo.org);
    expect(demoOrgConfig({ seed: 42, teams: 2, months: 9, now: new Date('2020-01-01T00:00:00Z') })).toEqual(demo.org);
    expect(demoOrgConfig({ seed: 43, teams: 2 })).not.toEqual(demo.org);
    await store.close();
  });
});
