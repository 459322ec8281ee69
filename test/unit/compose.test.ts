/**
 * docker-compose.yml against what ptel accepts, without an engine: every ptel service runs a command the
 * CLI has with options it takes, sets only variables the configuration or the CLI reads, with values
 * the configuration accepts (loaded with the example configuration the compose file mounts as ptel.yaml),
 * publishes and health-checks the port its role listens on, and depends only on services that exist.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { COMMANDS } from '../../cli/commands.js';
import { GLOBAL_OPTIONS } from '../../cli/help.js';
import { loadConfig } from '../../infra/config/load.js';
import { DEFAULT_HTTP_PORTS, httpPortOf, SECRET_ENV, type HttpRole } from '../../infra/config/schema.js';
import { NEW_USER_PASSWORD_ENV } from '../../infra/store/users.js';

const root = path.resolve(import.meta.dirname, '../..');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: Array<string | { target: number; published?: string | number }>;
  volumes?: Array<string | { target: string }>;
  healthcheck?: { test: string[] | string };
  depends_on?: string[] | Record<string, { condition?: string }>;
  restart?: string;
}

const compose = parse(readFileSync(path.join(root, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
};
const services = Object.entries(compose.services);
/** The services that run the ptel image. */
const ptelServices = services.filter(([, s]) => s.build !== undefined || s.image?.startsWith('ptel:') === true);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(rel);
  }
  return out;
}

/**
 * The variables ptel reads: the secrets, the overrides of file keys (ENV_OVERRIDES in
 * infra/config/load.ts), and those read as env['PTEL_…'] under infra/, cli/ and app/.
 */
function knownVariables(): Set<string> {
  const known = new Set<string>([...Object.values(SECRET_ENV), NEW_USER_PASSWORD_ENV]);
  const load = readFileSync(path.join(root, 'infra/config/load.ts'), 'utf8');
  const overrides = /const ENV_OVERRIDES\b[^\n]* = \[\n([\s\S]*?)\n\];/.exec(load);
  if (overrides === null) throw new Error('infra/config/load.ts: ENV_OVERRIDES not found');
  for (const m of overrides[1]!.matchAll(/\[\s*'(PTEL_\w+)'/g)) known.add(m[1]!);
  for (const file of ['infra', 'cli', 'app'].flatMap(sourceFiles)) {
    for (const m of readFileSync(path.join(root, file), 'utf8').matchAll(/env\[\s*'(PTEL_\w+)'\s*\]/g)) known.add(m[1]!);
  }
  return known;
}

/** Compose's interpolation: ${X:-default} gives the default, ${X:?message} (required) a value the user sets, ${X} nothing. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, _name: string, op: string | undefined, rest: string | undefined) =>
    op === '-' ? (rest ?? '') : op === '?' ? 'set-by-the-user' : '',
  );
}

function environmentOf(s: Service): Record<string, string> {
  const env = s.environment ?? {};
  const entries = Array.isArray(env) ? env.map((e) => e.split(/=(.*)/s, 2) as [string, string]) : Object.entries(env);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolate(String(v ?? ''))]));
}

const commandOf = (s: Service): string[] => (typeof s.command === 'string' ? s.command.split(/\s+/) : (s.command ?? []));
const isHttpRole = (name: string | undefined): name is HttpRole => name !== undefined && name in DEFAULT_HTTP_PORTS;

/** The service's configuration as ptel loads it: the example configuration as ./ptel.yaml, the service's environment. */
function configOf(s: Service) {
  return loadConfig({ file: path.join(root, 'ptel.example.yaml'), env: environmentOf(s) });
}

/** The container side of a port mapping ([ip:][host:]container[/proto]). */
function containerPort(mapping: string | { target: number }): number {
  if (typeof mapping !== 'string') return mapping.target;
  return Number(interpolate(mapping).split('/')[0]!.split(':').at(-1));
}

describe('docker-compose.yml', () => {
  it('runs the ptel image in the migrate, serve, normalize and connect services', () => {
    expect(ptelServices.map(([name]) => name).sort()).toEqual(['connect', 'migrate', 'normalize', 'serve']);
  });

  it.each(ptelServices)('%s runs a command the CLI has, with options it takes', (_name, s) => {
    const [name, ...args] = commandOf(s);
    expect(Object.keys(COMMANDS)).toContain(name);
    const command = COMMANDS[name!]!;
    expect(() =>
      parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: command.positionals ?? false, strict: true }),
    ).not.toThrow();
  });

  it.each(ptelServices)('%s sets only variables ptel reads, with values its configuration accepts', (_name, s) => {
    const known = knownVariables();
    const env = environmentOf(s);
    expect(Object.keys(env).filter((k) => !known.has(k))).toEqual([]);
    const config = configOf(s);
    expect(config.mode).toBe(env['PTEL_MODE'] ?? config.mode);
    // The configuration file it names is the one mounted into the container.
    const targets = (s.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[1] : v.target));
    expect(targets).toContain(env['PTEL_CONFIG']);
  });

  it.each(ptelServices)('%s reaches the servers by their service names', (_name, s) => {
    const config = configOf(s);
    const hosts = [
      ...config.kafka.brokers.map((b) => b.split(':')[0]),
      new URL(config.clickhouse.url!).hostname,
      new URL(config.redis.url).hostname,
    ];
    expect(hosts.filter((h) => compose.services[h!] === undefined)).toEqual([]);
  });

  it.each(ptelServices.filter(([, s]) => isHttpRole(commandOf(s)[0])))(
    '%s publishes and health-checks the port its role listens on, on every interface',
    (_name, s) => {
      const config = configOf(s);
      const port = httpPortOf(config, commandOf(s)[0] as HttpRole);
      expect((s.ports ?? []).map(containerPort).filter((p) => p !== port)).toEqual([]);
      // Published or checked from outside the process, the role must not listen on loopback alone.
      if ((s.ports ?? []).length > 0) expect(config.http.host).toBe('0.0.0.0');
      const test = [s.healthcheck?.test ?? []].flat().join(' ');
      const urls = [...test.matchAll(/https?:\/\/(?:127\.0\.0\.1|localhost):(\d+)(\/\w*)/g)];
      expect(urls.length).toBeGreaterThan(0);
      for (const [, p, route] of urls) {
        expect(Number(p)).toBe(port);
        expect(['/healthz', '/readyz']).toContain(route);
      }
    },
  );

  it.each(services)('%s depends only on services that exist and can satisfy the condition', (name, s) => {
    const deps = Array.isArray(s.depends_on)
      ? s.depends_on.map((d) => [d, {}] as const)
      : Object.entries(s.depends_on ?? {}).map(([d, c]) => [d, c] as const);
    for (const [dep, { condition }] of deps as Array<readonly [string, { condition?: string }]>) {
      expect(dep, `${name} depends on itself`).not.toBe(name);
      const target = compose.services[dep];
      expect(target, `${name} depends on '${dep}', which is not a service`).toBeDefined();
      if (condition === 'service_healthy')
        expect(target!.healthcheck, `${name} waits for '${dep}' to be healthy, which has no healthcheck`).toBeDefined();
      if (condition === 'service_completed_successfully')
        expect(target!.restart, `${name} waits for '${dep}' to exit, which restarts`).toBe('no');
    }
  });
});
