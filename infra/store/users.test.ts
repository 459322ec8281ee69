import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows, testStore } from '../../test/support/harness.js';
import type { Store } from './client.js';
import { onCluster } from './ddl.js';
import { createStoreUser, createUserStatements, sqlString, STORE_PRIVILEGES, UserManagementError, userNameProblem } from './users.js';

/**
 * The statements are checked by the ClickHouse engine itself: EXPLAIN AST parses a statement without
 * running it (the test servers refuse user management, see docs/deployment.md).
 */
describe('the statements that create the user ptel runs as', () => {
  let store: Store;
  beforeAll(async () => {
    store = await testStore(undefined, { migrate: false });
  });
  afterAll(async () => {
    await store?.close();
  });

  const ast = async (statement: string): Promise<string> => {
    const rs = await store.client.query({ query: `EXPLAIN AST ${statement}`, format: 'TabSeparatedRaw' });
    return rs.text();
  };

  it('create the user, set its password and grant the privileges on the database alone', () => {
    expect(createUserStatements('ptel', 's3cret', 'ptel')).toEqual([
      "CREATE USER IF NOT EXISTS `ptel` IDENTIFIED WITH sha256_password BY 's3cret'",
      "ALTER USER `ptel` IDENTIFIED WITH sha256_password BY 's3cret'",
      'GRANT SELECT, INSERT, CREATE TABLE, ALTER, CREATE DATABASE ON `ptel`.* TO `ptel`',
    ]);
  });

  it('parse as one statement each, whatever the password holds', async () => {
    const password = "it's a \\ back'slash'; DROP DATABASE ptel; --";
    const [create, alter, grant] = createUserStatements('ptel_app', password, 'analytics');
    // One CREATE USER each, with the password as one literal: nothing of it reaches the statement.
    expect(await ast(create!)).toMatch(/^CreateUserQuery \(children 1\)\n AuthenticationData \(children 1\)\n {2}Literal '.*'\n$/);
    expect(await ast(alter!)).toMatch(/^CreateUserQuery \(children 1\)\n AuthenticationData \(children 1\)\n {2}Literal '.*'\n$/);
    expect(await ast(grant!)).toBe('GrantQuery\n');
    // The literal reads back as the password itself.
    const [row] = await queryRows<{ v: string }>(store, `SELECT ${sqlString(password)} AS v`);
    expect(row!.v).toBe(password);
  });

  it('on a cluster, grant the CLUSTER privilege too, and parse in their cluster form', async () => {
    const statements = createUserStatements('ptel', 's3cret', 'ptel', 'ptel_replicas');
    expect(statements.slice(0, 3)).toEqual(createUserStatements('ptel', 's3cret', 'ptel'));
    expect(statements[3]).toBe('GRANT CLUSTER ON *.* TO `ptel`');
    expect(await ast(statements[3]!)).toBe('GrantQuery\n');
    for (const s of statements) expect(await ast(onCluster(s, 'ptel_replicas'))).toMatch(/^(CreateUserQuery|GrantQuery)/);
  });

  it('name privileges the engine knows', async () => {
    for (const privilege of STORE_PRIVILEGES) expect(await ast(`GRANT ${privilege} ON db.* TO someone`)).toBe('GrantQuery\n');
    await expect(ast('GRANT NO_SUCH_PRIVILEGE ON db.* TO someone')).rejects.toThrow(/Syntax error/);
  });

  it('refuse a name that is not a plain identifier, and an empty password', () => {
    expect(userNameProblem('ptel')).toBeUndefined();
    expect(userNameProblem('ptel`; DROP')).toBe(
      "user name 'ptel`; DROP' may only hold letters, digits and '_' and must not start with a digit",
    );
    expect(() => createUserStatements('1ptel', 'x', 'ptel')).toThrow("user name '1ptel' may only hold letters");
    expect(() => createUserStatements('ptel', '', 'ptel')).toThrow("the password of user 'ptel' is empty");
  });

  it('are not run on the embedded engine, which has no users', async () => {
    // On the engine also where the other tests run on a server (the store-server test project).
    const engine = await testStore(undefined, { migrate: false, on: 'engine' });
    try {
      await expect(createStoreUser(engine, 'ptel_app', 'secret')).rejects.toThrow(UserManagementError);
      await expect(createStoreUser(engine, 'ptel_app', 'secret')).rejects.toThrow(
        'the embedded ClickHouse engine has no users; --create-user needs a ClickHouse server (clickhouse.url)',
      );
    } finally {
      await engine.close();
    }
  });
});
