import { createHash } from 'node:crypto';
import { defaultModel, type ModelConfig, type OrgConfig, type PersonConfig, type SourcesConfig } from '../infra/config/schema.js';
import { OrgIndex } from './org-index.js';

/** The systems whose accounts the people mapping covers. */
export type AccountSource = 'github' | 'gitlab' | 'jira' | 'pagerduty';

/**
 * One id per person across systems. An account the config lists becomes that person's id; any other
 * account becomes a pseudonym (the source and a digest of the account id), which still tells two
 * people apart in a count but names no one. Names, e-mail addresses and logins are never stored.
 */
export class People {
  private readonly byAccount = new Map<string, string>();
  private readonly teams = new Map<string, string>();

  constructor(people: PersonConfig[]) {
    for (const p of people) {
      for (const source of ['github', 'gitlab', 'jira', 'pagerduty'] as const) {
        for (const account of p[source]) this.byAccount.set(accountKey(source, account), p.id);
      }
      if (p.team !== undefined) this.teams.set(p.id, p.team);
    }
  }

  /** The stored id of an account: the configured person, a pseudonym, or '' when there is no account. */
  id(source: AccountSource, account: string | number | null | undefined): string {
    if (account === null || account === undefined || account === '') return '';
    const key = accountKey(source, String(account));
    const known = this.byAccount.get(key);
    if (known !== undefined) return known;
    return `${source}:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
  }

  /** The team a configured person works in, if the config says. */
  teamOf(personId: string): string | undefined {
    return this.teams.get(personId);
  }
}

const accountKey = (source: AccountSource, account: string): string =>
  // Logins are case-insensitive on GitHub and GitLab; Jira and PagerDuty ids are opaque and kept as they are.
  `${source}\u0000${source === 'github' || source === 'gitlab' ? account.toLowerCase() : account}`;

/** What every mapper may read besides the event: the org mapping, the model settings and the people mapping. */
export interface MapContext {
  org: OrgConfig;
  /** The org mapping as lookups: which team and program own a repository, project or service. */
  owners: OrgIndex;
  model: ModelConfig;
  people: People;
  /** The Jira site's custom field ids for story points, sprint, start date, found-in, team and severity. */
  jiraFields: JiraFields;
}

export type JiraFields = NonNullable<SourcesConfig['jira']>['fields'];

export function mapContext(
  config: {
    org?: OrgConfig;
    model?: ModelConfig;
    people?: PersonConfig[];
    sources?: Pick<SourcesConfig, 'jira'>;
    jiraFields?: JiraFields;
  } = {},
): MapContext {
  const org = config.org ?? { programs: [] };
  return {
    org,
    owners: new OrgIndex(org),
    model: config.model ?? defaultModel(),
    people: new People(config.people ?? []),
    jiraFields: config.jiraFields ?? config.sources?.jira?.fields ?? {},
  };
}
