import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../infra/store/client.js';
import type { MilestoneRow } from '../../schemas/domain.js';
import { queryRows, testStore } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { testParams } from '../../test/support/metrics.js';
import { blocksLinkRow, historyRow, milestoneDateRow, milestoneRow, workItemMaker } from '../../test/support/rows.js';
import { dependencyMatrix } from './dependencies.js';
import { milestoneRegister } from './milestones.js';
import { readRegister, registerById } from './index.js';
import { writeRegisterSnapshot } from './snapshot.js';
import type { RegisterResult } from './types.js';

/**
 * A hand-built program, taken at Monday 2026-03-16 12:00 UTC with a 30-day window (from 02-14 12:00).
 * Teams: checkout and ledger (program payments), search (program discovery). Every expected row and
 * order below is worked out by hand from these facts.
 */
const T = new Date('2026-03-16T12:00:00Z');
const PROGRAM: Record<string, string> = { checkout: 'payments', ledger: 'payments', search: 'discovery' };

const wi = workItemMaker({ programOf: PROGRAM, createdAt: '2026-01-10T09:00:00.000Z', updatedAt: '2026-03-15T09:00:00.000Z' });
const change = historyRow;
const done = { status: 'Done', status_category: 'done' } as const;
const milestone = (id: string, name: string, team: string, extra: Partial<MilestoneRow> = {}): MilestoneRow =>
  milestoneRow(id, name, team, PROGRAM[team] ?? '', { url: `https://acme.atlassian.net/m/${id}`, ...extra });
const seen = milestoneDateRow;

/** A stored forecast of Ledger rollout, made at `at`. */
const forecastRow = (at: string, f: { p85: string; confidence: number; band: string }): Record<string, unknown> => ({
  source: 'jira',
  milestone_id: 'epic/id-LED-1',
  name: 'Ledger rollout',
  program: 'payments',
  team: 'ledger',
  as_of: at,
  computed_at: at,
  committed: '2026-03-30',
  p50: f.p85,
  p85: f.p85,
  p95: f.p85,
  confidence: f.confidence,
  band: f.band,
  ok: 1,
  reason: '',
  drivers: [],
  critical_path: [],
  inputs: '{}',
  trials: 1000,
  seed: 1,
  version: 1,
});

let store: Store;

const read = (id: string, options: { asOf?: Date; program?: string; team?: string; changedOnly?: boolean } = {}): Promise<RegisterResult> =>
  readRegister(store, registerById(id)!, { params: testParams(), asOf: options.asOf ?? T, recentDays: 30, ...options });

const keys = (r: RegisterResult, column = 'item'): unknown[] => r.rows.map((row) => row[column]);

beforeAll(async () => {
  store = await testStore();
  await insertTables(store, {
    milestones: [
      milestone('version/1', 'Checkout 2.0', 'checkout', { committed_date: '2026-04-01' }),
      milestone('version/2', 'Search GA', 'search', { committed_date: '2026-03-12' }),
      milestone('epic/id-LED-1', 'Ledger rollout', 'ledger', { committed_date: '2026-03-30' }),
      milestone('version/3', 'Checkout 1.9', 'checkout', {
        state: 'done',
        raw_state: 'released',
        committed_date: '2026-03-06',
        completed_at: '2026-03-06T00:00:00.000Z',
      }),
      milestone('version/4', 'Checkout 1.8', 'checkout', {
        state: 'done',
        raw_state: 'released',
        committed_date: '2025-12-01',
        completed_at: '2025-12-01T00:00:00.000Z',
      }),
    ],
    milestone_dates: [
      // Checkout 2.0: planned for 03-01, re-planned twice by the instant (03-10, then 03-20), once more after it.
      seen('version/1', '2026-02-01T00:00:00.000Z', '2026-03-01'),
      seen('version/1', '2026-02-10T00:00:00.000Z', '2026-03-10'),
      seen('version/1', '2026-02-20T00:00:00.000Z', '2026-03-20'),
      seen('version/1', '2026-03-17T00:00:00.000Z', '2026-04-01'),
      seen('version/2', '2026-02-01T00:00:00.000Z', '2026-03-12'),
      seen('epic/id-LED-1', '2026-02-01T00:00:00.000Z', '2026-03-30'),
      seen('version/3', '2026-02-01T00:00:00.000Z', '2026-03-06'),
      seen('version/4', '2025-10-01T00:00:00.000Z', '2025-12-01'),
    ],
    work_items: [
      // Milestone scope.
      wi('CHK-1', 'story', 'checkout', { ...done, fix_versions: ['version/1'] }),
      wi('CHK-2', 'story', 'checkout', {
        status: 'In Progress',
        status_category: 'in_progress',
        fix_versions: ['version/1'],
        story_points: 5,
      }),
      wi('LED-1', 'epic', 'ledger', { summary: 'Ledger rollout', due_date: '2026-03-30', assignee: 'lee' }),
      wi('LED-2', 'story', 'ledger', { parent_id: 'id-LED-1' }),
      wi('LED-3', 'story', 'ledger'),
      wi('LED-4', 'story', 'ledger'),
      // SRC-9 has been idle since 02-20: it stalls LED-2, across programs.
      wi('SRC-9', 'task', 'search', {
        status: 'In Progress',
        status_category: 'in_progress',
        updated_at: '2026-02-20T09:00:00.000Z',
        created_at: '2026-02-01T09:00:00.000Z',
      }),
      // Risks.
      wi('R-1', 'risk', 'checkout', { severity: 'High', assignee: '', created_at: '2026-01-01T12:00:00.000Z' }),
      wi('R-2', 'risk', 'checkout', { severity: 'High', created_at: '2025-12-01T12:00:00.000Z' }),
      wi('R-3', 'risk', 'ledger', { severity: 'Low', created_at: '2026-03-10T12:00:00.000Z', fix_versions: ['version/1'] }),
      wi('R-4', 'risk', 'ledger', {
        severity: 'Medium',
        status: 'Mitigated',
        status_category: 'done',
        created_at: '2026-01-20T12:00:00.000Z',
      }),
      // Owned now, but only from 03-20: unowned at the instant.
      wi('R-5', 'risk', 'search', { severity: 'High', assignee: 'lee', created_at: '2026-02-01T12:00:00.000Z' }),
      wi('R-6', 'risk', 'search', { severity: 'High', created_at: '2026-03-17T12:00:00.000Z' }),
      // Decisions.
      wi('D-1', 'decision', 'checkout', { labels: ['Release-Critical'], created_at: '2026-03-12T09:00:00.000Z' }),
      wi('D-2', 'decision', 'checkout', { created_at: '2026-03-13T10:00:00.000Z' }),
      wi('D-3', 'decision', 'ledger', {
        status: 'Decided',
        status_category: 'done',
        resolution: 'Option B',
        created_at: '2026-03-02T10:00:00.000Z',
      }),
      wi('D-4', 'decision', 'search', { created_at: '2026-01-05T10:00:00.000Z' }),
      // Action items.
      wi('A-1', 'action', 'checkout', { due_date: '2026-03-10' }),
      wi('A-2', 'action', 'checkout', { due_date: '2026-03-20' }),
      wi('A-3', 'action', 'ledger', { ...done, due_date: '2026-03-05' }),
      wi('A-4', 'action', 'ledger', { ...done, due_date: '2026-03-01' }),
      // Due 03-11 at the instant; moved to 04-30 the next day.
      wi('A-5', 'action', 'search', { due_date: '2026-04-30' }),
    ],
    work_item_history: [
      change('CHK-1', '2026-03-01T10:00:00.000Z', 'status', 'To Do', 'Done'),
      change('R-4', '2026-03-12T10:00:00.000Z', 'status', 'To Do', 'Mitigated'),
      change('R-5', '2026-03-20T10:00:00.000Z', 'assignee', '', 'lee'),
      change('D-3', '2026-03-11T10:00:00.000Z', 'status', 'To Do', 'Decided'),
      change('A-3', '2026-03-04T10:00:00.000Z', 'status', 'To Do', 'Done'),
      change('A-4', '2026-03-03T10:00:00.000Z', 'status', 'To Do', 'Done'),
      change('A-5', '2026-03-17T10:00:00.000Z', 'duedate', '2026-03-11', '2026-04-30'),
    ],
    // Ledger rollout's forecast before the instant, and a later one the instant does not know yet.
    milestone_forecasts: [
      forecastRow('2026-03-16 06:00:00.000', { p85: '2026-04-20', confidence: 0.3, band: 'off track' }),
      forecastRow('2026-03-17 06:00:00.000', { p85: '2026-03-27', confidence: 0.9, band: 'on track' }),
    ],
    work_item_links: [
      blocksLinkRow('SRC-9', 'LED-2', '2026-02-06T12:00:00.000Z'),
      blocksLinkRow('CHK-2', 'LED-3', '2026-03-06T12:00:00.000Z'),
      // The blocker is done: no longer a dependency.
      blocksLinkRow('CHK-1', 'LED-4', '2026-02-01T12:00:00.000Z'),
    ],
  });
}, 120_000);

afterAll(async () => {
  await store.close();
});

describe('milestone register', () => {
  it('lists open and recently finished milestones by risk, with plans as they stood at the instant', async () => {
    const r = await read('milestones');
    expect(keys(r, 'title')).toEqual(['Search GA', 'Checkout 2.0', 'Ledger rollout', 'Checkout 1.9']);
    const [search, checkout, ledger, finished] = r.rows;
    expect(search).toMatchObject({ status: 'overdue', original: '2026-03-12', committed: '2026-03-12', why: 'overdue 4 days' });
    // Re-planned twice by the instant: the re-plan seen on 03-17 is not known yet.
    expect(checkout).toMatchObject({
      status: 'slipped',
      original: '2026-03-01',
      committed: '2026-03-20',
      slipped_days: 19,
      replans: 2,
      items: 2,
      remaining_items: 1,
      remaining_points: 5,
      why: 'slipped 19 days over 2 re-plans; 1 of 2 items open',
      // Only the re-plan of 02-20 is within the 30 days before the instant.
      change: 're-planned 2026-03-10 -> 2026-03-20',
    });
    expect(ledger).toMatchObject({
      status: 'on plan',
      owner: 'lee',
      stalled_dependencies: 1,
      program: 'payments',
      url: 'https://acme.atlassian.net/m/epic/id-LED-1',
      // The forecast of 03-16 06:00, not the one of 03-17.
      forecast_p85: '2026-04-20',
      confidence: 0.3,
      forecast_band: 'off track',
      why: '1 stalled dependency; forecast off track: P(on time) 0.3, P85 2026-04-20; 1 of 1 items open',
    });
    expect(milestoneRegister.board(ledger!).flag).toBe('red');
    expect(search).toMatchObject({ forecast_p85: null, confidence: null, forecast_band: '' });
    expect(finished).toMatchObject({ status: 'done on time', completed: '2026-03-06', change: 'finished' });
    expect(search!['change']).toBe('');
    expect(r.summary).toEqual([
      '3 open: 1 overdue, 1 slipped, 1 on plan with stalled dependencies, 1 on plan, 0 with no date',
      'last 30 days: 1 finished on time, 0 late; 1 re-planned, 0 new',
    ]);
  });

  it('narrows to a team, and sees a later re-plan once it has happened', async () => {
    expect(keys(await read('milestones', { team: 'checkout' }), 'title')).toEqual(['Checkout 2.0', 'Checkout 1.9']);
    const later = await read('milestones', { asOf: new Date('2026-03-18T12:00:00Z'), team: 'checkout' });
    expect(later.rows[0]).toMatchObject({ committed: '2026-04-01', replans: 3, slipped_days: 31 });
  });
});

describe('risk register', () => {
  it('orders open risks by severity, unowned first, then the recently closed; owner as it was at the instant', async () => {
    const r = await read('risks');
    expect(keys(r)).toEqual(['R-1', 'R-5', 'R-2', 'R-3', 'R-4']);
    expect(r.rows[0]).toMatchObject({ severity: 'high', owner: '', unowned: true, age_days: 74, change: '' });
    expect(r.rows[1]).toMatchObject({ owner: '', unowned: true });
    expect(r.rows[3]).toMatchObject({ severity: 'low', change: 'new', milestone: 'Checkout 2.0', milestone_date: '2026-04-01' });
    expect(r.rows[4]).toMatchObject({
      severity: 'medium',
      change: 'closed',
      closed: '2026-03-12 10:00',
      mitigation: 'mitigated or closed',
    });
    expect(r.summary).toEqual([
      '4 open: 3 high (2 without an owner, 0 being mitigated), 0 medium, 1 low, 0 unrated',
      'last 30 days: 1 raised, 1 closed',
    ]);
  });

  it('as of an earlier instant: a risk closed since is still open, one raised since is not there', async () => {
    const r = await read('risks', { asOf: new Date('2026-03-11T00:00:00Z') });
    expect(keys(r)).toEqual(['R-1', 'R-5', 'R-2', 'R-4', 'R-3']);
    expect(r.rows.find((row) => row['item'] === 'R-4')).toMatchObject({ closed: null, status: 'To Do', change: '' });
  });
});

describe('decision log', () => {
  it('puts open decisions past their target first, most overdue first, with the release-critical target of 48 h', async () => {
    const r = await read('decisions');
    expect(keys(r)).toEqual(['D-4', 'D-1', 'D-2', 'D-3']);
    expect(r.rows[0]).toMatchObject({ status: 'overdue', target: '5 business days', due_by: '2026-01-12 10:00' });
    expect(r.rows[1]).toMatchObject({ status: 'overdue', release_critical: true, target: '48 h', due_by: '2026-03-14 09:00' });
    // Friday 10:00 plus 5 business days is the next Friday 10:00.
    expect(r.rows[2]).toMatchObject({ status: 'open', due_by: '2026-03-20 10:00', latency_hours: null });
    expect(r.rows[3]).toMatchObject({ status: 'decided late', latency_hours: 216, outcome: 'Option B', decided: '2026-03-11 10:00' });
    expect(r.summary[0]).toBe('3 open: 2 past their target (1 release-critical), 1 within it');
    expect(r.rows.map((row) => row['change'])).toEqual(['', 'new', 'new', 'decided']);
    // What changed within the window, alone; the summary still counts every open decision.
    const changed = await read('decisions', { changedOnly: true });
    expect(keys(changed)).toEqual(['D-1', 'D-2', 'D-3']);
    expect(changed.summary).toEqual(r.summary);
  });
});

describe('action items', () => {
  it('lists overdue first with the due date as it was then, and the closure by due date', async () => {
    const r = await read('actions');
    expect(keys(r)).toEqual(['A-1', 'A-5', 'A-2', 'A-3', 'A-4']);
    expect(r.rows[1]).toMatchObject({ due: '2026-03-11', days_overdue: 5, status: 'overdue' });
    expect(r.rows.slice(3).map((row) => row['status'])).toEqual(['closed on time', 'closed late']);
    expect(r.summary).toEqual(['3 open: 2 overdue', 'closure by due date, actions due in the last 30 days: 1 of 4 (25.0%)']);
  });
});

describe('dependency map', () => {
  it('lists open blocking links, stalled and cross-program first, with the blocked item’s milestone', async () => {
    const r = await read('dependencies');
    expect(keys(r, 'key')).toEqual(['jira:SRC-9>LED-2', 'jira:CHK-2>LED-3']);
    expect(r.rows[0]).toMatchObject({
      blocker_title: 'SRC-9 title',
      blocker_team: 'search',
      blocked_program: 'payments',
      stalled: true,
      cross_program: true,
      cross_team: true,
      critical: true,
      milestone: 'Ledger rollout',
      milestone_date: '2026-03-30',
      age_days: 38,
    });
    expect(r.rows[1]).toMatchObject({ stalled: false, cross_team: true, cross_program: false, milestone: '', change: 'new' });
    expect(r.rows[0]!['change']).toBe('');
  });

  it('keeps a link when either item is in the program or team asked for', async () => {
    expect(keys(await read('dependencies', { program: 'discovery' }), 'key')).toEqual(['jira:SRC-9>LED-2']);
    expect(keys(await read('dependencies', { team: 'checkout' }), 'key')).toEqual(['jira:CHK-2>LED-3']);
  });

  it('pivots to a team-to-team and a program-to-program matrix', async () => {
    const r = await read('dependencies');
    expect(dependencyMatrix(r.rows, 'team').cells).toEqual({
      search: { ledger: { open: 1, stalled: 1 } },
      checkout: { ledger: { open: 1, stalled: 0 } },
    });
    expect(dependencyMatrix(r.rows, 'program').cells).toEqual({
      discovery: { payments: { open: 1, stalled: 1 } },
      payments: { payments: { open: 1, stalled: 0 } },
    });
  });
});

describe('register snapshot for the dashboards', () => {
  it('writes each register with its colour, and drops rows a later run no longer lists', async () => {
    const snap = await testStore();
    const copy = async (table: string): Promise<void> => {
      await snap.client.command({ query: `INSERT INTO ${snap.database}.${table} SELECT * FROM ${store.database}.${table}` });
    };
    for (const t of ['milestones', 'milestone_dates', 'work_items', 'work_item_history', 'work_item_links', 'milestone_forecasts'])
      await copy(t);
    try {
      const first = await writeRegisterSnapshot(snap, { params: testParams(), now: T, recentDays: 30 });
      expect(first.rows).toEqual({ milestones: 4, risks: 5, decisions: 4, actions: 5, dependencies: 2 });
      expect(first.headlines).toEqual([
        '2 of 3 open milestones overdue or slipped, 1 of 1 forecast off track',
        '4 open risks (3 high, 2 of them unowned)',
        '2 of 3 open decisions past their target',
        '2 of 3 open action items overdue',
        '1 of 2 blocking links stalled (1 across programs)',
      ]);
      const rows = await queryRows<{ register: string; item: string; position: number; flag: string; status: string; owner: string }>(
        snap,
        `SELECT register, item, position, flag, status, owner FROM register_rows FINAL WHERE register IN ('risks', 'dependencies') ORDER BY register, position`,
      );
      expect(rows.map((r) => [r.register, r.item, r.flag])).toEqual([
        ['dependencies', 'SRC-9 blocks LED-2', 'red'],
        ['dependencies', 'CHK-2 blocks LED-3', 'green'],
        ['risks', 'R-1', 'red'],
        ['risks', 'R-5', 'red'],
        ['risks', 'R-2', 'red'],
        ['risks', 'R-3', 'green'],
        ['risks', 'R-4', 'green'],
      ]);
      // Two days later with a one-day window: the closed risk is gone, the risk raised on 03-17 is in.
      const later = await writeRegisterSnapshot(snap, { params: testParams(), now: new Date('2026-03-18T12:00:00Z'), recentDays: 1 });
      expect(later.removed['risks']).toBe(1);
      const risks = await queryRows<{ item: string }>(
        snap,
        `SELECT item FROM register_rows FINAL WHERE register = 'risks' ORDER BY position`,
      );
      expect(risks.map((r) => r.item)).toEqual(['R-1', 'R-5', 'R-2', 'R-6', 'R-3']);
    } finally {
      await snap.close();
    }
  });
});
