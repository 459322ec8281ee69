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
  /** Incident ids from an incident URL, and numbers from "incident #123" or "INC-123". */
  incidents: Array<{ id?: string; number?: string; text: string }>;
}

const SHA = /\b[0-9a-f]{7,40}\b/g;
const PR_URL = /\/([\w.-]+\/[\w.-]+(?:\/[\w.-]+)*?)\/(?:-\/)?(?:pull|pulls|merge_requests)\/(\d+)\b/gi;
const PR_SHORT = /(?<![\w/.-])([\w.-]+\/[\w.-]+)(?:#|!)(\d+)\b/g;
const DEPLOYMENT = /(?:\/deployments\/|\bdeployment\s+#?)(\d+)\b/gi;
const REF = /\b(v?\d+\.\d+(?:\.\d+)*(?:[-+][\w.]+)?|release[-/_][\w.-]+)\b/gi;
const KEY = /\b([A-Z][A-Z0-9_]{1,9}-\d+)\b/g;
const INCIDENT_URL = /\/incidents\/([A-Z0-9]{6,20})\b/g;
const INCIDENT_NUMBER = /\b(?:incident\s*#?\s*|INC-?)(\d+)\b/gi;

export function findReferences(text: string): References {
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
  for (const m of text.matchAll(INCIDENT_URL)) out.incidents.push({ id: m[1]!, text: m[0] });
  for (const m of text.matchAll(INCIDENT_NUMBER)) out.incidents.push({ number: m[1]!, text: m[0] });
  return out;
}

/** `github.com/acme/api` -> `acme/api`; GitLab paths keep their host, as the gitlab repo keys do. */
function stripHost(path: string): string {
  const parts = path.split('/');
  if (parts[0]?.toLowerCase() === 'github.com' || parts[0]?.toLowerCase() === 'www.github.com') return parts.slice(1).join('/');
  return path;
}
