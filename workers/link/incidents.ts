import type { ModelConfig } from '../../infra/config/schema.js';
import type { ResolvedDeployment } from './deployments.js';
import type { Incident, PullRequest } from './inputs.js';
import { findReferences, incidentPatterns } from './references.js';

export interface IncidentLink {
  incident: Incident;
  deployment: ResolvedDeployment | undefined;
  method: 'explicit' | 'inferred' | 'none';
  rule: 'deployment_id' | 'sha' | 'pull_request' | 'ref' | 'time_window' | 'no_match';
  evidence: string;
}

export interface HotfixLink {
  deployment: ResolvedDeployment;
  incident: Incident | undefined;
  method: 'explicit' | 'inferred' | 'none';
  rule: 'incident_reference' | 'ref_pattern' | 'text_pattern' | 'label';
  evidence: string;
  /** The deployment the hotfix repaired: the fixed incident's deployment, else the previous one of its service. */
  fixes: string;
}

/** Lookups over the production deployments that links can point at. */
export class DeploymentIndex {
  /** Successful or failed production deployments with a finish time, oldest first. */
  readonly production: ResolvedDeployment[];
  private readonly byService = new Map<string, ResolvedDeployment[]>();
  private readonly byId = new Map<string, ResolvedDeployment>();
  /**
   * The production deployments that shipped each commit, oldest first: successful ones, and apart the
   * failed ones, which a reference falls back to only when no successful deployment shipped the commit
   * (a failed deployment may never have served it).
   */
  private readonly byCommit = new Map<string, ResolvedDeployment[]>();
  private readonly failedByCommit = new Map<string, ResolvedDeployment[]>();

  constructor(all: ResolvedDeployment[]) {
    this.production = all
      .filter((d) => d.is_production === 1 && d.finished_ms !== null && (d.result === 'success' || d.result === 'failure'))
      .sort((a, b) => a.finished_ms! - b.finished_ms! || a.deployment_id.localeCompare(b.deployment_id));
    for (const d of this.production) {
      if (d.service !== '') push(this.byService, d.service, d);
      this.byId.set(d.deployment_id, d);
      const shipped = d.result === 'success' ? this.byCommit : this.failedByCommit;
      push(shipped, d.sha, d);
      for (const c of d.commits) if (c.sha !== '' && c.sha !== d.sha) push(shipped, c.sha, d);
    }
  }

  byDeploymentId(id: string): ResolvedDeployment | undefined {
    return this.byId.get(id);
  }

  /**
   * The first successful production deployment that shipped a commit whose sha starts with `prefix` (7+
   * characters), else the first failed one that tried to.
   */
  firstShipping(prefix: string): ResolvedDeployment | undefined {
    return firstIn(this.byCommit, prefix) ?? firstIn(this.failedByCommit, prefix);
  }

  /** The production deployment of a service that deployed `ref` (a tag or branch), the earliest first. */
  byRef(ref: string, service: string): ResolvedDeployment | undefined {
    const wanted = ref.toLowerCase();
    const matches = this.production.filter((d) => {
      const r = d.ref.toLowerCase().replace(/^refs\/(tags|heads)\//, '');
      return r === wanted || r === wanted.replace(/^v/, '');
    });
    return matches.find((d) => d.service === service) ?? matches[0];
  }

  /** The latest production deployment of `service` that finished at or before `at`. */
  latestBefore(service: string, at: number): ResolvedDeployment | undefined {
    const list = this.byService.get(service);
    if (list === undefined) return undefined;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.finished_ms! <= at) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 ? list[lo - 1] : undefined;
  }
}

function firstIn(index: Map<string, ResolvedDeployment[]>, prefix: string): ResolvedDeployment | undefined {
  const exact = index.get(prefix)?.[0];
  if (exact !== undefined || prefix.length >= 40) return exact;
  let best: ResolvedDeployment | undefined;
  for (const [sha, list] of index) {
    if (!sha.startsWith(prefix)) continue;
    const d = list[0]!;
    if (best === undefined || d.finished_ms! < best.finished_ms!) best = d;
  }
  return best;
}

function push<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else list.push(v);
}

const hours = (ms: number): string => `${(ms / 3_600_000).toFixed(1)} h`;

/**
 * Attributes each incident to a deployment. Explicit references come first (a deployment id, a sha,
 * a pull request, a deployed tag or ref named in the title or description); then the time window: the
 * latest production deployment of the incident's service that finished within the window before the
 * incident started (being the latest, it is also before the service's next deployment).
 */
export function linkIncidents(
  incidents: Incident[],
  index: DeploymentIndex,
  prs: Map<string, PullRequest>,
  model: ModelConfig,
): IncidentLink[] {
  const windowMs = model.incidentWindowHours * 3_600_000;
  return incidents.map((incident) => {
    const text = `${incident.title}\n${incident.description}`;
    const refs = findReferences(text);
    for (const r of refs.deployments) {
      const d = index.byDeploymentId(r.id);
      if (d !== undefined) return { incident, deployment: d, method: 'explicit', rule: 'deployment_id', evidence: `names "${r.text}"` };
    }
    for (const r of refs.shas) {
      const d = index.firstShipping(r.sha);
      if (d !== undefined) {
        return {
          incident,
          deployment: d,
          method: 'explicit',
          rule: 'sha',
          evidence: `names commit ${r.sha}, shipped by ${d.deployment_id}`,
        };
      }
    }
    for (const r of refs.pullRequests) {
      const pr = findPullRequest(prs, r.repo, r.number);
      const d = pr !== undefined && pr.merge_commit_sha !== '' ? index.firstShipping(pr.merge_commit_sha) : undefined;
      if (d !== undefined) {
        return {
          incident,
          deployment: d,
          method: 'explicit',
          rule: 'pull_request',
          evidence: `names "${r.text}", shipped by ${d.deployment_id}`,
        };
      }
    }
    for (const r of refs.refs) {
      const d = index.byRef(r.ref, incident.service);
      if (d !== undefined)
        return { incident, deployment: d, method: 'explicit', rule: 'ref', evidence: `names "${r.text}", deployed as ${d.ref}` };
    }
    if (incident.service !== '') {
      const d = index.latestBefore(incident.service, incident.created_ms);
      if (d !== undefined && incident.created_ms - d.finished_ms! <= windowMs) {
        return {
          incident,
          deployment: d,
          method: 'inferred',
          rule: 'time_window',
          evidence: `started ${hours(incident.created_ms - d.finished_ms!)} after ${d.deployment_id} finished on ${incident.service} (window ${model.incidentWindowHours} h)`,
        };
      }
    }
    return {
      incident,
      deployment: undefined,
      method: 'none',
      rule: 'no_match',
      evidence:
        incident.service === ''
          ? 'no reference, and the service is not in the org mapping'
          : 'no reference, and no deployment in the window',
    };
  });
}

/** A pull request by repository and number; a reference may carry a host or an owner the key lacks. */
export function findPullRequest(prs: Map<string, PullRequest>, repo: string, number: number): PullRequest | undefined {
  const exact = prs.get(`${repo}#${number}`);
  if (exact !== undefined) return exact;
  for (const pr of prs.values()) if (pr.number === number && (repo.endsWith(`/${pr.repo}`) || pr.repo.endsWith(`/${repo}`))) return pr;
  return undefined;
}

/**
 * Hotfix deployments and what they fixed. Only a successful production deployment is a hotfix: a failed
 * attempt repaired nothing, so it neither counts as rework nor makes the deployment it would have
 * repaired a failed one. Explicit: the deployment or a pull request it shipped names an incident (by
 * model.incidentReferences). By rule (ref, text or label, from model.hotfix): the incident of its service
 * that was open when it was deployed, else no incident. A hotfix repairs its incident's deployment, else
 * the previous successful deployment of its service.
 */
export function linkHotfixes(
  deployments: ResolvedDeployment[],
  incidents: Incident[],
  incidentLinks: IncidentLink[],
  shippedPrs: (d: ResolvedDeployment) => PullRequest[],
  model: ModelConfig,
): HotfixLink[] {
  const byId = new Map(incidents.map((i) => [i.incident_id, i]));
  const byNumber = new Map(incidents.filter((i) => i.number !== '').map((i) => [i.number, i]));
  const causeOf = new Map(incidentLinks.filter((l) => l.deployment !== undefined).map((l) => [l.incident.incident_id, l.deployment!]));
  const byService = new Map<string, Incident[]>();
  for (const i of incidents) if (i.service !== '') push(byService, i.service, i);
  const incidentRules = incidentPatterns(model.incidentReferences);
  const rules = hotfixRules(model);
  const out: HotfixLink[] = [];
  for (const d of deployments) {
    if (d.is_production !== 1 || d.result !== 'success') continue;
    const prs = shippedPrs(d);
    const texts = [d.description, d.ref, ...prs.map((p) => p.title)];
    let named: { incident: Incident; text: string } | undefined;
    for (const t of texts) {
      for (const r of findReferences(t, incidentRules).incidents) {
        const i = r.id !== undefined ? byId.get(r.id) : r.number !== undefined ? byNumber.get(r.number) : undefined;
        if (i !== undefined) {
          named = { incident: i, text: r.text };
          break;
        }
      }
      if (named !== undefined) break;
    }
    const fixes = (i: Incident | undefined): string =>
      (i !== undefined ? causeOf.get(i.incident_id)?.deployment_id : undefined) ?? d.previous_deployment_id;
    if (named !== undefined) {
      out.push({
        deployment: d,
        incident: named.incident,
        method: 'explicit',
        rule: 'incident_reference',
        evidence: `names "${named.text}"`,
        fixes: fixes(named.incident),
      });
      continue;
    }
    const rule = hotfixRule(rules, d, prs);
    if (rule === undefined) continue;
    const at = d.started_ms;
    const open = (byService.get(d.service) ?? [])
      .filter((i) => i.created_ms <= at && (i.resolved_ms === null || i.resolved_ms >= at))
      .sort((a, b) => b.created_ms - a.created_ms)[0];
    out.push(
      open !== undefined
        ? {
            deployment: d,
            incident: open,
            method: 'inferred',
            rule: rule.rule,
            evidence: `${rule.evidence}; incident ${open.number || open.incident_id} was open on ${d.service}`,
            fixes: fixes(open),
          }
        : {
            deployment: d,
            incident: undefined,
            method: 'none',
            rule: rule.rule,
            evidence: `${rule.evidence}; no incident was open on its service`,
            fixes: fixes(undefined),
          },
    );
  }
  return out;
}

/** model.hotfix compiled once: a pattern set to '' is off. */
interface HotfixRules {
  ref: RegExp | undefined;
  text: RegExp | undefined;
  labels: Set<string>;
}

export function hotfixRules(model: ModelConfig): HotfixRules {
  const compile = (source: string): RegExp | undefined => (source === '' ? undefined : new RegExp(source, 'i'));
  return {
    ref: compile(model.hotfix.refPattern),
    text: compile(model.hotfix.textPattern),
    labels: new Set(model.hotfix.labels.map((l) => l.toLowerCase())),
  };
}

/** Which configured hotfix rule a deployment matches, by its own ref and description or its pull requests. */
export function hotfixRule(
  rules: HotfixRules,
  d: Pick<ResolvedDeployment, 'ref' | 'description'>,
  prs: Array<Pick<PullRequest, 'head_branch' | 'title' | 'labels' | 'repo' | 'number'>>,
): { rule: 'ref_pattern' | 'text_pattern' | 'label'; evidence: string } | undefined {
  if (rules.ref !== undefined) {
    for (const ref of [d.ref, ...prs.map((p) => p.head_branch)])
      if (ref !== '' && rules.ref.test(ref)) return { rule: 'ref_pattern', evidence: `ref "${ref}" matches the hotfix pattern` };
  }
  if (rules.text !== undefined) {
    for (const text of [d.description, ...prs.map((p) => p.title)]) {
      if (text !== '' && rules.text.test(text))
        return { rule: 'text_pattern', evidence: `"${text.slice(0, 80)}" matches the hotfix pattern` };
    }
  }
  for (const p of prs) {
    if (p.labels.some((l) => rules.labels.has(l.toLowerCase())))
      return { rule: 'label', evidence: `${p.repo}#${p.number} has a hotfix label` };
  }
  return undefined;
}
