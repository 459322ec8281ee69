import { IdFactory } from './ids.js';
import type { Rng } from './prng.js';
import { OfficeHours } from './time.js';

/** The org mapping the product config holds for an organisation (validated by the config schema). */
export interface DemoOrgConfig {
  programs: Array<{
    id: string;
    name: string;
    teams: Array<{
      id: string;
      name: string;
      /** `owner/name`, e.g. `acme/payments-api`. */
      repositories: string[];
      jira: { projects: string[]; components: string[] };
      /** PagerDuty service ids. */
      pagerduty: { services: string[] };
      /** `github:<owner/repo>:<workflow file>`. */
      ci: { pipelines: string[] };
      /** Deployable services, each with the repository it is built from and the PagerDuty service that pages for it. */
      services: Array<{ name: string; repositories: string[]; pagerduty: string[]; pipelines: string[]; aliases: string[] }>;
    }>;
    /** The teams' cloud accounts in the cost export. */
    costAccounts: string[];
    /** The same monthly budget every month, in USD. */
    budgets: Array<{ amount: number; currency: string }>;
  }>;
  /** Jira Cloud host, e.g. `acme.atlassian.net`. */
  jiraSite: string;
}

export const GITHUB_OWNER = 'acme';
export const JIRA_SITE = 'acme.atlassian.net';
export const PAGERDUTY_SUBDOMAIN = 'acme';
const EMAIL_DOMAIN = 'acme.example';

const PROGRAMS = [
  { id: 'checkout-modernization', name: 'Checkout Modernization' },
  { id: 'platform-reliability', name: 'Platform Reliability' },
] as const;

/** How often a team does things; the team table below picks one per team. */
export interface TeamRates {
  /** Pull requests opened per repository per week. */
  prsPerWeek: number;
  /** Regular production deployments per repository per week. */
  productionDeploysPerWeek: number;
  stagingDeploysPerWeek: number;
  /** Stories, tasks and bugs started per two-week sprint. */
  itemsPerSprint: number;
}

const CADENCE = {
  fast: { prsPerWeek: 2.5, productionDeploysPerWeek: 3, stagingDeploysPerWeek: 1.5, itemsPerSprint: 11 },
  steady: { prsPerWeek: 1.6, productionDeploysPerWeek: 2, stagingDeploysPerWeek: 1, itemsPerSprint: 9 },
  slow: { prsPerWeek: 1.2, productionDeploysPerWeek: 1, stagingDeploysPerWeek: 0.8, itemsPerSprint: 7 },
} as const satisfies Record<string, TeamRates>;

interface TeamBlueprint {
  id: string;
  name: string;
  jiraKey: string;
  repos: Array<{ name: string; description: string; language: string }>;
  components: string[];
  /** Office time zone (fixed offset) and its IANA name for Jira user profiles. */
  utcOffset: number;
  timeZone: string;
  cadence: keyof typeof CADENCE;
  /** Nouns used to make up work item and pull request titles. */
  topics: string[];
}

const TEAM_BLUEPRINTS: TeamBlueprint[] = [
  {
    id: 'payments',
    name: 'Payments',
    jiraKey: 'PAY',
    repos: [
      { name: 'payments-api', description: 'Card and wallet payment API', language: 'TypeScript' },
      { name: 'payments-ledger', description: 'Double-entry ledger and settlement jobs', language: 'Go' },
    ],
    components: ['API', 'Ledger', 'Reconciliation'],
    utcOffset: -5,
    timeZone: 'America/New_York',
    cadence: 'fast',
    topics: [
      'refund idempotency keys',
      'card authorisation retries',
      'settlement batch job',
      'ledger reconciliation report',
      'wallet top-up limits',
      'payment method tokenisation',
      '3-D Secure challenge flow',
      'chargeback webhook handler',
    ],
  },
  {
    id: 'checkout',
    name: 'Checkout',
    jiraKey: 'CHK',
    repos: [{ name: 'checkout-web', description: 'Checkout single-page app and BFF', language: 'TypeScript' }],
    components: ['Cart', 'Checkout UI', 'Promotions'],
    utcOffset: 1,
    timeZone: 'Europe/Berlin',
    cadence: 'steady',
    topics: [
      'cart price recalculation',
      'promo code validation',
      'address autocomplete',
      'express checkout button',
      'order summary page',
      'guest checkout flow',
      'shipping option picker',
      'basket persistence',
    ],
  },
  {
    id: 'identity',
    name: 'Identity',
    jiraKey: 'IDN',
    repos: [{ name: 'identity-service', description: 'Login, SSO and session service', language: 'Kotlin' }],
    components: ['Login', 'SSO', 'Sessions'],
    utcOffset: 0,
    timeZone: 'Europe/London',
    cadence: 'steady',
    topics: [
      'SAML metadata refresh',
      'session token rotation',
      'passkey enrolment',
      'password reset emails',
      'OIDC discovery endpoint',
      'login rate limiting',
      'MFA recovery codes',
      'account lockout policy',
    ],
  },
  {
    id: 'notifications',
    name: 'Notifications',
    jiraKey: 'NTF',
    repos: [
      { name: 'notification-service', description: 'Notification API and template rendering', language: 'TypeScript' },
      { name: 'notification-workers', description: 'Email, SMS and push delivery workers', language: 'Python' },
    ],
    components: ['Email', 'Push', 'Templates'],
    utcOffset: -8,
    timeZone: 'America/Los_Angeles',
    cadence: 'slow',
    topics: [
      'email template versioning',
      'push token cleanup',
      'SMS provider failover',
      'delivery receipt tracking',
      'unsubscribe links',
      'digest scheduling',
      'bounce handling',
      'notification preferences API',
    ],
  },
  {
    id: 'search',
    name: 'Search',
    jiraKey: 'SRCH',
    repos: [{ name: 'search-api', description: 'Product search and ranking API', language: 'Java' }],
    components: ['Indexing', 'Ranking', 'Query'],
    utcOffset: 5.5,
    timeZone: 'Asia/Kolkata',
    cadence: 'steady',
    topics: [
      'synonym dictionary',
      'index rebuild job',
      'typo tolerance',
      'facet counts',
      'ranking experiment flags',
      'query latency budget',
    ],
  },
  {
    id: 'catalog',
    name: 'Catalog',
    jiraKey: 'CAT',
    repos: [{ name: 'catalog-service', description: 'Product catalogue and pricing service', language: 'Go' }],
    components: ['Products', 'Pricing', 'Media'],
    utcOffset: 1,
    timeZone: 'Europe/Paris',
    cadence: 'slow',
    topics: [
      'bulk price import',
      'product variant model',
      'image resizing',
      'category tree cache',
      'price history',
      'catalogue export feed',
    ],
  },
  {
    id: 'fulfillment',
    name: 'Fulfillment',
    jiraKey: 'FUL',
    repos: [
      { name: 'fulfillment-api', description: 'Order fulfilment orchestration', language: 'TypeScript' },
      { name: 'warehouse-sync', description: 'Warehouse stock synchronisation', language: 'Python' },
    ],
    components: ['Orders', 'Shipping', 'Stock'],
    utcOffset: -6,
    timeZone: 'America/Chicago',
    cadence: 'steady',
    topics: [
      'carrier label printing',
      'split shipment handling',
      'stock reservation expiry',
      'returns intake',
      'delivery estimate model',
      'warehouse webhook retries',
    ],
  },
  {
    id: 'analytics',
    name: 'Analytics',
    jiraKey: 'ANL',
    repos: [{ name: 'events-pipeline', description: 'Product analytics event pipeline', language: 'Scala' }],
    components: ['Ingestion', 'Warehouse', 'Dashboards'],
    utcOffset: 2,
    timeZone: 'Europe/Helsinki',
    cadence: 'slow',
    topics: [
      'event schema registry',
      'late event handling',
      'daily revenue rollup',
      'consent filtering',
      'dashboard freshness alerts',
      'backfill tooling',
    ],
  },
];

/** Fictional name parts; combinations are drawn without repetition. */
const FIRST_NAMES = [
  'Dana',
  'Miguel',
  'Priya',
  'Jonas',
  'Aisha',
  'Tomas',
  'Hana',
  'Liam',
  'Sofia',
  'Kwame',
  'Elena',
  'Ravi',
  'Maya',
  'Noah',
  'Leila',
  'Grace',
  'Mateo',
  'Ingrid',
  'Omar',
  'Zoe',
  'Arjun',
  'Freya',
  'Diego',
  'Yuki',
  'Amara',
  'Lucas',
  'Nina',
  'Samuel',
  'Clara',
  'Hugo',
  'Isla',
  'Victor',
];
const LAST_NAMES = [
  'Ortiz',
  'Chen',
  'Raman',
  'Weber',
  'Bello',
  'Silva',
  'Kobayashi',
  'Brennan',
  'Rossi',
  'Mensah',
  'Petrova',
  'Iyer',
  'Goldberg',
  'Fischer',
  'Haddad',
  'Park',
  'Alvarez',
  'Larsen',
  'Farouk',
  'Turner',
  'Mehta',
  'Nilsson',
  'Morales',
  'Tanaka',
  'Okafor',
  'Moreau',
  'Kowalski',
  'Adeyemi',
  'Jensen',
  'Martin',
  'Campbell',
  'Nguyen',
];

export interface Person {
  name: string;
  login: string;
  email: string;
  githubId: number;
  jiraAccountId: string;
  /** Seeds the avatar URLs, like Gravatar's hash of an e-mail address. */
  avatarHash: string;
  pagerdutyId: string;
  timeZone: string;
}

export interface Program {
  id: string;
  name: string;
  tpm: Person;
  teams: Team[];
}

export interface Repo {
  id: number;
  name: string;
  fullName: string;
  description: string;
  language: string;
  createdAt: number;
  team: Team;
  /** The PagerDuty service of the deployable service this repository builds. */
  pagerduty: PagerDutyService;
  workflows: { ci: Workflow; deploy: Workflow };
  /** Share of merges by method; repositories differ in what they allow. */
  mergeMethods: ReadonlyArray<readonly [MergeMethod, number]>;
}

export type MergeMethod = 'merge' | 'squash' | 'rebase';

export interface Workflow {
  id: number;
  name: string;
  file: string;
  /** Run number of the last run before the demo window (the repository has history). */
  runNumberBase: number;
}

/** One PagerDuty service per deployable service, named like it. */
export interface PagerDutyService {
  id: string;
  name: string;
  integrationId: string;
  createdAt: number;
}

export interface Team {
  index: number;
  id: string;
  name: string;
  program: Program;
  jira: {
    key: string;
    projectId: string;
    projectName: string;
    boardId: number;
    components: Array<{ id: string; name: string }>;
    /** First issue number in the demo window; projects have history. */
    issueNumberBase: number;
  };
  engineers: Person[];
  manager: Person;
  repos: Repo[];
  pagerduty: { teamId: string; escalationPolicyId: string };
  office: OfficeHours;
  rates: TeamRates;
  topics: string[];
}

export interface Organisation {
  programs: Program[];
  teams: Team[];
  repos: Repo[];
  people: Person[];
  github: { id: number; login: string };
  ids: IdFactory;
}

const asciiSlug = (s: string): string =>
  s
    .normalize('NFKD')
    .replace(/[^\w\s-]/g, '')
    .trim()
    .toLowerCase()
    .replace(/\s+/g, '-');

function blueprint(index: number): TeamBlueprint {
  const base = TEAM_BLUEPRINTS[index % TEAM_BLUEPRINTS.length]!;
  const round = Math.floor(index / TEAM_BLUEPRINTS.length);
  if (round === 0) return base;
  // More teams than the table holds: a second squad of the same domain, with its own names.
  const suffix = String(round + 1);
  return {
    ...base,
    id: `${base.id}-${suffix}`,
    name: `${base.name} ${suffix}`,
    jiraKey: `${base.jiraKey}${suffix}`,
    repos: base.repos.map((r) => ({ ...r, name: `${r.name}-${suffix}` })),
  };
}

const MERGE_POLICIES: ReadonlyArray<ReadonlyArray<readonly [MergeMethod, number]>> = [
  [
    ['squash', 0.6],
    ['merge', 0.25],
    ['rebase', 0.15],
  ],
  [
    ['merge', 0.5],
    ['squash', 0.3],
    ['rebase', 0.2],
  ],
  [
    ['squash', 0.45],
    ['rebase', 0.35],
    ['merge', 0.2],
  ],
];

export function buildOrganisation(rng: Rng, teamCount: number, windowStart: number): Organisation {
  const ids = new IdFactory(rng.fork('ids'));
  const peopleRng = rng.fork('people');
  const names = peopleRng.shuffle(FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => [f, l] as const)));
  const people: Person[] = [];
  const person = (timeZone: string): Person => {
    const [first, last] = names[people.length % names.length]!;
    const login = asciiSlug(`${first} ${last}`);
    const p: Person = {
      name: `${first} ${last}`,
      login,
      email: `${login.replace('-', '.')}@${EMAIL_DOMAIN}`,
      githubId: ids.integer('github-user', 1_200_000, 160_000_000),
      jiraAccountId: `712020:${peopleRng.uuid()}`,
      avatarHash: peopleRng.hex(32),
      pagerdutyId: ids.pagerduty(),
      timeZone,
    };
    people.push(p);
    return p;
  };

  const programCount = Math.min(PROGRAMS.length, Math.max(1, teamCount));
  const programs: Program[] = PROGRAMS.slice(0, programCount).map((p) => ({ ...p, tpm: person('America/New_York'), teams: [] }));
  const teams: Team[] = [];
  const repos: Repo[] = [];
  let projectId = 10000;
  let componentId = 10000;
  let boardId = 1;

  for (let i = 0; i < teamCount; i++) {
    const bp = blueprint(i);
    const teamRng = rng.fork(`team:${bp.id}`);
    // First half of the teams in the first program, the rest in the second.
    const program = programs[Math.min(programs.length - 1, Math.floor((i * programs.length) / teamCount))]!;
    const team: Team = {
      index: i,
      id: bp.id,
      name: bp.name,
      program,
      jira: {
        key: bp.jiraKey,
        projectId: String(projectId++),
        projectName: bp.name,
        boardId: boardId++,
        components: bp.components.map((name) => ({ id: String(componentId++), name })),
        issueNumberBase: teamRng.int(120, 900),
      },
      engineers: Array.from({ length: teamRng.int(4, 6) }, () => person(bp.timeZone)),
      manager: person(bp.timeZone),
      repos: [],
      pagerduty: { teamId: ids.pagerduty(), escalationPolicyId: ids.pagerduty() },
      office: new OfficeHours(bp.utcOffset),
      rates: CADENCE[bp.cadence],
      topics: bp.topics,
    };
    for (const r of bp.repos) {
      const createdAt = windowStart - teamRng.int(200, 1400) * 86_400_000;
      const repo: Repo = {
        id: ids.integer('github-repo', 400_000_000, 980_000_000),
        name: r.name,
        fullName: `${GITHUB_OWNER}/${r.name}`,
        description: r.description,
        language: r.language,
        createdAt,
        team,
        pagerduty: {
          id: ids.pagerduty(),
          name: r.name,
          integrationId: ids.pagerduty(),
          createdAt: createdAt + teamRng.int(5, 60) * 86_400_000,
        },
        workflows: {
          ci: { id: ids.integer('workflow', 60_000_000, 190_000_000), name: 'CI', file: 'ci.yml', runNumberBase: teamRng.int(800, 4000) },
          deploy: {
            id: ids.integer('workflow', 60_000_000, 190_000_000),
            name: 'Deploy',
            file: 'deploy.yml',
            runNumberBase: teamRng.int(150, 900),
          },
        },
        mergeMethods: teamRng.pick(MERGE_POLICIES),
      };
      team.repos.push(repo);
      repos.push(repo);
    }
    program.teams.push(team);
    teams.push(team);
  }

  return {
    programs,
    teams,
    repos,
    people,
    github: { id: ids.integer('github-org', 40_000_000, 160_000_000), login: GITHUB_OWNER },
    ids,
  };
}

/** A team's cloud account in the demo's cost export (its FOCUS SubAccountId). */
export const demoCostAccount = (team: Pick<Team, 'id'>): string => `acme-${team.id}`;
/** What one team's cloud usage costs a day on average, in USD. */
export const TEAM_DAILY_COST = 100;
/** What a program plans to spend a month for each of its teams, in USD: about what they cost. */
export const TEAM_MONTHLY_BUDGET = 3000;
export function orgConfig(org: Organisation): DemoOrgConfig {
  return {
    jiraSite: JIRA_SITE,
    programs: org.programs.map((p) => ({
      id: p.id,
      name: p.name,
      costAccounts: p.teams.map(demoCostAccount),
      budgets: [{ amount: p.teams.length * TEAM_MONTHLY_BUDGET, currency: 'USD' }],
      teams: p.teams.map((t) => ({
        id: t.id,
        name: t.name,
        repositories: t.repos.map((r) => r.fullName),
        jira: { projects: [t.jira.key], components: t.jira.components.map((c) => c.name) },
        pagerduty: { services: t.repos.map((r) => r.pagerduty.id) },
        ci: { pipelines: t.repos.flatMap((r) => [r.workflows.ci, r.workflows.deploy].map((w) => `github:${r.fullName}:${w.file}`)) },
        services: t.repos.map((r) => ({
          name: r.name,
          repositories: [r.fullName],
          pagerduty: [r.pagerduty.id],
          pipelines: [`github:${r.fullName}:${r.workflows.deploy.file}`],
          aliases: [],
        })),
      })),
    })),
  };
}
