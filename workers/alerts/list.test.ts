import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS_COMMANDS } from '../../cli/alerts-commands.js';
import { fixedClock } from '../../infra/clock.js';
import { loadConfig } from '../../infra/config/load.js';
import { configSchema, type Config } from '../../infra/config/schema.js';
import { openStore, type Store } from '../../infra/store/client.js';
import { migrate } from '../../infra/store/migrate.js';
import type { MilestoneRow, WorkItemHistoryRow } from '../../schemas/domain.js';
import { item, SCENARIO_T0 } from '../../test/support/alerts.js';
import { tempDir } from '../../test/support/harness.js';
import { insertTables } from '../../test/support/mapping.js';
import { blocksLinkRow } from '../../test/support/rows.js';
import { slackBody, webhookBody, type Notifier } from './channels.js';
import { stallBegan } from './context.js';
import { listStalls, runStallAlerts, type StallListing } from './stalls.js';
import type { AlertMessage } from './types.js';

const DAY = 86_400_000;

function milestone(id: string, kind: MilestoneRow['kind'], name: string, committed: string | null): MilestoneRow {
  return {
    source: 'jira',
    milestone_id: id,
    kind,
    name,
    project: 'CHK',
    state: 'open',
    raw_state: 'unreleased',
    start_date: null,
    committed_date: committed,
    completed_at: null,
    team: 'checkout',
    program: 'payments',
    url: '',
    raw_event_id: 'e',
    version: 1,
    is_deleted: 0,
  };
}

function dueChange(key: string, at: string, from: string, to: string): WorkItemHistoryRow {
  return {
    source: 'jira',
    item_id: `id-${key}`,
    history_id: `h-${key}-${at}`,
    field: 'duedate',
    field_id: 'duedate',
    from_value: from,
    from_string: from === '' ? '' : `${from} 00:00:00.0`,
    to_value: to,
    to_string: `${to} 00:00:00.0`,
    changed_at: at,
    author: 'someone',
    raw_event_id: 'e',
    version: 1,
  };
}

const LONG_TITLE = 'Rebuild the search index for the new catalogue schema';

/**
 * Two stalls found by the detector on Friday 2026-03-20 09:00 UTC (SCENARIO_T0):
 *   SRCH-7 blocks CHK-7: SRCH-7 (alice) idle since Monday 03-02, threshold 5 business days: 03-03 .. 03-09
 *     are the five weekdays, so the stall began at the start of Tuesday 03-10. CHK-7 (unassigned) is in
 *     version 'Release 2.4' (2026-04-01) and in a sprint: the fix version is its milestone.
 *   SRCH-8 blocks CHK-8: SRCH-8 active on 03-19, but its due date moved on 03-12 08:00 from 03-25 to
 *     04-10, after CHK-8's 04-01: the stall began then. CHK-8's milestone is its parent epic.
 */
async function seed(store: Store): Promise<void> {
  await insertTables(store, {
    work_items: [
      item('SRCH-7', 'search', { summary: LONG_TITLE, assignee: 'alice' }),
      item('CHK-7', 'checkout', { summary: 'Checkout with saved cards', fix_versions: ['version/100'], sprints: ['sprint/7'] }),
      item('SRCH-8', 'search', {
        summary: 'Payment token API',
        assignee: 'bob',
        updated_at: '2026-03-19T15:00:00.000Z',
        due_date: '2026-04-10',
      }),
      item('CHK-8', 'checkout', { summary: 'One-click refunds', assignee: 'carol', due_date: '2026-04-01', parent_id: 'id-EPIC-1' }),
    ],
    work_item_history: [dueChange('SRCH-8', '2026-03-12T08:00:00.000Z', '2026-03-25', '2026-04-10')],
    work_item_links: [
      blocksLinkRow('SRCH-7', 'CHK-7', '2026-03-02T10:00:00.000Z'),
      blocksLinkRow('SRCH-8', 'CHK-8', '2026-03-02T10:00:00.000Z'),
    ],
    milestones: [
      milestone('version/100', 'version', 'Release 2.4', '2026-04-01'),
      milestone('sprint/7', 'sprint', 'Sprint 7', '2026-03-27'),
      milestone('epic/id-EPIC-1', 'epic', 'Payments GA', '2026-04-15'),
    ],
  });
}

describe('ptel alerts list: what is stalled, whose it is, what it holds up, and since when', () => {
  let config: Config;
  let store: Store;
  const NOW = Date.parse('2026-03-24T12:00:00Z'); // Tuesday, four days after the detector found both

  beforeAll(async () => {
    const dataDir = tempDir();
    config = loadConfig({ env: {}, cwd: tempDir(), overrides: { dataDir } });
    // The store the command opens: the embedded engine under the data folder.
    store = await openStore({ kind: 'embedded', path: path.join(dataDir, 'clickhouse'), database: config.clickhouse.database });
    await migrate(store);
    await seed(store);
    const r = await runStallAlerts({ store, config, notifiers: new Map(), clock: fixedClock(SCENARIO_T0) });
    expect(r.opened.map((a) => a.linkKey).sort()).toEqual(['jira:SRCH-7>CHK-7', 'jira:SRCH-8>CHK-8']);
  });
  afterAll(() => store.close());

  it('gives each stall its titles, owners, milestone and URL, and its duration from when it began, on the clock given', async () => {
    const clock = fixedClock(NOW);
    const stalls = await listStalls(store, config, { status: 'open' }, clock.now());
    const byKey = new Map(stalls.map((s) => [s.linkKey, s]));
    expect(byKey.get('jira:SRCH-7>CHK-7')).toMatchObject({
      blockerTitle: LONG_TITLE,
      blockerOwner: 'alice',
      blockedTitle: 'Checkout with saved cards',
      blockedOwner: null,
      program: 'payments',
      milestone: { id: 'version/100', kind: 'version', name: 'Release 2.4', committedDate: '2026-04-01' },
      blockerUrl: 'https://acme.atlassian.net/browse/SRCH-7',
      openedAt: SCENARIO_T0,
      beganAt: Date.parse('2026-03-10T00:00:00Z'),
      stalledDays: 14.5, // 03-10 00:00 to 03-24 12:00; from opened_at it would be 4.1
    });
    expect(byKey.get('jira:SRCH-8>CHK-8')).toMatchObject({
      blockerTitle: 'Payment token API',
      blockerOwner: 'bob',
      blockedOwner: 'carol',
      milestone: { id: 'epic/id-EPIC-1', kind: 'epic', name: 'Payments GA', committedDate: '2026-04-15' },
      beganAt: Date.parse('2026-03-12T08:00:00Z'),
      stalledDays: 12.2,
    });
    // A day later on the clock, a day longer.
    const later = await listStalls(store, config, { status: 'open' }, fixedClock(NOW + DAY).now());
    expect(later.find((s) => s.linkKey === 'jira:SRCH-7>CHK-7')!.stalledDays).toBe(15.5);
  });

  it('measures a stall begun through a due date from the link when the due dates always disagreed, and never after it was found', () => {
    const alert = {
      daysStalled: 0,
      thresholdDays: 5,
      reason: 'blocker due 2026-04-10 after blocked item due 2026-04-01',
      openedAt: SCENARIO_T0,
    };
    const link = Date.parse('2026-03-05T10:00:00Z');
    expect(stallBegan(alert, { idleBeganAt: null, dueAfterSince: null, linkCreatedAt: link })).toBe(link);
    // Idle and due after: the earlier, but not before the link existed.
    const both = { ...alert, daysStalled: 13, reason: `idle 13 business days; ${alert.reason}` };
    const idleSince = Date.parse('2026-03-10T00:00:00Z');
    expect(stallBegan(both, { idleBeganAt: idleSince, dueAfterSince: Date.parse('2026-03-12T08:00:00Z'), linkCreatedAt: link })).toBe(
      idleSince,
    );
    expect(stallBegan(both, { idleBeganAt: idleSince, dueAfterSince: null, linkCreatedAt: Date.parse('2026-03-16T10:00:00Z') })).toBe(
      Date.parse('2026-03-16T10:00:00Z'),
    );
    expect(stallBegan(both, { idleBeganAt: SCENARIO_T0 + DAY, dueAfterSince: null, linkCreatedAt: null })).toBe(SCENARIO_T0);
  });

  const list = async (values: Record<string, string | boolean>): Promise<{ code: number; out: string; err: string }> => {
    const out = new PassThrough();
    const err = new PassThrough();
    let o = '';
    let e = '';
    out.on('data', (d: Buffer) => (o += d.toString()));
    err.on('data', (d: Buffer) => (e += d.toString()));
    const code = await ALERTS_COMMANDS['alerts']!.run({ config, values, positionals: ['list'], out, err });
    return { code, out: o, err: e };
  };

  it('prints a table of readable width with the new columns, long titles cut with an ellipsis', async () => {
    const r = await list({ 'as-of': '2026-03-24T12:00:00Z' });
    expect(r.code, r.err).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^blocker\s+owner\s+blocked\s+owner\s+program\s+milestone\s+stalled\s+blocker url$/);
    const row = lines.find((l) => l.startsWith('SRCH-7 '))!;
    expect(row.split(/ {2,}/)).toEqual([
      'SRCH-7 Rebuild the search…',
      'alice',
      'CHK-7 Checkout with saved…',
      '-',
      'payments',
      'Release 2.4 2026-04-01',
      '14.5d',
      'https://acme.atlassian.net/browse/SRCH-7',
    ]);
    expect(lines.find((l) => l.startsWith('SRCH-8 '))!.split(/ {2,}/)).toEqual([
      'SRCH-8 Payment token API',
      'bob',
      'CHK-8 One-click refunds',
      'carol',
      'payments',
      'Payments GA 2026-04-15',
      '12.2d',
      'https://acme.atlassian.net/browse/SRCH-8',
    ]);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(160);
    // The widest cells a row can have still fit in about 160 characters.
    const widest = 26 + 10 + 26 + 10 + 10 + '12345678901 2026-04-01'.length + 'stalled'.length + row.split(/ {2,}/)[7]!.length + 7 * 2;
    expect(widest).toBeLessThanOrEqual(166);
  });

  it('prints one JSON document with every field for --format json, one object a line for jsonl', async () => {
    const json = await list({ format: 'json', 'as-of': '2026-03-24T12:00:00Z' });
    expect(json.code, json.err).toBe(0);
    const doc = JSON.parse(json.out) as StallListing[];
    expect(doc.map((s) => s.linkKey)).toEqual(['jira:SRCH-7>CHK-7', 'jira:SRCH-8>CHK-8']);
    expect(doc[0]).toMatchObject({
      blocker: 'SRCH-7',
      blockerTitle: LONG_TITLE,
      blockedOwner: null,
      milestone: { name: 'Release 2.4', committedDate: '2026-04-01' },
      stalledDays: 14.5,
      status: 'opened',
      reason: expect.stringMatching(/^idle 13 business days/) as unknown,
    });
    const jsonl = await list({ format: 'jsonl', 'as-of': '2026-03-24T12:00:00Z' });
    expect(
      jsonl.out
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as StallListing),
    ).toEqual(doc);
    const bad = await list({ format: 'yaml' });
    expect([bad.code, bad.err]).toEqual([2, "ptel alerts: --format 'yaml': expected table, json or jsonl\n"]);
  });

  it('names every option and subcommand in its usage, with the as-of caveat', () => {
    const usage = ALERTS_COMMANDS['alerts']!.usage;
    for (const option of Object.keys(ALERTS_COMMANDS['alerts']!.options ?? {})) expect(usage).toMatch(new RegExp(`^  --${option}\\b`, 'm'));
    for (const sub of ['list', 'run', 'test']) expect(usage).toMatch(new RegExp(`^  ${sub}\\b`, 'm'));
    expect(usage).toContain('titles,\n                  owners and milestones are shown as they are now');
  });

  // Last: it tells a channel, which moves the alerts' status.
  it('tells the channels the same titles, owners, milestone and beginning', async () => {
    const sent: AlertMessage[] = [];
    const recorder: Notifier = {
      id: 'rec',
      type: 'webhook',
      send: (m) => {
        sent.push(m);
        return Promise.resolve(200);
      },
      sendReport: () => Promise.reject(new Error('this test sends no report')),
    };
    const { alerts } = configSchema.parse({
      alerts: {
        channels: { rec: { type: 'webhook', url: 'https://hooks.example.com/x', secretEnv: 'REC_SECRET' } },
        defaultChannels: ['rec'],
      },
    });
    await runStallAlerts({ store, config: { ...config, alerts }, notifiers: new Map([['rec', recorder]]), clock: fixedClock(NOW) });
    const m = sent.find((x) => x.alert.linkKey === 'jira:SRCH-7>CHK-7')!;
    expect(m.kind).toBe('opened');
    const text = slackBody(m).text;
    expect(text).toContain(`Blocker SRCH-7: ${LONG_TITLE} (owner alice)`);
    expect(text).toContain('Blocked CHK-7: Checkout with saved cards (owner unassigned)');
    expect(text).toContain('Milestone: Release 2.4 (due 2026-04-01)');
    expect(text).toContain('Stalled since 2026-03-10. Why: idle');
    expect(webhookBody(m)['alert']).toMatchObject({
      blocker_title: LONG_TITLE,
      blocker_owner: 'alice',
      blocked_title: 'Checkout with saved cards',
      blocked_owner: null,
      milestone: { name: 'Release 2.4', kind: 'version', committed_date: '2026-04-01' },
      stall_began_at: '2026-03-10T00:00:00.000Z',
      links: { blocker: 'https://acme.atlassian.net/browse/SRCH-7' },
    });
  });
});
