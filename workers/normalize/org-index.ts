import type { OrgConfig } from '../../infra/config/schema.js';

/** Where a row belongs in the organisation: its team and that team's program. */
export interface Ownership {
  team: string;
  program: string;
}

export type OwnedKind = 'repository' | 'jiraProject' | 'jiraComponent' | 'pagerdutyService' | 'ciPipeline' | 'service';

/**
 * Lookups from what a payload names (a repository, a Jira project or component, a PagerDuty service, a
 * CI pipeline, a deployable service) to its team and program, built once from the org mapping. Keys are
 * compared case-insensitively, as the vendors treat them.
 */
export class OrgIndex {
  private readonly maps = new Map<OwnedKind, Map<string, Ownership>>();

  constructor(org: OrgConfig) {
    for (const program of org.programs) {
      for (const team of program.teams) {
        const owner = { team: team.id, program: program.id };
        const add = (kind: OwnedKind, keys: string[]): void => {
          let m = this.maps.get(kind);
          if (m === undefined) this.maps.set(kind, (m = new Map<string, Ownership>()));
          for (const k of keys) m.set(k.toLowerCase(), owner);
        };
        add('repository', team.repositories);
        add('jiraProject', team.jira.projects);
        add('jiraComponent', team.jira.components);
        add('pagerdutyService', team.pagerduty.services);
        add('ciPipeline', team.ci.pipelines);
        add('service', team.services);
      }
    }
  }

  /** The owner of `key`, or undefined when the org mapping does not name it. */
  owner(kind: OwnedKind, key: string | undefined | null): Ownership | undefined {
    if (key === undefined || key === null) return undefined;
    return this.maps.get(kind)?.get(key.toLowerCase());
  }

  /** The first owner among several candidates (a Jira issue: its components first, then its project). */
  firstOwner(candidates: Array<[OwnedKind, string | undefined | null]>): Ownership | undefined {
    for (const [kind, key] of candidates) {
      const o = this.owner(kind, key);
      if (o !== undefined) return o;
    }
    return undefined;
  }
}
