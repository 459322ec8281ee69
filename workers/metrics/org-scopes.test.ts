import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../infra/clock.js';
import { defaultMetricsConfig, defaultModel, orgSchema, type OrgConfig } from '../../infra/config/schema.js';
import type { Store } from '../../infra/store/client.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { scopesOf } from './engine.js';
import { runMetricsJob } from './job.js';
import { orgScopeRows, writeOrgScopes } from './org-scopes.js';

const org = (checkoutName: string, withSearch: boolean): OrgConfig =>
  orgSchema.parse({
    programs: [
      {
        id: 'checkout-modernization',
        name: checkoutName,
        teams: [
          { id: 'payments', name: 'Payments Platform', repositories: ['Acme/Payments-API'], services: ['payments-api'] },
          ...(withSearch ? [{ id: 'search', name: 'Search & Discovery', services: [{ name: 'search-web', repositories: [] }] }] : []),
        ],
      },
      { id: 'platform-reliability', name: 'Platform Reliability', teams: [{ id: 'sre', name: 'Site Reliability' }] },
    ],
  });

type Stored = { kind: string; id: string; name: string; program: string; team: string; computed_at: string };
const stored = (store: Store): Promise<Stored[]> =>
  queryRows<Stored>(store, `SELECT kind, id, name, program, team, computed_at FROM org_scopes FINAL ORDER BY kind, id`);

describe('org scopes', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore();
  });
  afterAll(() => store.close());

  it('names every scope the metrics are computed for, with its program and team', () => {
    const o = org('Checkout Modernization', true);
    expect(orgScopeRows(o).map((r) => ({ kind: r.kind, id: r.id }))).toEqual(scopesOf(o));
    expect(orgScopeRows(o)).toContainEqual({
      kind: 'repo',
      id: 'acme/payments-api',
      name: 'Acme/Payments-API',
      program: 'checkout-modernization',
      team: 'payments',
    });
  });

  it('are written by every metrics run with the configured names, and follow the configuration', async () => {
    const config = { model: defaultModel(), metrics: defaultMetricsConfig() };
    const first = new Date('2026-10-01T08:00:00Z');
    await runMetricsJob({
      store,
      config: { ...config, org: org('Checkout Modernization', true) },
      run: { mode: 'recent' },
      definitions: [],
      periods: ['day'],
      clock: fixedClock(first),
    });
    expect(await stored(store)).toEqual([
      { kind: 'org', id: 'org', name: 'Whole organisation', program: '', team: '', computed_at: '2026-10-01 08:00:00.000' },
      {
        kind: 'program',
        id: 'checkout-modernization',
        name: 'Checkout Modernization',
        program: 'checkout-modernization',
        team: '',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'program',
        id: 'platform-reliability',
        name: 'Platform Reliability',
        program: 'platform-reliability',
        team: '',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'repo',
        id: 'acme/payments-api',
        name: 'Acme/Payments-API',
        program: 'checkout-modernization',
        team: 'payments',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'service',
        id: 'payments-api',
        name: 'payments-api',
        program: 'checkout-modernization',
        team: 'payments',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'service',
        id: 'search-web',
        name: 'search-web',
        program: 'checkout-modernization',
        team: 'search',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'team',
        id: 'payments',
        name: 'Payments Platform',
        program: 'checkout-modernization',
        team: 'payments',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'team',
        id: 'search',
        name: 'Search & Discovery',
        program: 'checkout-modernization',
        team: 'search',
        computed_at: '2026-10-01 08:00:00.000',
      },
      {
        kind: 'team',
        id: 'sre',
        name: 'Site Reliability',
        program: 'platform-reliability',
        team: 'sre',
        computed_at: '2026-10-01 08:00:00.000',
      },
    ]);

    // A later run after the program was renamed and the search team removed from the configuration.
    const later = new Date('2026-10-01T08:10:00Z');
    await runMetricsJob({
      store,
      config: { ...config, org: org('Checkout 2.0', false) },
      run: { mode: 'recent' },
      definitions: [],
      periods: ['day'],
      clock: fixedClock(later),
    });
    const now = await stored(store);
    expect(now.map((r) => `${r.kind}:${r.id}`)).toEqual([
      'org:org',
      'program:checkout-modernization',
      'program:platform-reliability',
      'repo:acme/payments-api',
      'service:payments-api',
      'team:payments',
      'team:sre',
    ]);
    expect(now.find((r) => r.id === 'checkout-modernization')).toMatchObject({
      name: 'Checkout 2.0',
      computed_at: '2026-10-01 08:10:00.000',
    });
  });

  it('refuses an instant that is not a date', async () => {
    await expect(writeOrgScopes(store, org('x', false), new Date(Number.NaN))).rejects.toThrow(/not a date/);
  });
});
