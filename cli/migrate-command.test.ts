import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/load.js';
import type { Config } from '../infra/config/schema.js';
import { NEW_USER_PASSWORD_ENV } from '../infra/store/users.js';
import { tempDir } from '../test/support/harness.js';
import { COMMANDS } from './commands.js';

/** Runs `ptel migrate` with its options and environment; what it writes, stdout and stderr together. */
async function migrateCommand(
  config: Config,
  values: Record<string, string>,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number; text: string }> {
  let text = '';
  const out = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  const code = await COMMANDS['migrate']!.run({ config, values, positionals: [], out, err: out, env });
  return { code, text };
}

// A server nobody answers at: every case below is refused before the command connects.
const server = (): Config =>
  loadConfig({ env: {}, cwd: tempDir(), overrides: { mode: 'distributed', clickhouse: { url: 'http://127.0.0.1:9', username: 'admin' } } });

describe('ptel migrate --create-user', () => {
  it('needs the new password in the environment', async () => {
    expect(await migrateCommand(server(), { 'create-user': 'ptel' }, {})).toEqual({
      code: 78,
      text: `ptel migrate: --create-user ptel reads the new user's password from ${NEW_USER_PASSWORD_ENV}, which is not set\n`,
    });
    expect((await migrateCommand(server(), { 'create-user': 'ptel' }, { [NEW_USER_PASSWORD_ENV]: '' })).text).toContain('which is empty');
  });

  it('refuses a name that is not a plain identifier, and the user it connects as', async () => {
    const env = { [NEW_USER_PASSWORD_ENV]: 'secret' };
    expect(await migrateCommand(server(), { 'create-user': 'ptel app' }, env)).toEqual({
      code: 2,
      text: "ptel migrate: --create-user: user name 'ptel app' may only hold letters, digits and '_' and must not start with a digit\n",
    });
    const self = await migrateCommand(server(), { 'create-user': 'admin' }, env);
    expect(self.code).toBe(2);
    expect(self.text).toMatch(/^ptel migrate: --create-user admin: that is the user this command connects as \(clickhouse.username\)/);
  });

  it('needs a ClickHouse server', async () => {
    const embedded = loadConfig({ env: {}, cwd: tempDir() });
    expect(await migrateCommand(embedded, { 'create-user': 'ptel' }, { [NEW_USER_PASSWORD_ENV]: 'secret' })).toEqual({
      code: 78,
      text: 'ptel migrate: --create-user needs a ClickHouse server (clickhouse.url, PTEL_CLICKHOUSE_URL); the embedded engine has no users\n',
    });
  });
});
