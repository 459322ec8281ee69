import { DEFAULT_INCIDENT_REFERENCES, type ModelConfig } from '../../infra/config/schema.js';

/**
 * What a piece of free text (an incident title, a deployment description, a work item summary) names
 * explicitly: commit shas, pull requests, deployments, refs, work item keys and incidents. Each match
 * keeps the words it came from, so a link can show its evidence.
 */
export interface References {
  /** Hex strings of 7 to 40 characters: full or abbreviated commit shas. */
  shas: Array<{ sha: string; text: string }>;
  /** Pull or merge requests: `owner/repo#12`, `.../owner/repo/pull/12`, `.../group/project/-/merge_requests/12`. */
  pullRequests: Array<{ repo: string; number: number; text: string }>;
  /** Deployment ids from a deployment URL or "deployment 123". */
  deployments: Array<{ id: string; text: string }>;
  /** Version-like tokens (v1.2.3, 2026.11.1, release-42) that may be a release tag or a deployed ref. */
  refs: Array<{ ref: string; text: string }>;
  /** Work item keys such as PAY-123. */
  workItemKeys: Array<{ key: string; text: string }>;
  /** Incident ids and numbers, by the configured patterns (by default an incident URL, "incident #123", "INC-123"). */
  incidents: Array<{ id?: string; number?: string; text: string }>;
}

const SHA = /\b[0-9a-f]{7,40}\b/g;
const PR_URL = /\/([\w.-]+\/[\w.-]+(?:\/[\w.-]+)*?)\/(?:-\/)?(?:pull|pulls|merge_requests)\/(\d+)\b/gi;
const PR_SHORT = /(?<![\w/.-])([\w.-]+\/[\w.-]+)(?:#|!)(\d+)\b/g;
const DEPLOYMENT = /(?:\/deployments\/|\bdeployment\s+#?)(\d+)\b/gi;
const REF = /\b(v?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?|release[-/_][\w.-]+)\b/gi;
const KEY = /\b([A-Z][A-Z0-9_]{1,9}-\d+)\b/g;

/** A configured way text names an incident: the first capture group is the incident's id or number. */
export interface IncidentPattern {
  regex: RegExp;
  names: 'id' | 'number';
}

/** The incident patterns of the model settings (model.incidentReferences), compiled once. */
export function incidentPatterns(refs: ModelConfig['incidentReferences']): IncidentPattern[] {
  return refs.map((r) => ({ regex: new RegExp(r.pattern, r.caseSensitive ? 'g' : 'gi'), names: r.names }));
}

const DEFAULT_INCIDENT_PATTERNS = incidentPatterns(DEFAULT_INCIDENT_REFERENCES.map((r) => ({ ...r })));

/** What `text` names; incidents by `incidentRules` (the defaults: an incident URL, "incident #N", "INC-N"). */
export function findReferences(text: string, incidentRules: readonly IncidentPattern[] = DEFAULT_INCIDENT_PATTERNS): References {
  const out: References = { shas: [], pullRequests: [], deployments: [], refs: [], workItemKeys: [], incidents: [] };
  if (text === '') return out;
  for (const m of text.matchAll(SHA)) {
    // A decimal-only token is a number, not a sha.
    if (/[a-f]/.test(m[0])) out.shas.push({ sha: m[0], text: m[0] });
  }
  const prSeen = new Set<string>();
  const addPr = (repo: string, n: string, t: string): void => {
    const key = `${repo.toLowerCase()}#${n}`;
    if (prSeen.has(key)) return;
    prSeen.add(key);
    out.pullRequests.push({ repo: repo.toLowerCase(), number: Number(n), text: t });
  };
  for (const m of text.matchAll(PR_URL)) addPr(stripHost(m[1]!), m[2]!, m[0].replace(/^\/+/, ''));
  for (const m of text.matchAll(PR_SHORT)) addPr(m[1]!, m[2]!, m[0]);
  for (const m of text.matchAll(DEPLOYMENT)) out.deployments.push({ id: m[1]!, text: m[0] });
  for (const m of text.matchAll(REF)) out.refs.push({ ref: m[1]!, text: m[0] });
  for (const m of text.matchAll(KEY)) out.workItemKeys.push({ key: m[1]!, text: m[0] });
  for (const rule of incidentRules) {
    for (const m of text.matchAll(rule.regex)) {
      const value = m[1];
      if (value === undefined || value === '') continue;
      out.incidents.push(rule.names === 'id' ? { id: value, text: m[0] } : { number: value, text: m[0] });
    }
  }
  return out;
}

/** `github.com/acme/api` -> `acme/api`; GitLab paths keep their host, as the gitlab repo keys do. */
function stripHost(path: string): string {
  const parts = path.split('/');
  if (parts[0]?.toLowerCase() === 'github.com' || parts[0]?.toLowerCase() === 'www.github.com') return parts.slice(1).join('/');
  return path;
}
