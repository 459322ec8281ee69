import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/harness.js';
import { loadConfig } from './load.js';
import { DEFAULT_HTTP_PORTS, httpPortOf, type HttpRole } from './schema.js';

const ROLES: HttpRole[] = ['run', 'serve', 'normalize', 'connect'];

describe('the HTTP port of each role', () => {
  it('defaults to a port of its own per role, so the roles can run side by side on one host', () => {
    const config = loadConfig({ env: {}, cwd: tempDir() });
    expect(config.http.port).toBeUndefined();
    expect(ROLES.map((r) => [r, httpPortOf(config, r)])).toEqual([
      ['run', 8080],
      ['serve', 8081],
      ['normalize', 8082],
      ['connect', 8083],
    ]);
    expect(new Set(Object.values(DEFAULT_HTTP_PORTS)).size).toBe(ROLES.length);
  });

  it('is http.port for every role when it is set, from PTEL_HTTP_PORT over the file', () => {
    const file = path.join(tempDir(), 'ptel.yaml');
    writeFileSync(file, 'http:\n  port: 9000\n');
    const fromFile = loadConfig({ file, env: {} });
    expect(ROLES.map((r) => httpPortOf(fromFile, r))).toEqual([9000, 9000, 9000, 9000]);
    const fromEnv = loadConfig({ file, env: { PTEL_HTTP_PORT: '9100' } });
    expect(ROLES.map((r) => httpPortOf(fromEnv, r))).toEqual([9100, 9100, 9100, 9100]);
  });
});

describe('sources.github.api', () => {
  const github = (extra: Record<string, unknown>) =>
    loadConfig({ env: {}, cwd: tempDir(), overrides: { 'sources.github': { repositories: ['acme/api'], ...extra } } }).sources.github;

  it('reads pull requests through GraphQL unless told rest', () => {
    expect(github({})?.api).toBe('graphql');
    expect(github({ api: 'rest' })?.api).toBe('rest');
  });

  it('refuses another value, naming the field', () => {
    expect(() => github({ api: 'soap' })).toThrow(/sources\.github\.api/);
  });
});
