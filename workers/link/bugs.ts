import type { ModelConfig } from '../../infra/config/schema.js';
import { isProduction } from '../../mapping/rows.js';
import type { Bug, Incident } from './inputs.js';
import { findReferences, incidentPatterns } from './references.js';

export interface BugFinding {
  bug: Bug;
  found_in_production: 0 | 1;
  method: 'explicit' | 'none';
  rule: 'found_in' | 'label' | 'incident_reference' | 'no_match';
  evidence: string;
  incident: Incident | undefined;
}

/**
 * Whether each bug was found in production, by the first rule that holds: its found-in field (or
 * environment) names a production environment; it carries a production label; or it and an incident
 * name each other (an issue raised from an incident carries the incident's number or link, and an
 * incident's notes often carry the issue key).
 */
export function classifyBugs(bugs: Bug[], incidents: Incident[], model: ModelConfig): BugFinding[] {
  const byId = new Map(incidents.map((i) => [i.incident_id, i]));
  const byNumber = new Map(incidents.filter((i) => i.number !== '').map((i) => [i.number, i]));
  const byKey = new Map<string, Incident>();
  for (const i of incidents) {
    for (const r of findReferences(`${i.title}\n${i.description}`).workItemKeys) if (!byKey.has(r.key)) byKey.set(r.key, i);
  }
  const labels = new Set(model.workItems.productionLabels.map((l) => l.toLowerCase()));
  const incidentRules = incidentPatterns(model.incidentReferences);
  return bugs.map((bug): BugFinding => {
    if (bug.found_in !== '' && isProduction(bug.found_in, model)) {
      return {
        bug,
        found_in_production: 1,
        method: 'explicit',
        rule: 'found_in',
        evidence: `found in "${bug.found_in}"`,
        incident: undefined,
      };
    }
    const label = bug.labels.find((l) => labels.has(l.toLowerCase()));
    if (label !== undefined) {
      return { bug, found_in_production: 1, method: 'explicit', rule: 'label', evidence: `label "${label}"`, incident: undefined };
    }
    const fromIncident = byKey.get(bug.key);
    if (fromIncident !== undefined) {
      const evidence = `incident ${fromIncident.number || fromIncident.incident_id} names ${bug.key}`;
      return { bug, found_in_production: 1, method: 'explicit', rule: 'incident_reference', evidence, incident: fromIncident };
    }
    for (const r of findReferences(bug.summary, incidentRules).incidents) {
      const i = r.id !== undefined ? byId.get(r.id) : r.number !== undefined ? byNumber.get(r.number) : undefined;
      if (i !== undefined) {
        return {
          bug,
          found_in_production: 1,
          method: 'explicit',
          rule: 'incident_reference',
          evidence: `summary names "${r.text}"`,
          incident: i,
        };
      }
    }
    return {
      bug,
      found_in_production: 0,
      method: 'none',
      rule: 'no_match',
      evidence: 'no production field value, label or incident',
      incident: undefined,
    };
  });
}
