import { describe, expect, it } from 'vitest';
import type { RunOnceResult } from '../app/roles.js';
import { formatAgo, formatValue, kpiLines, lastRun, nextCommands, runSummary } from './summary.js';

const NOW = new Date('2026-12-06T14:17:00Z');
const kpi = (metric: string, value: number | null, unit: string, sample_size = 1) => ({
  metric,
  month: '2026-11-01',
  value,
  unit,
  sample_size,
});

describe('the summary a person reads', () => {
  it('gives values in their units: a ratio as a percent, hours with h, counts whole with separators', () => {
    expect(formatValue(0.125, 'ratio')).toBe('12.5%');
    expect(formatValue(18, 'hours')).toBe('18.0 h');
    expect(formatValue(12345, 'count')).toBe('12,345');
    expect(formatValue(67.48, 'days')).toBe('67.5 days');
    expect(formatValue(14.29, 'percent')).toBe('14.3%');
    expect(formatValue(5.83, 'per_week')).toBe('5.8/week');
    expect(formatValue(null, 'ratio')).toBe('no data');
  });

  it('says when a job ran and how long before now', () => {
    expect(lastRun({ at: new Date('2026-12-06T14:05:00Z'), detail: '' }, NOW)).toBe('last run 2026-12-06 14:05 (12 min ago)');
    expect(lastRun(undefined, NOW)).toBe('never');
    expect(formatAgo(new Date('2026-12-06T14:16:30Z'), NOW)).toBe('less than a minute ago');
    expect(formatAgo(new Date('2026-12-06T11:12:00Z'), NOW)).toBe('3 h 5 min ago');
    expect(formatAgo(new Date('2026-12-06T12:17:00Z'), NOW)).toBe('2 h ago');
    expect(formatAgo(new Date('2026-12-01T06:00:00Z'), NOW)).toBe('5 days ago');
    // A record later than the clock (a clock set back): said as such, not as a negative age.
    expect(formatAgo(new Date('2026-12-06T14:27:00Z'), NOW)).toBe('10 min after 2026-12-06 14:17');
  });

  it('groups the KPIs by delivery, quality and program, leaving out what the store does not hold', () => {
    expect(
      kpiLines([
        kpi('deployment_frequency', 126, 'count', 126),
        kpi('change_lead_time_p50', 18, 'hours'),
        kpi('change_failure_rate', 0.125, 'ratio'),
        kpi('failed_deployment_recovery_time_p50', null, 'hours'),
        kpi('risks_open', 12, 'count'),
        kpi('risks_open_high', 3, 'count'),
        kpi('high_risks_unowned', 1, 'count'),
        kpi('open_decision_age_days', 20.25, 'days', 4),
        kpi('release_readiness_pass_rate', 0.75, 'ratio', 8),
        kpi('stakeholder_satisfaction', 4.14, 'score', 7),
        kpi('engineering_sentiment_net', -0.2, 'ratio', 10),
        kpi('effort_variance', -1 / 11, 'ratio', 11),
        kpi('unallocated_cost', 30, 'count', 30),
      ]),
    ).toEqual([
      'Delivery (org, 2026-11): deployment frequency 4.2/day (126 deployments), lead time p50 18.0 h, change failure rate 12.5%, recovery time p50 no data',
      'Program (org, 2026-11): open risks 12 (3 high, 1 of them unowned), open decisions 4 (mean age 20.3 days)',
      'Outcomes (org, 2026-11): readiness checks passed 75.0%, stakeholder satisfaction 4.1/5, engineering sentiment (net) -20.0%, effort variance -9.1%, cost rows allocated to no program 30',
    ]);
    expect(kpiLines([kpi('stakeholder_satisfaction', null, 'score', 0)])).toEqual([
      'Outcomes (org, 2026-11): stakeholder satisfaction not shown (too few answers)',
    ]);
    expect(kpiLines([])).toEqual(['Metrics: no complete month has values yet; ptel metrics show lists the running month']);
  });

  it('says what failed: dead letters, unreadable fields, failed streams and deliveries', () => {
    const result = {
      pulled: [
        { source: 'github', stream: 'pull_requests', scope: 'acme/api', status: 'ok', records: 10, requests: 2, pages: 1 },
        { source: 'jira', stream: 'issues', scope: 'PAY', status: 'failed', records: 0, requests: 1, pages: 0, error: 'HTTP 401' },
      ],
      seconds: 3.25,
      summary: {
        events: [
          { source: 'github', type: 'github.pull_request', events: 10000, entities: 10, latest: '' },
          { source: 'github', type: 'github.commit', events: 2345, entities: 10, latest: '' },
        ],
        deadLetters: [
          { code: 'schema', count: 2 },
          { code: 'mapping', count: 1 },
        ],
        dataQuality: [
          { source: 'jira', entity: 'issue', field: 'story_points', problem: 'not a number', notes: 3, lastSeen: '', exampleEventId: 'e' },
        ],
        model: { entities: [{ table: 'pull_requests', label: 'pull requests', count: 10 }], links: [] },
      },
      kpis: [],
      registers: ['1 of 3 open milestones overdue or slipped', '2 open risks (1 high, 1 of them unowned)'],
      stalls: {
        stalled: 2,
        opened: [{}],
        resolved: [],
        deliveries: [
          { ok: true, channel: 'slack' },
          { ok: false, channel: 'slack' },
        ],
      },
    } as unknown as RunOnceResult;
    expect(runSummary(result, { dataDir: '/data', alertChannels: 1, commands: ['metrics', 'status'] })).toEqual([
      'Ingested: 12,345 events from 1 source (3 dead letters: ptel dead-letters lists them) in 3.3 s; 1 field could not be read in some events and were left empty (ptel status lists them)',
      'Model: 10 pull requests',
      'Metrics: no complete month has values yet; ptel metrics show lists the running month',
      'Now: 1 of 3 open milestones overdue or slipped; 2 open risks (1 high, 1 of them unowned)',
      'Alerts: 2 dependencies stalled now; 1 alert opened, 0 resolved, 1 message sent, 1 failed (ptel alerts list)',
      'Pulls: 1 of 2 streams failed: jira/issues',
      'Data: /data',
      'Next: ptel metrics show, ptel status',
    ]);
  });

  it('suggests only the commands this ptel has', () => {
    expect(nextCommands(['list', 'metrics', 'alerts', 'export', 'status'])).toEqual([
      'ptel list milestones',
      'ptel list risks',
      'ptel metrics show',
      'ptel alerts list',
      'ptel export',
      'ptel status',
    ]);
  });
});
