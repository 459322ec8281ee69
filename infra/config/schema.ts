import { z } from 'zod';
import type { IngestKind } from '../../schemas/ingest.js';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, "expected host:port, for example 'localhost:9092'");

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "expected a lower-case id of letters, digits, '-' or '_', for example 'payments'");

/**
 * A deployable service. Written as its name alone, or with what else names it: the repositories it is
 * built from, the PagerDuty services that page for it, the CI pipelines that deploy it.
 */
const serviceSchema = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1),
    repositories: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, "expected owner/name, for example 'acme/payments-api'")).default([]),
    pagerduty: z.array(z.string().min(1)).default([]),
    pipelines: z.array(z.string().min(1)).default([]),
    /** Other names the service goes by in deployment payloads and CDEvents. */
    aliases: z.array(z.string().min(1)).default([]),
  }),
]);

export type ServiceEntry = z.infer<typeof serviceSchema>;
export const serviceName = (s: ServiceEntry): string => (typeof s === 'string' ? s : s.name);

const teamSchema = z.strictObject({
  id,
  name: z.string().min(1),
  /** GitHub owner/name, or a GitLab project path (group/subgroup/project). */
  repositories: z
    .array(z.string().regex(/^[^/\s]+(\/[^/\s]+)+$/, "expected owner/name or group/project, for example 'acme/payments-api'"))
    .default([]),
  jira: z
    .strictObject({
      projects: z.array(z.string().min(1)).default([]),
      components: z.array(z.string().min(1)).default([]),
    })
    .default({ projects: [], components: [] }),
  pagerduty: z.strictObject({ services: z.array(z.string().min(1)).default([]) }).default({ services: [] }),
  ci: z.strictObject({ pipelines: z.array(z.string().min(1)).default([]) }).default({ pipelines: [] }),
  services: z.array(serviceSchema).default([]),
});

const isoDay = z.iso.date({ error: 'expected a date YYYY-MM-DD' });
const isoInstant = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time with a zone, for example 2026-11-30T17:00:00Z' });

/**
 * Where an outcome's actual values come from when they are pulled: an instant PromQL query against the
 * Prometheus-compatible endpoint of sources.outcomes.prometheus, or a ClickHouse SQL query against
 * sources.outcomes.clickhouse that returns one number (column `value`). Without one, the actuals are
 * imported (`ptel import outcome_actual FILE` or POST /ingest/outcome_actual).
 */
const outcomeQuerySchema = z.union([z.strictObject({ prometheus: z.string().min(1) }), z.strictObject({ clickhouse: z.string().min(1) })]);

/** An outcome target of a program; each revision sets a new target or due date with its rationale. */
const outcomeSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]*$/, "expected a lower-case name, for example 'checkout_conversion'"),
  target: z.number().finite(),
  direction: z.enum(['at_least', 'at_most']),
  due: isoDay,
  unit: z.string().min(1).optional(),
  /** When the target was set. */
  setAt: isoInstant,
  revisions: z
    .array(
      z.strictObject({
        at: isoInstant,
        target: z.number().finite().optional(),
        due: isoDay.optional(),
        rationale: z.string().min(1, 'a revision needs its rationale'),
      }),
    )
    .default([]),
  actual: outcomeQuerySchema.optional(),
});

/** A planned adopter (a team or a customer) with its target date; enabled by a done Jira issue, a label, or an import. */
const adopterSchema = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(['team', 'customer']).default('team'),
  targetDate: isoDay,
  /** The Jira issue whose resolution enables the adopter (its key), or a label on done issues that does. */
  jira: z.strictObject({ issue: z.string().min(1).optional(), label: z.string().min(1).optional() }).optional(),
});

const month = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "expected a month YYYY-MM, for example '2026-11'");

/**
 * Planned spend of a program: for one month (`month`), or the same amount for every month from `from`
 * through `to`, either end open when left out (neither: every month).
 */
const budgetSchema = z
  .strictObject({
    month: month.optional(),
    from: month.optional(),
    to: month.optional(),
    amount: z.number().nonnegative(),
    currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code, for example USD'),
  })
  .superRefine((b, ctx) => {
    if (b.month !== undefined && (b.from !== undefined || b.to !== undefined))
      ctx.addIssue({ code: 'custom', message: 'a budget gives either month (one month) or from and to (a range of months), not both' });
    if (b.to !== undefined && b.from !== undefined && b.to < b.from)
      ctx.addIssue({ code: 'custom', path: ['to'], message: `to ${b.to} is before from ${b.from}` });
  });

/** The months [first, last] a budget covers; an end left open is undefined. */
export function budgetMonths(b: z.infer<typeof budgetSchema>): { first: string | undefined; last: string | undefined } {
  return { first: b.month ?? b.from, last: b.month ?? b.to };
}

const programSchema = z.strictObject({
  id,
  name: z.string().min(1),
  teams: z.array(teamSchema).min(1, 'a program needs at least one team'),
  /** Outcome targets (docs/metrics.md item 27). */
  outcomes: z.array(outcomeSchema).optional(),
  /** Planned adopters (item 28). */
  adopters: z.array(adopterSchema).optional(),
  /** Planned spend per month (item 29). */
  budgets: z.array(budgetSchema).optional(),
  /** Cloud accounts (FOCUS SubAccountId) whose cost is this program's (item 29). */
  costAccounts: z.array(z.string().min(1)).optional(),
});

export const orgSchema = z
  .strictObject({
    programs: z.array(programSchema).default([]),
  })
  .superRefine((org, ctx) => {
    const seen = new Map<string, string>();
    // Each repository, project, component, service and pipeline belongs to one team, so every row has one owner.
    const owned = new Map<string, string>();
    org.programs.forEach((p, pi) => {
      p.teams.forEach((t, ti) => {
        const at = `programs[${pi}].teams[${ti}]`;
        const where = seen.get(t.id);
        if (where !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['programs', pi, 'teams', ti, 'id'],
            message: `team id '${t.id}' is already used at ${where}; team ids must be unique across programs`,
          });
        } else {
          seen.set(t.id, at);
        }
        const lists: Array<[string[], string[]]> = [
          [['repositories'], t.repositories],
          [['jira', 'projects'], t.jira.projects],
          [['jira', 'components'], t.jira.components],
          [['pagerduty', 'services'], t.pagerduty.services],
          [['ci', 'pipelines'], t.ci.pipelines],
          [['services'], t.services.map(serviceName)],
        ];
        for (const [field, values] of lists) {
          values.forEach((v, vi) => {
            const key = `${field.join('.')}\u0000${v.toLowerCase()}`;
            const first = owned.get(key);
            if (first !== undefined) {
              ctx.addIssue({
                code: 'custom',
                path: ['programs', pi, 'teams', ti, ...field, vi],
                message: `'${v}' is already listed at ${first}; each belongs to one team, so its numbers have one owner`,
              });
            } else {
              owned.set(key, `${at}.${field.join('.')}`);
            }
          });
        }
      });
      // A month has one budget per program, so its variance has one denominator.
      const budgets = (p.budgets ?? []).map((b, bi) => ({ bi, ...budgetMonths(b) }));
      for (const a of budgets) {
        const clash = budgets.find(
          (b) => b.bi < a.bi && (b.first ?? '0000-01') <= (a.last ?? '9999-12') && (a.first ?? '0000-01') <= (b.last ?? '9999-12'),
        );
        if (clash !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['programs', pi, 'budgets', a.bi],
            message: `covers months that programs[${pi}].budgets[${clash.bi}] already budgets; a month has one budget per program`,
          });
      }
    });
  });

const durationMs = z.number().int().positive();

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

/** Settings every pulled source shares. */
const pullSettings = {
  enabled: z.boolean().default(true),
  /** Minutes between scheduled incremental pulls. */
  intervalMinutes: z.number().int().min(1).max(1440).default(15),
  /** Requests in flight at once against this source. */
  concurrency: z.number().int().min(1).max(32).default(4),
  /** First pull of a stream with no cursor starts this many days back. */
  initialDays: z.number().int().min(1).max(3650).default(180),
};

/**
 * The sources to pull and receive. A source is configured when its section is present; its
 * credentials come from the environment (see Secrets). Repositories, projects and services to pull
 * come from the org mapping unless listed here.
 */
const sourcesSchema = z.strictObject({
  github: z
    .strictObject({
      ...pullSettings,
      /** https://api.github.com, or https://HOST/api/v3 for GitHub Enterprise Server. */
      baseUrl: httpUrl.default('https://api.github.com'),
      /**
       * How pull requests with their commits and reviews are read: through the GraphQL API (about one
       * request per 100 pull requests), or one REST call per pull request for each list, for a server
       * without GraphQL. The GraphQL endpoint is found from baseUrl: https://api.github.com/graphql, or
       * https://HOST/api/graphql for https://HOST/api/v3.
       */
      api: z.enum(['graphql', 'rest']).default('graphql'),
      auth: z.enum(['token', 'app']).default('token'),
      appId: z.number().int().positive().optional(),
      installationId: z.number().int().positive().optional(),
      repositories: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, "expected owner/name, for example 'acme/payments-api'")).optional(),
    })
    .optional(),
  jira: z
    .strictObject({
      ...pullSettings,
      /** https://your-site.atlassian.net, or the Data Center base URL. */
      baseUrl: httpUrl,
      deployment: z.enum(['cloud', 'datacenter']).default('cloud'),
      /** Cloud: the account e-mail that owns the API token. Data Center uses a personal access token. */
      email: z.string().min(3).optional(),
      projects: z.array(z.string().min(1)).optional(),
      /** Extra JQL ANDed to the project filter, e.g. 'issuetype != Sub-task'. */
      jql: z.string().optional(),
      /** Minutes between two full issue-id listings of a project, which is how deleted issues are found on Cloud. */
      deletionScanMinutes: z.number().int().min(0).default(360),
      /**
       * How changelogs longer than a search result carries are completed on Cloud: `bulkfetch` (POST
       * /rest/api/3/changelog/bulkfetch, up to 1000 issues a request), `per-issue` (GET /issue/{id}/changelog),
       * or `auto`: bulkfetch, and per issue from the first 404 on (a site without the endpoint). Data Center's
       * search returns whole changelogs.
       */
      changelogs: z.enum(['auto', 'bulkfetch', 'per-issue']).default('auto'),
      /** Agile boards whose sprints are pulled. */
      boards: z.array(z.number().int().positive()).default([]),
      /** Custom field ids (customfield_NNNNN) for the values the metrics read. */
      fields: z
        .strictObject({
          storyPoints: z.string().optional(),
          sprint: z.string().optional(),
          startDate: z.string().optional(),
          foundIn: z.string().optional(),
          team: z.string().optional(),
          severity: z.string().optional(),
        })
        .default({}),
    })
    .optional(),
  pagerduty: z
    .strictObject({
      ...pullSettings,
      region: z.enum(['us', 'eu']).default('us'),
      /** Overrides the region's API host (https://api.pagerduty.com or https://api.eu.pagerduty.com). */
      baseUrl: httpUrl.optional(),
      services: z.array(z.string().min(1)).optional(),
    })
    .optional(),
  gitlab: z
    .strictObject({
      ...pullSettings,
      baseUrl: httpUrl.default('https://gitlab.com'),
      /** Project paths (group/project) or numeric ids. */
      projects: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  jenkins: z
    .strictObject({
      ...pullSettings,
      baseUrl: httpUrl,
      user: z.string().min(1).optional(),
      /** Job paths as in the URL, e.g. 'payments/deploy' for /job/payments/job/deploy. */
      jobs: z.array(z.string().min(1)).default([]),
    })
    .optional(),
  cdevents: z.strictObject({ enabled: z.boolean().default(true) }).optional(),
  /**
   * The intake of facts from outside the trackers: POST /ingest/<kind> (each kind with its token,
   * PTEL_INGEST_<KIND>_TOKEN) and `ptel import <kind> FILE`.
   */
  ingest: z.strictObject({ enabled: z.boolean().default(true) }).optional(),
  /**
   * Outcome actuals pulled on a schedule: each outcome's query (programs[].outcomes[].actual) is run at
   * each interval's instant, and the configured targets are published with them.
   */
  outcomes: z
    .strictObject({
      ...pullSettings,
      /** A Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics): GET /api/v1/query. Bearer token: PTEL_OUTCOMES_PROMETHEUS_TOKEN. */
      prometheus: z.strictObject({ url: httpUrl }).optional(),
      /** A ClickHouse server's HTTP interface; password: PTEL_OUTCOMES_CLICKHOUSE_PASSWORD. */
      clickhouse: z
        .strictObject({ url: httpUrl, user: z.string().min(1).default('default'), database: z.string().min(1).optional() })
        .optional(),
    })
    .optional(),
});

const webhooksSchema = z.strictObject({
  /** Largest accepted request body; larger ones get 413. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .max(100 * 1024 * 1024)
    .default(5 * 1024 * 1024),
});

/** Why `source` is not a regular expression, or undefined when it is one. */
function regexProblem(source: string, flags = 'i'): string | undefined {
  try {
    new RegExp(source, flags);
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

const pattern = z.string().superRefine((v, ctx) => {
  const problem = regexProblem(v);
  if (problem !== undefined)
    ctx.addIssue({ code: 'custom', message: `expected a regular expression (matched case-insensitively): ${problem}` });
});

/**
 * A way free text (a pull request title, a deployment description, a bug summary) names an incident:
 * the first capture group of `pattern` is the incident's id (as its source keys it, e.g. a PagerDuty
 * incident id) or its number (e.g. "incident #123").
 */
const incidentReferenceSchema = z
  .strictObject({
    pattern: z.string().min(1),
    names: z.enum(['id', 'number']),
    caseSensitive: z.boolean().default(false),
  })
  .superRefine((r, ctx) => {
    const problem = regexProblem(r.pattern, r.caseSensitive ? '' : 'i');
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: `expected a regular expression: ${problem}` });
      return;
    }
    // An alternative that matches the empty string tells how many groups the pattern has.
    if (new RegExp(`${r.pattern}|`).exec('')!.length < 2)
      ctx.addIssue({
        code: 'custom',
        path: ['pattern'],
        message: `expected a capture group around the incident's ${r.names}, for example '\\bINC-(\\d+)\\b'`,
      });
  });

/** The default incident references: an incident URL (/incidents/ID), "incident #N" and "INC-N". */
export const DEFAULT_INCIDENT_REFERENCES = [
  { pattern: '/incidents/([A-Z0-9]{6,20})\\b', names: 'id', caseSensitive: true },
  { pattern: '\\b(?:incident\\s*#?\\s*|INC-?)(\\d+)\\b', names: 'number', caseSensitive: false },
] as const;

/**
 * How vendor facts become the domain model: what counts as production, how links are inferred, how a
 * Jira site's issue types and fields map to the metrics' kinds.
 */
const modelSchema = z.strictObject({
  /** Deployment environments that count as production (case-insensitive). */
  productionEnvironments: z.array(z.string().min(1)).default(['production', 'prod', 'prd', 'live']),
  /** Minutes between two runs of the linker (commits to PRs and deployments, incidents to deployments, ...). */
  linkIntervalMinutes: z.number().int().min(1).max(1440).default(5),
  /** An incident that names no deployment is linked to the last one of its service that finished this long before it. */
  incidentWindowHours: z
    .number()
    .positive()
    .max(24 * 30)
    .default(24),
  /**
   * A deployment is a hotfix when its ref (or a shipped pull request's branch) matches refPattern, its
   * description (or a shipped pull request's title) matches textPattern, or a shipped pull request carries
   * one of the labels. '' turns a pattern off.
   */
  hotfix: z
    .strictObject({
      refPattern: pattern.default('^(refs/heads/)?hotfix[/_-]'),
      textPattern: pattern.default('\\bhot-?fix\\b'),
      labels: z.array(z.string().min(1)).default(['hotfix']),
    })
    .prefault({}),
  /** How pull request titles, deployment descriptions and bug summaries name incidents (see incidentReferenceSchema). */
  incidentReferences: z.array(incidentReferenceSchema).default(() => DEFAULT_INCIDENT_REFERENCES.map((r) => ({ ...r }))),
  workItems: z
    .strictObject({
      /** Issue type names (case-insensitive) per kind; the rest map by Jira's own hierarchy, else to 'other'. */
      types: z
        .strictObject({
          bug: z.array(z.string().min(1)).default(['Bug', 'Defect', 'Incident']),
          story: z.array(z.string().min(1)).default(['Story', 'User Story']),
          task: z.array(z.string().min(1)).default(['Task', 'Improvement', 'New Feature', 'Feature']),
          epic: z.array(z.string().min(1)).default(['Epic']),
          risk: z.array(z.string().min(1)).default(['Risk']),
          decision: z.array(z.string().min(1)).default(['Decision']),
          action: z.array(z.string().min(1)).default(['Action', 'Action Item']),
        })
        .prefault({}),
      /** Statuses whose category is overridden (by name, case-insensitive): e.g. { Blocked: in_progress }. */
      statusCategories: z.record(z.string(), z.enum(['todo', 'in_progress', 'done'])).default({}),
      /** Which work items are milestones besides Jira versions and sprints: epics with a due date. */
      epicsAreMilestones: z.boolean().default(true),
      /** A bug was found in production when its found-in value is a production environment, or it has one of these labels. */
      productionLabels: z.array(z.string().min(1)).default(['production', 'prod', 'escaped-defect', 'customer-reported']),
      /**
       * Link types that make one work item block another (case-insensitive), by the source's own type name
       * (Jira's 'Blocks', or a custom 'Depends') or the product's link kind ('blocks'). The link's outward
       * issue is the blocker: for Jira's Blocks, the issue that "blocks".
       */
      blockingLinkTypes: z.array(z.string().min(1)).min(1, 'name at least one link type, for example Blocks').default(['blocks']),
      /** The Jira field that holds an epic's committed date as a milestone: 'duedate', or a custom date field's id. */
      milestoneDueDateField: z
        .string()
        .regex(/^(duedate|customfield_\d+)$/, "expected 'duedate' or a custom field id, for example 'customfield_10015'")
        .default('duedate'),
    })
    .prefault({}),
});

/** How metrics are computed and when; the definitions are in docs/metrics.md. */
const metricsSchema = z.strictObject({
  /** Periods (day, week, month) are cut in this IANA time zone. */
  timeZone: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone, for example UTC or Europe/Berlin')
    .default('UTC'),
  /** Minutes between two recomputes of the current periods. */
  recomputeMinutes: z.number().int().min(1).max(1440).default(10),
  /** The full recompute of all history, a cron pattern in the time zone. */
  dailyCron: z.string().default('15 2 * * *'),
  /** The month close: the previous month recomputed once it has ended, a cron pattern. */
  monthCloseCron: z.string().default('30 3 1 * *'),
  /** The DORA report year whose tiers the dashboards and exports show. */
  benchmarkYear: z.number().int().min(2023).default(2024),
  /** Post-launch incidents: incidents within this many days after a release. */
  postLaunchDays: z.number().int().min(1).max(90).default(14),
  /** Weights of post-launch incidents by severity ('' for none). */
  severityWeights: z.record(z.string(), z.number().min(0)).default({ sev1: 8, sev2: 4, sev3: 2, sev4: 1, sev5: 1, '': 1 }),
  /** A blocker with no status change and no update for this many business days stalls its dependency, by priority name. */
  stallBusinessDays: z
    .strictObject({
      default: z.number().int().min(1).max(60).default(5),
      byPriority: z.record(z.string(), z.number().int().min(1).max(60)).default({}),
    })
    .prefault({}),
  /**
   * A blocked item is critical when it is in a milestone, its priority rank is at most criticalPriorityRank
   * (1 highest; 0: no rank is), its priority is one of criticalPriorities (names, case-insensitive), or it
   * has one of the labels.
   */
  criticalPriorityRank: z.number().int().min(0).max(5).default(2),
  criticalPriorities: z.array(z.string().min(1)).default([]),
  criticalLabels: z.array(z.string().min(1)).default(['critical', 'release-blocker']),
  /** Surveys (items 25, 26): no value for a program and quarter with fewer answers; scores from positiveFrom are positive, up to negativeTo negative. */
  surveys: z
    .strictObject({
      minResponses: z.number().int().min(1).max(1000).default(5),
      positiveFrom: z.number().int().min(1).max(5).default(4),
      negativeTo: z.number().int().min(1).max(5).default(2),
    })
    .prefault({}),
  /**
   * Readiness checks kept in Jira (item 24): issues of these types or with these labels, in a fix version
   * or under an epic (the release; its release or due date the go/no-go), pass, fail or waived by status
   * name (case-insensitive). Checks can also be imported (`ptel import readiness_check`).
   */
  readiness: z
    .strictObject({
      issueTypes: z.array(z.string().min(1)).default([]),
      labels: z.array(z.string().min(1)).default(['readiness-check']),
      passStatuses: z.array(z.string().min(1)).default(['Done', 'Passed']),
      waivedStatuses: z.array(z.string().min(1)).default(['Waived']),
    })
    .prefault({}),
  /**
   * Compliance controls kept in Jira (item 30): issues of these types or with these labels, due by their
   * audit date (the due date), with evidence once in one of evidenceStatuses (else once resolved).
   */
  compliance: z
    .strictObject({
      issueTypes: z.array(z.string().min(1)).default([]),
      labels: z.array(z.string().min(1)).default(['compliance-control']),
      evidenceStatuses: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** Cost rows (FOCUS) go to the program named by this tag's value, else to the program whose costAccounts hold their SubAccountId. */
  costTag: z.string().min(1).default('program'),
  /** Decisions that block a release should be made within this many hours. */
  decisionTargetHours: z.number().positive().default(48),
  /** Other decisions should be made within this many business days (weekdays). */
  decisionTargetBusinessDays: z.number().int().min(1).max(60).default(5),
  /** The registers (ptel list) show items finished, decided or closed within this many days before their instant. */
  registerRecentDays: z.number().int().min(1).max(366).default(30),
  /** How often the registers are written to register_rows for the dashboards. */
  registerIntervalMinutes: z.number().int().min(1).max(1440).default(15),
  releaseCriticalLabels: z.array(z.string().min(1)).default(['release-critical', 'release-blocker']),
  /** Milestone forecasts (Monte Carlo over throughput; docs/metrics.md items 21-23). */
  forecast: z
    .strictObject({
      /** Trials per milestone. */
      trials: z.number().int().min(100).max(1_000_000).default(10_000),
      /** The simulation's seed: the same seed and inputs give the same forecast. */
      seed: z.number().int().min(0).max(4_294_967_295).default(1),
      /** Trailing weeks of throughput (zero weeks included). */
      windowWeeks: z.number().int().min(2).max(104).default(12),
      /** No forecast with fewer done items than this, or fewer weeks of history than minWeeks. */
      minDoneItems: z.number().int().min(1).max(1000).default(20),
      minWeeks: z.number().int().min(1).max(104).default(6),
      /** Confidence (P(done by the committed date)) from which a milestone is on track, and at risk below it; off track below atRisk. */
      onTrack: z.number().min(0).max(1).default(0.8),
      atRisk: z.number().min(0).max(1).default(0.5),
      /** A trial not finished after this many weeks does not finish. */
      horizonWeeks: z.number().int().min(4).max(520).default(104),
      /**
       * What a milestone's dates rest on: 'auto' reads it from how the owning team's recent milestones of
       * the same kind finished (around their date with open items carried over: their cadence; else the
       * remaining work against the throughput); 'cadence' or 'throughput' for every milestone.
       */
      method: z.enum(['auto', 'cadence', 'throughput']).default('auto'),
      /** The team's most recent finished milestones of the same kind its cadence is read from ... */
      cadencePeers: z.number().int().min(3).max(100).default(12),
      /** ... and the fewest it needs; with fewer, the organisation's are read. */
      minCadencePeers: z.number().int().min(3).max(100).default(4),
      /** 'auto': the share of those that finished with open items from which the team ships by date. */
      carryOverShare: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  risk: z
    .strictObject({
      /** Trailing weeks a signal compares the week against. */
      baselineWeeks: z.number().int().min(4).max(104).default(12),
      /** Weeks of history a signal needs before it may fire. */
      minHistoryWeeks: z.number().int().min(3).max(104).default(6),
      /** |robust z| past which a signal fires (in the harmful direction only). */
      threshold: z.number().positive().default(3.5),
      /** Weeks of history from which seasonality is removed first. */
      seasonalMinWeeks: z.number().int().min(8).max(520).default(26),
    })
    .prefault({}),
});

/** The monthly KPI export (docs/export.md): `ptel export`, and the month just ended on schedule. */
const exportSchema = z.strictObject({
  /** Where exports are written, one folder per month (<dir>/YYYY-MM); relative to the config file's folder. Default: <dataDir>/exports. */
  dir: z.string().min(1).optional(),
  /** Export the month just ended on schedule (`cron`). */
  enabled: z.boolean().default(true),
  /**
   * When the scheduled export runs, a cron pattern in metrics.timeZone: on the first of the month, after the
   * month close (metrics.monthCloseCron). The run closes the month first if no metrics run has since it ended.
   */
  cron: z.string().default('30 5 1 * *'),
});

/** The weekly program status report (docs/status-report.md): drafted, written and sent on schedule. */
const reportsSchema = z.strictObject({
  status: z
    .strictObject({
      /** Write and send each program's report of the week just ended on schedule (`cron`). */
      enabled: z.boolean().default(true),
      /**
       * When the week's report is due, a cron pattern in metrics.timeZone (default Monday 08:00). The report
       * covers the last whole ISO week before the instant it falls due; a run that finds it unsent (the
       * process was down then, a channel failed) sends it, once per week, program and channel.
       */
      cron: z.string().default('0 8 * * 1'),
      /** The programs whose report is sent; empty for every program of the organisation. */
      programs: z.array(id).default([]),
      /**
       * Channels of alerts.channels that get the portfolio view (every program side by side) each week.
       * Each program's own report goes to the channels its alert routes name (docs/status-report.md).
       */
      portfolioChannels: z.array(z.string().min(1)).default([]),
      /** How often a run checks for a report that is due and unsent. */
      checkMinutes: z.number().int().min(1).max(1440).default(15),
    })
    .prefault({}),
});

/**
 * The people behind accounts in several systems, so one person is one id across GitHub, GitLab, Jira
 * and PagerDuty. Only the id chosen here is stored; accounts not listed are stored as a pseudonym.
 */
const personSchema = z.strictObject({
  id,
  github: z.array(z.string().min(1)).default([]),
  gitlab: z.array(z.string().min(1)).default([]),
  /** Jira account ids (Cloud) or user keys (Data Center). */
  jira: z.array(z.string().min(1)).default([]),
  pagerduty: z.array(z.string().min(1)).default([]),
  /** The team the person works in, for hand-offs between teams. */
  team: z.string().optional(),
});

const envName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "expected an environment variable's name, for example 'PTEL_SLACK_CHECKOUT_URL'");

/**
 * Where stall alerts go. Secrets (a Slack webhook URL, a signing secret, a PagerDuty routing key) are
 * never in the file: each channel names the environment variable that holds its secret.
 */
const channelSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** A Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat, Google Chat's `text` form). */
    type: z.literal('slack'),
    /** The variable holding the webhook URL (the URL carries its own token). */
    urlEnv: envName,
  }),
  z.strictObject({
    /** JSON POSTed to `url`, signed with HMAC-SHA256 over "<timestamp>.<body>" (docs/alerts.md). */
    type: z.literal('webhook'),
    url: httpUrl,
    /** The variable holding the signing secret. */
    secretEnv: envName,
  }),
  z.strictObject({
    /** PagerDuty Events API v2: trigger on open, resolve on resolution, one dedup key per alert. */
    type: z.literal('pagerduty'),
    /** The variable holding the integration's routing key. */
    routingKeyEnv: envName,
    /** The Events API host: events.pagerduty.com, or events.eu.pagerduty.com for EU accounts. */
    server: z
      .string()
      .regex(/^[A-Za-z0-9.-]+(:\d{1,5})?$/, "expected a host name, for example 'events.eu.pagerduty.com'")
      .default('events.pagerduty.com'),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('warning'),
  }),
]);

/** Where a channel's secret is: the key that names its variable, the variable, and what it must hold. */
export function channelSecretOf(channel: ChannelConfig): { key: string; variable: string; what: string } {
  switch (channel.type) {
    case 'slack':
      return { key: 'urlEnv', variable: channel.urlEnv, what: 'incoming webhook URL' };
    case 'webhook':
      return { key: 'secretEnv', variable: channel.secretEnv, what: 'signing secret' };
    case 'pagerduty':
      return { key: 'routingKeyEnv', variable: channel.routingKeyEnv, what: 'PagerDuty integration routing key' };
  }
}

/** Which stalls a route sends to which channels. A route with neither teams nor programs matches every stall. */
const routeSchema = z.strictObject({
  /** Stalls whose blocked or blocker team (see `side`) is one of these. */
  teams: z.array(z.string().min(1)).default([]),
  /** Stalls whose blocked item is in one of these programs. */
  programs: z.array(z.string().min(1)).default([]),
  /** Which team of a stall the route looks at: the blocked team (whose work waits), the blocker's, or either. */
  side: z.enum(['blocked', 'blocker', 'both']).default('both'),
  /** Only stalls between two teams. */
  crossTeamOnly: z.boolean().default(false),
  channels: z.array(z.string().min(1)).min(1, 'a route needs at least one channel'),
});

/** Dependency-stall alerting (docs/alerts.md). */
const alertsSchema = z
  .strictObject({
    stalls: z
      .strictObject({
        /** Run the detector on schedule. Alert state is kept (for the dashboards) even with no channel. */
        enabled: z.boolean().default(true),
        intervalMinutes: z.number().int().min(1).max(1440).default(15),
        /** Tell the channels again about a stall still open after this long; 0 never. */
        renotifyHours: z
          .number()
          .min(0)
          .max(24 * 90)
          .default(24),
        /** Tell the channels when a stall resolves. */
        notifyResolved: z.boolean().default(true),
      })
      .prefault({}),
    channels: z.record(id, channelSchema).default({}),
    routes: z.array(routeSchema).default([]),
    /** Channels for stalls that no route matched. */
    defaultChannels: z.array(z.string().min(1)).default([]),
    /** A PEM file of extra certificate authorities trusted for deliveries (a TLS-inspecting proxy, a private receiver). */
    caFile: z.string().min(1).optional(),
    /** Grafana's base URL, for a link to the Dependencies dashboard in each message. */
    grafanaUrl: httpUrl.optional(),
    /** Longest a delivery may take before it counts as failed. */
    timeoutMs: durationMs.max(120_000).default(10_000),
  })
  .superRefine((a, ctx) => {
    const known = Object.keys(a.channels);
    const check = (names: string[], at: PropertyKey[]): void => {
      names.forEach((name, i) => {
        if (!(name in a.channels)) {
          ctx.addIssue({
            code: 'custom',
            path: [...at, i],
            message: `no channel '${name}' in alerts.channels (${known.length > 0 ? `known: ${known.join(', ')}` : 'none is defined'})`,
          });
        }
      });
    };
    a.routes.forEach((r, i) => check(r.channels, ['routes', i, 'channels']));
    check(a.defaultChannels, ['defaultChannels']);
  });

export const configSchema = z
  .strictObject({
    mode: z.enum(['embedded', 'distributed']).default('embedded'),
    /** Embedded mode keeps the ClickHouse engine's data and the durable bus log here. */
    dataDir: z.string().min(1).default('./data'),
    kafka: z
      .strictObject({
        brokers: z.array(hostPort).min(1).default(['localhost:9092']),
        clientId: z.string().min(1).default('ptel'),
        /** Put before every topic name (raw.<source>, dlq.<source>), to share a cluster between deployments. */
        topicPrefix: z
          .string()
          .regex(/^([A-Za-z0-9_-]+\.)?$/, "expected a name ending in '.', for example 'acme.'")
          .default(''),
        /** Partitions of each raw.<source> topic when the pipeline creates it. */
        partitions: z.number().int().min(1).max(1024).default(6),
        replicationFactor: z.number().int().min(1).max(7).default(1),
        ssl: z.boolean().default(false),
        sasl: z.strictObject({ mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']), username: z.string().min(1) }).optional(),
        /** Longest a publish waits for the broker's acknowledgement; past it a webhook is answered 503 and a pull stops. */
        publishTimeoutMs: durationMs.max(60_000).default(5_000),
        /** Chunks a publisher keeps in flight at once (built and queued while earlier ones are acknowledged). */
        publishInFlight: z.number().int().min(1).max(16).default(4),
      })
      .prefault({}),
    clickhouse: z
      .strictObject({
        /** `server` talks to `url`; `embedded` runs the engine in this process with data under dataDir. Default by mode. */
        engine: z.enum(['server', 'embedded']).optional(),
        url: z.url().optional(),
        username: z.string().default('default'),
        database: id.default('ptel'),
        requestTimeoutMs: durationMs.default(300_000),
        /**
         * A cluster of the server's `remote_servers` (or a macro naming one, `{cluster}`): the migrations
         * and every other DDL run ON CLUSTER, MergeTree tables as their Replicated variants (one shard,
         * every replica holding all the data; docs/deployment.md "ClickHouse cluster"). Server engine only.
         */
        cluster: z
          .string()
          .regex(/^[A-Za-z0-9_.{}-]+$/, "expected a cluster name of letters, digits, '_', '-', '.', or a macro such as '{cluster}'")
          .optional(),
      })
      .prefault({}),
    redis: z
      .strictObject({
        url: z.url().default('redis://localhost:6379'),
        /** The BullMQ queue of the schedules; one per deployment sharing a Redis. */
        queue: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, "expected letters, digits, '-' or '_', for example 'ptel-jobs'")
          .default('ptel-jobs'),
      })
      .prefault({}),
    http: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        /** Every process that serves HTTP listens here; unset, each role has its own default (DEFAULT_HTTP_PORTS). */
        port: z.number().int().min(0).max(65535).optional(),
      })
      .prefault({}),
    normalizer: z
      .strictObject({
        groupId: z.string().min(1).default('ptel-normalizer'),
        /** Rows buffered before the writer flushes. */
        flushRows: z.number().int().min(1).default(5_000),
        /** Longest a buffered row waits before the writer flushes. */
        flushIntervalMs: durationMs.default(1_000),
        /** A write starts once no batch has come for this long (all workers have handed in theirs). */
        lingerMs: z.number().int().min(0).default(20),
        /** A worker that stops heartbeating for this long leaves its group and its partitions move on. */
        sessionTimeoutMs: z.number().int().min(6_000).max(300_000).default(30_000),
        /** Partitions a consumer works on at once. */
        concurrency: z.number().int().min(1).max(64).default(4),
      })
      .prefault({}),
    sources: sourcesSchema.prefault({}),
    webhooks: webhooksSchema.prefault({}),
    demo: z
      .strictObject({
        seed: z.number().int().default(42),
        months: z.number().int().min(1).max(36).default(6),
        teams: z.number().int().min(1).max(50).default(4),
      })
      .prefault({}),
    log: z
      .strictObject({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .prefault({}),
    org: orgSchema.prefault({}),
    model: modelSchema.prefault({}),
    metrics: metricsSchema.prefault({}),
    export: exportSchema.prefault({}),
    people: z.array(personSchema).default([]),
    alerts: alertsSchema.prefault({}),
    reports: reportsSchema.prefault({}),
  })
  .superRefine((c, ctx) => {
    // A report goes to Slack or a signed webhook; PagerDuty pages people about incidents, not weekly reports.
    c.reports.status.portfolioChannels.forEach((name, i) => {
      const channel = c.alerts.channels[name];
      const path = ['reports', 'status', 'portfolioChannels', i];
      if (channel === undefined) {
        const known = Object.keys(c.alerts.channels);
        ctx.addIssue({
          code: 'custom',
          path,
          message: `no channel '${name}' in alerts.channels (${known.length > 0 ? `known: ${known.join(', ')}` : 'none is defined'})`,
        });
      } else if (channel.type === 'pagerduty') {
        ctx.addIssue({
          code: 'custom',
          path,
          message: `channel '${name}' is a PagerDuty channel, which takes alerts, not reports; name a slack or webhook channel`,
        });
      }
    });
  });

/** The roles that serve HTTP (/healthz, /readyz, /metrics, and the webhooks for run and serve). */
export type HttpRole = 'run' | 'serve' | 'normalize' | 'connect';

/**
 * Each role's HTTP port when http.port is not set, apart so that the roles of a distributed
 * deployment can run on one host side by side.
 */
export const DEFAULT_HTTP_PORTS: Readonly<Record<HttpRole, number>> = { run: 8080, serve: 8081, normalize: 8082, connect: 8083 };

/** The port a role listens on: http.port (file or PTEL_HTTP_PORT) when set, else the role's default. */
export function httpPortOf(config: Pick<FileConfig, 'http'>, role: HttpRole): number {
  return config.http.port ?? DEFAULT_HTTP_PORTS[role];
}

/** Secrets: only ever read from the environment, never from the file. */
export interface Secrets {
  clickhousePassword: string | undefined;
  kafkaSaslPassword: string | undefined;
  githubToken: string | undefined;
  githubAppPrivateKey: string | undefined;
  githubWebhookSecret: string | undefined;
  jiraApiToken: string | undefined;
  jiraWebhookSecret: string | undefined;
  pagerdutyToken: string | undefined;
  /** PagerDuty v3 webhook subscriptions each have their own secret: comma separated. */
  pagerdutyWebhookSecrets: string[];
  gitlabToken: string | undefined;
  gitlabWebhookToken: string | undefined;
  jenkinsApiToken: string | undefined;
  jenkinsWebhookToken: string | undefined;
  cdeventsWebhookToken: string | undefined;
  /** The bearer token of each /ingest/<kind> endpoint, from PTEL_INGEST_<KIND>_TOKEN; a kind without one answers 404. */
  ingestTokens: Partial<Record<IngestKind, string>>;
  outcomesPrometheusToken: string | undefined;
  outcomesClickhousePassword: string | undefined;
  /** Each alert channel's secret by channel id, from the variable the channel names (checked at load). */
  alertChannels: Record<string, string>;
}

/** The environment variable of each secret (an alert channel names its own). */
export const SECRET_ENV: Record<Exclude<keyof Secrets, 'alertChannels' | 'ingestTokens'>, string> = {
  clickhousePassword: 'PTEL_CLICKHOUSE_PASSWORD',
  kafkaSaslPassword: 'PTEL_KAFKA_SASL_PASSWORD',
  githubToken: 'PTEL_GITHUB_TOKEN',
  githubAppPrivateKey: 'PTEL_GITHUB_APP_PRIVATE_KEY',
  githubWebhookSecret: 'PTEL_GITHUB_WEBHOOK_SECRET',
  jiraApiToken: 'PTEL_JIRA_API_TOKEN',
  jiraWebhookSecret: 'PTEL_JIRA_WEBHOOK_SECRET',
  pagerdutyToken: 'PTEL_PAGERDUTY_TOKEN',
  pagerdutyWebhookSecrets: 'PTEL_PAGERDUTY_WEBHOOK_SECRETS',
  gitlabToken: 'PTEL_GITLAB_TOKEN',
  gitlabWebhookToken: 'PTEL_GITLAB_WEBHOOK_TOKEN',
  jenkinsApiToken: 'PTEL_JENKINS_API_TOKEN',
  jenkinsWebhookToken: 'PTEL_JENKINS_WEBHOOK_TOKEN',
  cdeventsWebhookToken: 'PTEL_CDEVENTS_WEBHOOK_TOKEN',
  outcomesPrometheusToken: 'PTEL_OUTCOMES_PROMETHEUS_TOKEN',
  outcomesClickhousePassword: 'PTEL_OUTCOMES_CLICKHOUSE_PASSWORD',
};

/** The variable holding the token of /ingest/<kind>: PTEL_INGEST_SURVEY_RESPONSE_TOKEN for survey_response. */
export const ingestTokenEnv = (kind: IngestKind): string => `PTEL_INGEST_${kind.toUpperCase()}_TOKEN`;

export type FileConfig = z.infer<typeof configSchema>;
export type OrgConfig = z.infer<typeof orgSchema>;
export type SourcesConfig = z.infer<typeof sourcesSchema>;
export type ModelConfig = z.infer<typeof modelSchema>;
export type MetricsConfig = z.infer<typeof metricsSchema>;
export const defaultMetricsConfig = (): MetricsConfig => metricsSchema.parse({});
/** The model settings with every default, for code that runs without a config file. */
export const defaultModel = (): ModelConfig => modelSchema.parse({});
export type PersonConfig = z.infer<typeof personSchema>;
export type AlertsConfig = z.infer<typeof alertsSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;
export type RouteConfig = z.infer<typeof routeSchema>;
export type ReportsConfig = z.infer<typeof reportsSchema>;
export type Config = Omit<FileConfig, 'clickhouse'> & {
  clickhouse: FileConfig['clickhouse'] & { engine: 'server' | 'embedded' };
  secrets: Secrets;
  configPath: string | undefined;
};

/** The settings every pulled source shares (interval, concurrency, first-pull depth), or undefined when it has no section. */
export function pullSettingsOf(config: Pick<FileConfig, 'sources'>, source: string): PullSettings | undefined {
  const section: unknown = (config.sources as Record<string, unknown>)[source];
  return section !== undefined && typeof section === 'object' && section !== null && 'intervalMinutes' in section
    ? (section as PullSettings)
    : undefined;
}

export interface PullSettings {
  enabled: boolean;
  intervalMinutes: number;
  concurrency: number;
  initialDays: number;
}
