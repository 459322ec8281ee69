import { z } from 'zod';

const hostPort = z.string().regex(/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/, "expected host:port, for example 'localhost:9092'");

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "expected a lower-case id of letters, digits, '-' or '_', for example 'payments'");

const teamSchema = z.strictObject({
  id,
  name: z.string().min(1),
  repositories: z.array(z.string().regex(/^[^/\s]+\/[^/\s]+$/, "expected owner/name, for example 'acme/payments-api'")).default([]),
  jira: z
    .strictObject({
      projects: z.array(z.string().min(1)).default([]),
      components: z.array(z.string().min(1)).default([]),
    })
    .default({ projects: [], components: [] }),
  pagerduty: z.strictObject({ services: z.array(z.string().min(1)).default([]) }).default({ services: [] }),
  ci: z.strictObject({ pipelines: z.array(z.string().min(1)).default([]) }).default({ pipelines: [] }),
  services: z.array(z.string().min(1)).default([]),
});

const programSchema = z.strictObject({
  id,
  name: z.string().min(1),
  teams: z.array(teamSchema).min(1, 'a program needs at least one team'),
});

export const orgSchema = z
  .strictObject({
    programs: z.array(programSchema).default([]),
  })
  .superRefine((org, ctx) => {
    const seen = new Map<string, string>();
    org.programs.forEach((p, pi) => {
      p.teams.forEach((t, ti) => {
        const where = seen.get(t.id);
        if (where !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['programs', pi, 'teams', ti, 'id'],
            message: `team id '${t.id}' is already used at ${where}; team ids must be unique across programs`,
          });
        } else {
          seen.set(t.id, `programs[${pi}].teams[${ti}]`);
        }
      });
    });
  });

const durationMs = z.number().int().positive();

export const configSchema = z.strictObject({
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
    })
    .prefault({}),
  redis: z.strictObject({ url: z.url().default('redis://localhost:6379') }).prefault({}),
  http: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
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
});

/** Secrets: only ever read from the environment, never from the file. */
export interface Secrets {
  clickhousePassword: string | undefined;
  kafkaSaslPassword: string | undefined;
}

export type FileConfig = z.infer<typeof configSchema>;
export type OrgConfig = z.infer<typeof orgSchema>;
export type Config = Omit<FileConfig, 'clickhouse'> & {
  clickhouse: FileConfig['clickhouse'] & { engine: 'server' | 'embedded' };
  secrets: Secrets;
  configPath: string | undefined;
};
