/**
 * PagerDuty side of the demo: incidents (caused by deployments, or background noise), their log
 * entries and the services, rendered as GET /incidents, GET /log_entries and GET /services objects.
 */
import type { Payload, SourceRecord } from '../../schemas/raw-event.js';
import { subjects, timeVersion } from '../core/entities.js';
import { landingHead, type Incident, type IncidentCause, type PriorityName, type Window } from './model.js';
import { PAGERDUTY_SUBDOMAIN, type Organisation, type Person, type Repo } from './org.js';
import type { Rng, WeightTable } from './prng.js';
import { MINUTE, SECOND, WEEK, floorSecond, isoSeconds } from './time.js';

const SEVERITY = {
  major: {
    priorities: [
      ['P1', 0.3],
      ['P2', 0.7],
    ] as WeightTable<PriorityName>,
    urgency: 'high',
    ackMedian: 5 * MINUTE,
  },
  minor: {
    priorities: [
      ['P3', 0.6],
      ['P4', 0.4],
    ] as WeightTable<PriorityName>,
    urgency: 'low',
    ackMedian: 30 * MINUTE,
  },
} as const;

/** Fixed account-level priority ids, as GET /priorities would list them. */
const PRIORITY_IDS: Record<PriorityName, string> = { P1: 'PQ1VZ8K', P2: 'P53ZZH5', P3: 'PA1BC9D', P4: 'P0LX4QE' };

type Severity = keyof typeof SEVERITY;

/** What the alert said; a symptom implies how bad it is. */
const DEPLOY_SYMPTOMS: ReadonlyArray<readonly [string, Severity]> = [
  ['Elevated 5xx rate on {svc}', 'major'],
  ['High p99 latency (>2s) on {svc}', 'minor'],
  ['Pods of {svc} crash-looping', 'major'],
  ['Error budget burn rate alert for {svc}', 'minor'],
  ['Health checks failing for {svc} in eu-west-1', 'major'],
];
const BACKGROUND_SYMPTOMS: ReadonlyArray<readonly [string, Severity]> = [
  ['Disk usage above 90% on the {svc} database', 'minor'],
  ['TLS certificate for {svc} expires in 7 days', 'minor'],
  ['Upstream provider timeouts affecting {svc}', 'major'],
  ['Queue backlog above 10k messages for {svc}', 'minor'],
  ['Memory pressure on {svc} nodes', 'minor'],
  ['Database failover for {svc}', 'major'],
];

/** Background incidents per service per week: alerts that no deployment caused. */
const BACKGROUND_RATE = 0.2;

export function openIncident(
  org: Organisation,
  rng: Rng,
  repo: Repo,
  triggeredAt: number,
  cause: IncidentCause | undefined,
  window: Window,
): Incident {
  const [symptom, severity] = rng.pick(cause ? DEPLOY_SYMPTOMS : BACKGROUND_SYMPTOMS);
  const s = SEVERITY[severity];
  const acknowledgedAt = floorSecond(triggeredAt + Math.max(30 * SECOND, rng.logNormal(s.ackMedian, 0.6)));
  return {
    id: org.ids.pagerduty(),
    number: 0,
    repo,
    ...(cause ? { cause } : {}),
    symptom,
    urgency: s.urgency,
    priority: rng.weighted(s.priorities),
    triggeredAt,
    ...(acknowledgedAt > window.now ? {} : { acknowledgedAt }),
    responder: rng.pick(repo.team.engineers),
    autoResolved: false,
    incidentKey: rng.hex(32),
    logEntryIds: { trigger: org.ids.pagerdutyLogEntry(), acknowledge: org.ids.pagerdutyLogEntry(), resolve: org.ids.pagerdutyLogEntry() },
  };
}

/** Alerts unrelated to any deployment, at any hour. */
export function planBackgroundIncidents(org: Organisation, repo: Repo, rng: Rng, window: Window): Incident[] {
  const incidents: Incident[] = [];
  for (let week = window.start; week < window.now; week += WEEK) {
    for (let i = rng.poisson(BACKGROUND_RATE); i > 0; i--) {
      const triggeredAt = floorSecond(week + rng.float(0, WEEK));
      if (triggeredAt > window.now) continue;
      const incident = openIncident(org, rng, repo, triggeredAt, undefined, window);
      if (rng.chance(0.4)) {
        // The alert cleared on its own before anyone acknowledged it.
        delete incident.acknowledgedAt;
        incident.autoResolved = true;
        const at = floorSecond(triggeredAt + rng.logNormal(25 * MINUTE, 0.6));
        if (at <= window.now) incident.resolvedAt = at;
      } else if (incident.acknowledgedAt !== undefined) {
        const at = floorSecond(incident.acknowledgedAt + rng.logNormal(90 * MINUTE, 0.7));
        if (at <= window.now) incident.resolvedAt = at;
      }
      incidents.push(incident);
    }
  }
  return incidents;
}

/** Incident numbers are account-wide and follow creation order. */
export function numberIncidents(incidents: Incident[], rng: Rng): Incident[] {
  const sorted = [...incidents].sort((a, b) => a.triggeredAt - b.triggeredAt || a.id.localeCompare(b.id));
  let n = rng.int(900, 4000);
  for (const incident of sorted) {
    n += rng.chance(0.2) ? rng.int(2, 3) : 1;
    incident.number = n;
  }
  return sorted;
}

export function incidentTitle(i: Incident): string {
  const symptom = i.symptom.replace('{svc}', i.repo.name);
  if (i.cause?.link !== 'explicit') return symptom;
  const d = i.cause.deployment;
  const sha = landingHead(d.landing).sha.slice(0, 7);
  const pr = d.landing.pr;
  switch (i.cause.ref) {
    case 'pr':
      if (pr) return `${symptom} since ${i.repo.fullName}#${pr.number} was deployed`;
      break;
    case 'deployment':
      return `${symptom} after deployment ${d.id} to production`;
    case 'release':
      if (d.release) return `${symptom} after release ${d.release.tag}`;
      break;
    case 'sha':
    case undefined:
      break;
  }
  return `${symptom} after deploy of ${sha}`;
}

export const incidentUrl = (i: Incident): string => `https://${PAGERDUTY_SUBDOMAIN}.pagerduty.com/incidents/${i.id}`;

// ---------------------------------------------------------------------------------------------------
// Rendering

const API = 'https://api.pagerduty.com';
const WEB = `https://${PAGERDUTY_SUBDOMAIN}.pagerduty.com`;

const reference = (type: string, id: string, summary: string, apiPath: string, webPath: string | null) => ({
  id,
  type,
  summary,
  self: `${API}/${apiPath}/${id}`,
  html_url: webPath === null ? null : `${WEB}/${webPath}/${id}`,
});

const userRef = (p: Person) => reference('user_reference', p.pagerdutyId, p.name, 'users', 'users');
const serviceRef = (r: Repo) => reference('service_reference', r.pagerduty.id, r.pagerduty.name, 'services', 'service-directory');
const teamRef = (r: Repo) => reference('team_reference', r.team.pagerduty.teamId, r.team.name, 'teams', 'teams');
const policyRef = (r: Repo) =>
  reference(
    'escalation_policy_reference',
    r.team.pagerduty.escalationPolicyId,
    `${r.team.name} on-call`,
    'escalation_policies',
    'escalation_policies',
  );
const priorityRef = (p: PriorityName) => reference('priority_reference', PRIORITY_IDS[p], p, 'priorities', null);
const integrationRef = (r: Repo) => ({
  id: r.pagerduty.integrationId,
  type: 'events_api_v2_inbound_integration_reference',
  summary: 'Events API V2',
  self: `${API}/services/${r.pagerduty.id}/integrations/${r.pagerduty.integrationId}`,
  html_url: `${WEB}/services/${r.pagerduty.id}/integrations/${r.pagerduty.integrationId}`,
});
const incidentRef = (i: Incident) => reference('incident_reference', i.id, `[#${i.number}] ${incidentTitle(i)}`, 'incidents', 'incidents');

type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';

function incidentPayload(i: Incident, status: IncidentStatus, at: number) {
  const title = incidentTitle(i);
  const resolved = status === 'resolved';
  const byPerson = status === 'acknowledged' || (resolved && !i.autoResolved);
  return {
    id: i.id,
    type: 'incident',
    summary: `[#${i.number}] ${title}`,
    self: `${API}/incidents/${i.id}`,
    html_url: incidentUrl(i),
    incident_number: i.number,
    title,
    description: title,
    created_at: isoSeconds(i.triggeredAt),
    updated_at: isoSeconds(at),
    status,
    incident_key: i.incidentKey,
    service: serviceRef(i.repo),
    // PagerDuty empties assignments and acknowledgements once an incident is resolved.
    assignments: resolved ? [] : [{ at: isoSeconds(i.triggeredAt), assignee: userRef(i.responder) }],
    assigned_via: 'escalation_policy',
    acknowledgements:
      status === 'acknowledged' && i.acknowledgedAt !== undefined
        ? [{ at: isoSeconds(i.acknowledgedAt), acknowledger: userRef(i.responder) }]
        : [],
    last_status_change_at: isoSeconds(at),
    last_status_change_by: byPerson ? userRef(i.responder) : serviceRef(i.repo),
    resolved_at: resolved ? isoSeconds(at) : null,
    first_trigger_log_entry: {
      id: i.logEntryIds.trigger,
      type: 'trigger_log_entry_reference',
      summary: 'Triggered through the API.',
      self: `${API}/log_entries/${i.logEntryIds.trigger}?incident_id=${i.id}`,
      html_url: `${incidentUrl(i)}/log_entries/${i.logEntryIds.trigger}`,
    },
    alert_counts: { all: 1, triggered: resolved ? 0 : 1, resolved: resolved ? 1 : 0 },
    pending_actions: [],
    is_mergeable: true,
    escalation_policy: policyRef(i.repo),
    teams: [teamRef(i.repo)],
    basic_alert_grouping: null,
    alert_grouping: null,
    priority: priorityRef(i.priority),
    resolve_reason: null,
    conference_bridge: null,
    incidents_responders: [],
    responder_requests: [],
    urgency: i.urgency,
  };
}

function logEntryPayload(i: Incident, kind: 'trigger' | 'acknowledge' | 'resolve', at: number) {
  const id = i.logEntryIds[kind];
  const title = incidentTitle(i);
  const byIntegration = kind === 'trigger' || (kind === 'resolve' && i.autoResolved);
  const apiChannel = {
    type: 'api',
    summary: title,
    description: title,
    incident_key: i.incidentKey,
    details: { service: i.repo.name, severity: i.urgency === 'high' ? 'critical' : 'warning' },
  };
  const summaries = {
    trigger: 'Triggered through the API.',
    acknowledge: `Acknowledged by ${i.responder.name}`,
    resolve: i.autoResolved ? 'Resolved through the API.' : `Resolved by ${i.responder.name}`,
  };
  return {
    id,
    type: `${kind}_log_entry`,
    summary: summaries[kind],
    self: `${API}/log_entries/${id}`,
    html_url: kind === 'trigger' ? `${incidentUrl(i)}/log_entries/${id}` : null,
    created_at: isoSeconds(at),
    agent: byIntegration ? integrationRef(i.repo) : userRef(i.responder),
    channel: byIntegration ? apiChannel : { type: 'website' },
    service: serviceRef(i.repo),
    incident: incidentRef(i),
    teams: [teamRef(i.repo)],
    contexts: [],
    event_details: kind === 'trigger' ? { description: title } : {},
    ...(kind === 'acknowledge' ? { acknowledgement_timeout: 1800 } : {}),
  };
}

function servicePayload(r: Repo) {
  return {
    id: r.pagerduty.id,
    name: r.pagerduty.name,
    description: `Production alerts for ${r.name} (${r.team.name})`,
    auto_resolve_timeout: 14400,
    acknowledgement_timeout: 1800,
    created_at: isoSeconds(r.pagerduty.createdAt),
    status: 'active',
    last_incident_timestamp: null,
    teams: [teamRef(r)],
    incident_urgency_rule: { type: 'constant', urgency: 'high' },
    scheduled_actions: [],
    support_hours: null,
    escalation_policy: policyRef(r),
    addons: [],
    alert_creation: 'create_alerts_and_incidents',
    alert_grouping_parameters: { type: null },
    integrations: [integrationRef(r)],
    response_play: null,
    type: 'service',
    summary: r.pagerduty.name,
    self: `${API}/services/${r.pagerduty.id}`,
    html_url: `${WEB}/service-directory/${r.pagerduty.id}`,
  };
}

export function pagerdutyRecords(org: Organisation, incidents: Incident[], window: Window): SourceRecord[] {
  const records: SourceRecord[] = [];
  const emit = (type: string, subject: string, at: number, payload: Payload): void => {
    const time = isoSeconds(at);
    records.push({ source: 'pagerduty', type, subject, version: timeVersion(time), time: new Date(time).toISOString(), payload });
  };

  for (const repo of org.repos) {
    emit('pagerduty.service', subjects.pagerdutyService(repo.pagerduty.id), window.start + 2 * MINUTE, servicePayload(repo));
  }
  for (const i of incidents) {
    const steps: Array<[IncidentStatus, 'trigger' | 'acknowledge' | 'resolve', number | undefined]> = [
      ['triggered', 'trigger', i.triggeredAt],
      ['acknowledged', 'acknowledge', i.acknowledgedAt],
      ['resolved', 'resolve', i.resolvedAt],
    ];
    for (const [status, kind, at] of steps) {
      if (at === undefined || at > window.now) continue;
      emit('pagerduty.incident', subjects.pagerdutyIncident(i.id), at, incidentPayload(i, status, at));
      emit('pagerduty.log_entry', subjects.pagerdutyLogEntry(i.logEntryIds[kind]), at, logEntryPayload(i, kind, at));
    }
  }
  return records;
}
