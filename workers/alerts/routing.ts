import type { AlertsConfig } from '../../infra/config/schema.js';
import type { MessageKind, StallAlert } from './types.js';

/**
 * The channels a stall goes to: every route that matches it (its program, its teams on the route's
 * side, cross-team when the route asks), or the default channels when none does. Each channel once.
 */
export function channelsFor(
  alert: Pick<StallAlert, 'program' | 'blockerTeam' | 'blockedTeam' | 'crossTeam'>,
  config: AlertsConfig,
): string[] {
  const out = new Set<string>();
  for (const r of config.routes) {
    if (r.crossTeamOnly && !alert.crossTeam) continue;
    if (r.programs.length > 0 && !r.programs.includes(alert.program)) continue;
    if (r.teams.length > 0) {
      const teams =
        r.side === 'blocked' ? [alert.blockedTeam] : r.side === 'blocker' ? [alert.blockerTeam] : [alert.blockedTeam, alert.blockerTeam];
      if (!teams.some((t) => t !== '' && r.teams.includes(t))) continue;
    }
    for (const c of r.channels) out.add(c);
  }
  if (out.size === 0) for (const c of config.defaultChannels) out.add(c);
  return [...out];
}

/** What a channel has been told of one alert: per message kind, the successful sends and the last one. */
export interface ChannelHistory {
  sent: Partial<Record<MessageKind, { count: number; firstAt: number; lastAt: number }>>;
}

/**
 * The message a channel is owed for an alert now, if any:
 * - an open alert the channel has not been told of: opened (again after a failed attempt);
 * - an open alert told of more than renotifyHours ago (opened or renotified): renotified;
 * - a resolved alert the channel was told of, with no resolution sent yet: resolved (when
 *   notifyResolved). A channel never told of an alert is not told it resolved.
 */
export function owed(
  alert: Pick<StallAlert, 'status'>,
  history: ChannelHistory | undefined,
  now: number,
  config: AlertsConfig,
): MessageKind | undefined {
  const opened = history?.sent.opened;
  if (alert.status === 'resolved') {
    if (!config.stalls.notifyResolved || opened === undefined) return undefined;
    return history?.sent.resolved === undefined ? 'resolved' : undefined;
  }
  if (opened === undefined) return 'opened';
  const renotifyMs = config.stalls.renotifyHours * 3_600_000;
  if (renotifyMs <= 0) return undefined;
  const last = Math.max(opened.lastAt, history?.sent.renotified?.lastAt ?? 0);
  return now - last >= renotifyMs ? 'renotified' : undefined;
}

/**
 * The channels a program's reports go to (the weekly status): every route that names the program, or
 * names none and either no team or one of the program's teams; the default channels when none does.
 * Routes only for cross-team stalls carry no report, and no report goes to PagerDuty, which pages people
 * about incidents.
 */
export function programChannels(program: string, teams: readonly string[], config: AlertsConfig): string[] {
  const out = new Set<string>();
  for (const r of config.routes) {
    if (r.crossTeamOnly) continue;
    if (r.programs.length > 0 ? !r.programs.includes(program) : r.teams.length > 0 && !r.teams.some((t) => teams.includes(t))) continue;
    for (const c of r.channels) out.add(c);
  }
  if (out.size === 0) for (const c of config.defaultChannels) out.add(c);
  return [...out].filter((c) => config.channels[c] !== undefined && config.channels[c].type !== 'pagerduty');
}
