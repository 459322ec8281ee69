import { serviceName, type OrgConfig } from '../infra/config/schema.js';

/** Where a row belongs in the organisation: its team and that team's program. */
export interface Ownership {
  team: string;
  program: string;
}

/** A deployable service of the org mapping, with its owner. */
export interface ServiceOwnership extends Ownership {
  service: string;
}

export type OwnedKind = 'repository' | 'jiraProject' | 'jiraComponent' | 'pagerdutyService' | 'ciPipeline' | 'service';

/** What a payload may name that leads to a deployable service, tried in this order. */
export interface ServiceClues {
  /** A service name as the payload gives it (a deployment payload's service, a CDEvents service id). */
  name?: string | null | undefined;
  pagerdutyService?: string | null | undefined;
  pipeline?: string | null | undefined;
  repository?: string | null | undefined;
}

type ServiceKey = 'name' | 'pagerduty' | 'pipeline' | 'repository';

/**
 * Lookups from what a payload names (a repository, a Jira project or component, a PagerDuty service, a
 * CI pipeline, a deployable service) to its team and program, built once from the org mapping. Keys are
 * compared case-insensitively, as the vendors treat them.
 */
export class OrgIndex {
  private readonly maps = new Map<OwnedKind, Map<string, Ownership>>();
  private readonly services = new Map<ServiceKey, Map<string, ServiceOwnership>>();

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
        add('service', team.services.map(serviceName));
        for (const entry of team.services) {
          const s: ServiceOwnership = { ...owner, service: serviceName(entry) };
          this.addService('name', [s.service], s);
          if (typeof entry === 'string') continue;
          this.addService('name', entry.aliases, s);
          this.addService('pagerduty', entry.pagerduty, s);
          this.addService('pipeline', entry.pipelines, s);
          this.addService('repository', entry.repositories, s);
        }
      }
    }
  }

  private addService(key: ServiceKey, values: string[], s: ServiceOwnership): void {
    let m = this.services.get(key);
    if (m === undefined) this.services.set(key, (m = new Map<string, ServiceOwnership>()));
    // The first service listed for a repository or pipeline wins; a repository may build several.
    for (const v of values) if (!m.has(v.toLowerCase())) m.set(v.toLowerCase(), s);
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

  /**
   * The deployable service a payload is about: by its own service name or alias, then the PagerDuty
   * service, the pipeline, the repository it was built from. A repository that lists no service but
   * has the same name as one (acme/checkout-api and checkout-api) maps to it.
   */
  service(clues: ServiceClues): ServiceOwnership | undefined {
    const tries: Array<[ServiceKey, string | null | undefined]> = [
      ['name', clues.name],
      ['pagerduty', clues.pagerdutyService],
      ['pipeline', clues.pipeline],
      ['repository', clues.repository],
    ];
    for (const [key, value] of tries) {
      if (value === undefined || value === null || value === '') continue;
      const s = this.services.get(key)?.get(value.toLowerCase());
      if (s !== undefined) return s;
    }
    const repo = clues.repository;
    if (repo !== undefined && repo !== null) {
      const s = this.services.get('name')?.get(repoName(repo).toLowerCase());
      if (s !== undefined) return s;
    }
    return undefined;
  }
}

/** The last path segment of a repository (owner/name, or host/group/project for GitLab). */
export const repoName = (repo: string): string => repo.slice(repo.lastIndexOf('/') + 1);
