import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config/load.js';
import { configSchema } from '../../infra/config/schema.js';
import { tempDir } from '../../test/support/harness.js';
import { channelsFor, owed } from './routing.js';

const alerts = configSchema.parse({
  alerts: {
    stalls: { renotifyHours: 24 },
    channels: {
      checkout: { type: 'slack', urlEnv: 'A' },
      search: { type: 'slack', urlEnv: 'B' },
      payments: { type: 'webhook', url: 'https://hooks.example.com/p', secretEnv: 'C' },
      oncall: { type: 'pagerduty', routingKeyEnv: 'D' },
      fallback: { type: 'slack', urlEnv: 'E' },
    },
    routes: [
      { teams: ['checkout'], side: 'blocked', channels: ['checkout'] },
      { teams: ['search'], side: 'blocker', channels: ['search'] },
      { programs: ['payments'], channels: ['payments', 'checkout'] },
      { crossTeamOnly: true, channels: ['oncall'] },
    ],
    defaultChannels: ['fallback'],
  },
}).alerts;

const stall = (blockerTeam: string, blockedTeam: string, program: string) => ({
  blockerTeam,
  blockedTeam,
  program,
  crossTeam: blockerTeam !== '' && blockedTeam !== '' && blockerTeam !== blockedTeam,
});

describe('stall alert routing', () => {
  it('sends a stall to every matching route once, by side, program and cross-team, else to the defaults', () => {
    // blocked team checkout, blocker team search, program payments, cross-team: all four routes
    expect(channelsFor(stall('search', 'checkout', 'payments'), alerts).sort()).toEqual(['checkout', 'oncall', 'payments', 'search']);
    // checkout blocks search: the checkout route looks at the blocked side only, the search route at the blocker side only
    expect(channelsFor(stall('checkout', 'search', 'discovery'), alerts)).toEqual(['oncall']);
    // a stall inside one team of another program: no route, so the default channels
    expect(channelsFor(stall('billing', 'billing', 'finance'), alerts)).toEqual(['fallback']);
    // an unowned blocker is not cross-team and matches no team
    expect(channelsFor(stall('', 'search', 'discovery'), alerts)).toEqual(['fallback']);
  });

  it('owes a channel the opened message until it is sent, a reminder after the interval, and the resolution once', () => {
    const t = Date.parse('2026-03-20T09:00:00Z');
    const h = 3_600_000;
    expect(owed({ status: 'opened' }, undefined, t, alerts)).toBe('opened');
    const told = { sent: { opened: { count: 1, firstAt: t, lastAt: t } } };
    expect(owed({ status: 'notified' }, told, t + 23 * h, alerts)).toBeUndefined();
    expect(owed({ status: 'notified' }, told, t + 24 * h, alerts)).toBe('renotified');
    const reminded = { sent: { ...told.sent, renotified: { count: 1, firstAt: t + 24 * h, lastAt: t + 24 * h } } };
    expect(owed({ status: 'renotified' }, reminded, t + 47 * h, alerts)).toBeUndefined();
    expect(owed({ status: 'renotified' }, reminded, t + 48 * h, alerts)).toBe('renotified');
    expect(owed({ status: 'resolved' }, reminded, t + 49 * h, alerts)).toBe('resolved');
    expect(
      owed({ status: 'resolved' }, { sent: { ...reminded.sent, resolved: { count: 1, firstAt: t, lastAt: t } } }, t + 50 * h, alerts),
    ).toBeUndefined();
    // never told it opened: not told it resolved
    expect(owed({ status: 'resolved' }, undefined, t, alerts)).toBeUndefined();
    const quiet = { ...alerts, stalls: { ...alerts.stalls, renotifyHours: 0, notifyResolved: false } };
    expect(owed({ status: 'notified' }, told, t + 1000 * h, quiet)).toBeUndefined();
    expect(owed({ status: 'resolved' }, told, t, quiet)).toBeUndefined();
  });

  it('rejects a route or default naming a channel that is not defined, and a secret written into the file', () => {
    const file = path.join(tempDir(), 'ptel.yaml');
    writeFileSync(
      file,
      [
        'alerts:',
        '  channels:',
        '    team-a: { type: slack, urlEnv: PTEL_SLACK_A }',
        '  routes:',
        '    - { teams: [a], channels: [team-b] }',
        '  defaultChannels: [nope]',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('alerts.routes[0].channels[0]');
    expect(message).toContain("no channel 'team-b' in alerts.channels (known: team-a)");
    expect(message).toContain('alerts.defaultChannels[0]');
    writeFileSync(
      file,
      ['alerts:', '  channels:', '    team-a: { type: slack, url: "https://hooks.slack.com/services/T/B/x" }'].join('\n'),
    );
    expect(() => loadConfig({ file, env: {} })).toThrow(/urlEnv/);
  });

  it('rejects portfolio channels that are not defined or page people', () => {
    const file = path.join(tempDir(), 'ptel.yaml');
    writeFileSync(
      file,
      [
        'alerts:',
        '  channels:',
        '    leads: { type: slack, urlEnv: PTEL_SLACK_LEADS }',
        '    pager: { type: pagerduty, routingKeyEnv: PTEL_PD_KEY }',
        'reports:',
        '  status:',
        '    portfolioChannels: [leads, pager, nope]',
      ].join('\n'),
    );
    let err: unknown;
    try {
      loadConfig({ file, env: { PTEL_SLACK_LEADS: 'https://hooks.example.com/x', PTEL_PD_KEY: 'k' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('reports.status.portfolioChannels[1]');
    expect(message).toContain("channel 'pager' is a PagerDuty channel, which takes alerts, not reports");
    expect(message).toContain('reports.status.portfolioChannels[2]');
    expect(message).toContain("no channel 'nope' in alerts.channels (known: leads, pager)");
    expect(message).not.toContain('portfolioChannels[0]');
  });
});
