import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { INGEST_KIND_NAMES } from '../../schemas/ingest.js';
import { channelSecretOf, configSchema, ingestTokenEnv, SECRET_ENV, type AlertsConfig, type Config, type Secrets } from './schema.js';

/** A configuration problem, with a message that names the key and says how to fix it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly problems: readonly string[] = [message],
  ) {
    super(message);
  }
}

export const DEFAULT_CONFIG_FILE = 'ptel.yaml';

/** Keys that must never be written in the file, and the variable that carries each instead. */
const SECRET_KEYS: Record<string, string> = {
  'clickhouse.password': 'PTEL_CLICKHOUSE_PASSWORD',
  'kafka.sasl.password': 'PTEL_KAFKA_SASL_PASSWORD',
  'redis.password': 'PTEL_REDIS_URL (as redis://:password@host:port)',
  'sources.github.token': 'PTEL_GITHUB_TOKEN',
  'sources.github.privateKey': 'PTEL_GITHUB_APP_PRIVATE_KEY',
  'sources.github.webhookSecret': 'PTEL_GITHUB_WEBHOOK_SECRET',
  'sources.jira.apiToken': 'PTEL_JIRA_API_TOKEN',
  'sources.jira.token': 'PTEL_JIRA_API_TOKEN',
  'sources.jira.webhookSecret': 'PTEL_JIRA_WEBHOOK_SECRET',
  'sources.pagerduty.token': 'PTEL_PAGERDUTY_TOKEN',
  'sources.gitlab.token': 'PTEL_GITLAB_TOKEN',
  'sources.jenkins.apiToken': 'PTEL_JENKINS_API_TOKEN',
  'sources.jenkins.token': 'PTEL_JENKINS_API_TOKEN',
};

type Env = Record<string, string | undefined>;

/** Environment variables that override a file key: variable, path, and how the text becomes a value. */
const ENV_OVERRIDES: Array<[string, string[], (v: string) => unknown]> = [
  ['PTEL_MODE', ['mode'], (v) => v],
  ['PTEL_DATA_DIR', ['dataDir'], (v) => v],
  [
    'PTEL_KAFKA_BROKERS',
    ['kafka', 'brokers'],
    (v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  ],
  ['PTEL_KAFKA_CLIENT_ID', ['kafka', 'clientId'], (v) => v],
  ['PTEL_KAFKA_TOPIC_PREFIX', ['kafka', 'topicPrefix'], (v) => v],
  ['PTEL_CLICKHOUSE_ENGINE', ['clickhouse', 'engine'], (v) => v],
  ['PTEL_NORMALIZER_GROUP', ['normalizer', 'groupId'], (v) => v],
  ['PTEL_CLICKHOUSE_URL', ['clickhouse', 'url'], (v) => v],
  ['PTEL_CLICKHOUSE_USER', ['clickhouse', 'username'], (v) => v],
  ['PTEL_CLICKHOUSE_DATABASE', ['clickhouse', 'database'], (v) => v],
  ['PTEL_CLICKHOUSE_CLUSTER', ['clickhouse', 'cluster'], (v) => v],
  ['PTEL_REDIS_URL', ['redis', 'url'], (v) => v],
  ['PTEL_REDIS_QUEUE', ['redis', 'queue'], (v) => v],
  ['PTEL_HTTP_HOST', ['http', 'host'], (v) => v],
  ['PTEL_HTTP_PORT', ['http', 'port'], (v) => (/^\d+$/.test(v) ? Number(v) : v)],
  ['PTEL_LOG_LEVEL', ['log', 'level'], (v) => v],
];

export interface LoadOptions {
  /** Explicit file (from --config); otherwise PTEL_CONFIG, otherwise ./ptel.yaml when it exists. */
  file?: string | undefined;
  env?: Env;
  cwd?: string;
  /** Values applied over the file and the environment (command-line flags). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const explicit = options.file ?? env['PTEL_CONFIG'];
  let configPath: string | undefined;
  let raw: unknown = {};
  if (explicit !== undefined && explicit !== '') {
    configPath = path.resolve(cwd, explicit);
    if (!existsSync(configPath)) {
      throw new ConfigError(
        `config file ${configPath} does not exist (named by ${options.file !== undefined ? '--config' : 'PTEL_CONFIG'}); ` +
          `create it, or copy ptel.example.yaml`,
      );
    }
    raw = readYaml(configPath);
  } else if (existsSync(path.resolve(cwd, DEFAULT_CONFIG_FILE))) {
    configPath = path.resolve(cwd, DEFAULT_CONFIG_FILE);
    raw = readYaml(configPath);
  }
  const where = configPath ?? 'the configuration';
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `${where}: the top level must be a mapping of keys (mode:, kafka:, org: ...), not a ${Array.isArray(raw) ? 'list' : typeof raw}`,
    );
  }
  const doc = raw as Record<string, unknown>;
  rejectSecrets(doc, where);
  for (const [name, keyPath, convert] of ENV_OVERRIDES) {
    const v = env[name];
    if (v !== undefined && v !== '') setPath(doc, keyPath, convert(v));
  }
  for (const [k, v] of Object.entries(options.overrides ?? {})) setPath(doc, k.split('.'), v);

  const parsed = configSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => describeIssue(issue, where, doc));
    throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, problems);
  }
  const cfg = parsed.data;
  const engine = cfg.clickhouse.engine ?? (cfg.mode === 'embedded' ? 'embedded' : 'server');
  if (engine === 'server' && cfg.clickhouse.url === undefined) {
    throw new ConfigError(
      `${where}: key 'clickhouse.url' is required ${cfg.clickhouse.engine === 'server' ? "with clickhouse.engine 'server'" : 'in distributed mode'}; ` +
        `set it (for example http://localhost:8123) or PTEL_CLICKHOUSE_URL, or set clickhouse.engine: embedded`,
    );
  }
  if (engine === 'embedded' && cfg.clickhouse.cluster !== undefined) {
    throw new ConfigError(
      `${where}: key 'clickhouse.cluster' ('${cfg.clickhouse.cluster}') needs a ClickHouse server (clickhouse.engine 'server'); ` +
        'the embedded engine is one process and has no cluster',
    );
  }
  const baseDir = configPath !== undefined ? path.dirname(configPath) : cwd;
  return {
    ...cfg,
    clickhouse: { ...cfg.clickhouse, engine },
    dataDir: path.resolve(baseDir, cfg.dataDir),
    configPath,
    secrets: { ...readSecrets(env), alertChannels: readChannelSecrets(cfg.alerts, env, where) },
  };
}

/**
 * The secret of every configured alert channel, from the variable the channel names. A channel
 * whose variable is unset or empty is refused here, at start, rather than failing every delivery.
 */
function readChannelSecrets(alerts: AlertsConfig, env: Env, where: string): Record<string, string> {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [id, channel] of Object.entries(alerts.channels)) {
    const { key, variable, what } = channelSecretOf(channel);
    const value = env[variable]?.trim();
    if (value === undefined || value === '') {
      problems.push(
        `${where}: key '${formatKey(['alerts', 'channels', id, key])}' names ${variable}, which is ${env[variable] === undefined ? 'not set' : 'empty'}; ` +
          `set ${variable} to the channel's ${what}, or remove the channel`,
      );
    } else out[id] = value;
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`, problems);
  return out;
}

function readSecrets(env: Env): Omit<Secrets, 'alertChannels'> {
  const get = (k: keyof typeof SECRET_ENV): string | undefined => {
    const v = env[SECRET_ENV[k]];
    return v === undefined || v === '' ? undefined : v;
  };
  return {
    clickhousePassword: get('clickhousePassword'),
    kafkaSaslPassword: get('kafkaSaslPassword'),
    githubToken: get('githubToken'),
    githubAppPrivateKey: get('githubAppPrivateKey'),
    githubWebhookSecret: get('githubWebhookSecret'),
    jiraApiToken: get('jiraApiToken'),
    jiraWebhookSecret: get('jiraWebhookSecret'),
    pagerdutyToken: get('pagerdutyToken'),
    pagerdutyWebhookSecrets: (get('pagerdutyWebhookSecrets') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    gitlabToken: get('gitlabToken'),
    gitlabWebhookToken: get('gitlabWebhookToken'),
    jenkinsApiToken: get('jenkinsApiToken'),
    jenkinsWebhookToken: get('jenkinsWebhookToken'),
    cdeventsWebhookToken: get('cdeventsWebhookToken'),
    ingestTokens: Object.fromEntries(
      INGEST_KIND_NAMES.flatMap((kind) => {
        const v = env[ingestTokenEnv(kind)];
        return v === undefined || v === '' ? [] : [[kind, v]];
      }),
    ),
    outcomesPrometheusToken: get('outcomesPrometheusToken'),
    outcomesClickhousePassword: get('outcomesClickhousePassword'),
  };
}

function readYaml(file: string): unknown {
  const doc = parseDocument(readFileSync(file, 'utf8'), { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const at = pos !== undefined ? ` line ${pos.line}, column ${pos.col}` : '';
      return `${file}${at}: ${e.message.split('\n')[0] ?? e.code}`;
    });
    throw new ConfigError(`config file is not valid YAML:\n  - ${problems.join('\n  - ')}`, problems);
  }
  return doc.toJS();
}

function rejectSecrets(doc: Record<string, unknown>, where: string): void {
  for (const [key, variable] of Object.entries(SECRET_KEYS)) {
    if (getPath(doc, key.split('.')) !== undefined) {
      throw new ConfigError(
        `${where}: key '${key}' is a secret and is not read from the file; remove it and set ${variable} in the environment`,
      );
    }
  }
}

function getPath(obj: Record<string, unknown>, keys: string[]): unknown {
  let cur: unknown = obj;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) {
      cur[k] = value;
      return;
    }
    const next = cur[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  });
}

export function formatKey(p: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of p) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(top level)' : out;
}

function describeIssue(issue: z.core.$ZodIssue, where: string, doc: unknown): string {
  const key = formatKey(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issue.path, doc);
    return issue.keys
      .map((k) => {
        const full = formatKey([...issue.path, k]);
        const hint = closest(k, allowed);
        const fix = hint !== undefined ? `did you mean '${hint}'?` : `allowed here: ${allowed.join(', ')}`;
        return `${where}: unknown key '${full}'; ${fix}`;
      })
      .join('\n  - ');
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return `${where}: key '${key}' is required (${issue.expected})`;
  }
  const got = 'input' in issue && issue.input !== undefined ? ` (got ${JSON.stringify(issue.input)})` : '';
  return `${where}: key '${key}': ${issue.message}${got}`;
}

/**
 * The keys the schema allows at a path, for "did you mean" hints. Inside a union (a channel of some
 * `type`), the options whose `type` is the one written in `doc` at that place.
 */
function allowedKeys(p: ReadonlyArray<PropertyKey>, doc: unknown): string[] {
  let schema: z.ZodType = configSchema;
  let value: unknown = doc;
  const pick = (s: z.ZodType): z.ZodType[] => {
    const u = unwrap(s);
    if (!(u instanceof z.ZodUnion)) return [u];
    const options = (u.options as z.ZodType[]).map(unwrap);
    const type = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['type'] : undefined;
    const matching = options.filter(
      (o) => o instanceof z.ZodObject && o.shape['type'] instanceof z.ZodLiteral && o.shape['type'].value === type,
    );
    return matching.length > 0 ? matching : options;
  };
  for (const seg of p) {
    const [current] = pick(schema);
    value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[seg] : undefined;
    if (current instanceof z.ZodArray) schema = current.element as z.ZodType;
    else if (current instanceof z.ZodRecord) schema = current.valueType as z.ZodType;
    else if (current instanceof z.ZodObject && typeof seg === 'string') {
      const next = (current.shape as Record<string, z.ZodType>)[seg];
      if (next === undefined) return [];
      schema = next;
    } else return [];
  }
  return [...new Set(pick(schema).flatMap((o) => (o instanceof z.ZodObject ? Object.keys(o.shape) : [])))];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodDefault || s instanceof z.ZodPrefault || s instanceof z.ZodOptional || s instanceof z.ZodNullable) {
      s = s.unwrap() as z.ZodType;
    } else if (s instanceof z.ZodPipe) {
      s = s.in as z.ZodType;
    } else return s;
  }
}

function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
