import { ClickHouseError } from '@clickhouse/client';
import type { Store } from './client.js';
import { sqlString } from './ddl.js';

export { sqlString };

/**
 * What ptel does on its database, and so what a user of its own needs there: read and write the
 * tables, create them (migrations), alter them (a migration adds columns, the metrics job drops the
 * partitions of its staging table), and `CREATE DATABASE IF NOT EXISTS`, which every process runs
 * when it opens the store.
 */
export const STORE_PRIVILEGES = ['SELECT', 'INSERT', 'CREATE TABLE', 'ALTER', 'CREATE DATABASE'] as const;

/** Where the password of the user `ptel migrate --create-user` creates is read from. */
export const NEW_USER_PASSWORD_ENV = 'PTEL_CLICKHOUSE_NEW_USER_PASSWORD';

const USER_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a user name cannot be used, or undefined when it can. */
export function userNameProblem(name: string): string | undefined {
  return USER_NAME.test(name) ? undefined : `user name '${name}' may only hold letters, digits and '_' and must not start with a digit`;
}

/**
 * The statements that make `name` a user of `database` with `password`: created when missing, its
 * password set (so running them again with a new password changes it), and the privileges ptel needs
 * granted on that database alone. On a cluster (`clickhouse.cluster`) the user also gets the global
 * CLUSTER privilege, which a server asks of ON CLUSTER statements (and the store's client runs
 * these statements themselves on every host: client.ts clusterClient).
 */
export function createUserStatements(name: string, password: string, database: string, cluster?: string): string[] {
  const problem = userNameProblem(name);
  if (problem !== undefined) throw new Error(problem);
  if (!USER_NAME.test(database)) throw new Error(`database name '${database}' may only hold letters, digits and '_'`);
  if (password === '') throw new Error(`the password of user '${name}' is empty`);
  const identified = `IDENTIFIED WITH sha256_password BY ${sqlString(password)}`;
  return [
    `CREATE USER IF NOT EXISTS \`${name}\` ${identified}`,
    `ALTER USER \`${name}\` ${identified}`,
    `GRANT ${STORE_PRIVILEGES.join(', ')} ON \`${database}\`.* TO \`${name}\``,
    ...(cluster !== undefined ? [`GRANT CLUSTER ON *.* TO \`${name}\``] : []),
  ];
}

/** The server refused to manage users: said with what the connecting user needs. */
export class UserManagementError extends Error {
  override readonly name = 'UserManagementError';
}

/**
 * Creates (or updates) the user `name` on the store's server with the privileges ptel needs on the
 * store's database. The store's own user must be allowed to manage users (ClickHouse's
 * `access_management`, or the grants CREATE USER, ALTER USER and the privileges WITH GRANT OPTION).
 * Returns whether the user was new.
 */
export async function createStoreUser(store: Store, name: string, password: string): Promise<{ created: boolean }> {
  if (store.kind !== 'server') {
    throw new UserManagementError(
      `the ${store.kind} ClickHouse engine has no users; --create-user needs a ClickHouse server (clickhouse.url)`,
    );
  }
  const statements = createUserStatements(name, password, store.database, store.cluster);
  try {
    const rs = await store.client.query({
      query: 'SELECT count() AS n FROM system.users WHERE name = {name:String}',
      query_params: { name },
      format: 'JSONEachRow',
    });
    const [row] = await rs.json<{ n: string | number }>();
    const existed = Number(row?.n ?? 0) > 0;
    for (const query of statements) await store.client.command({ query });
    return { created: !existed };
  } catch (err) {
    if (err instanceof ClickHouseError && (err.type === 'ACCESS_DENIED' || err.code === '497')) {
      throw new UserManagementError(
        `the ClickHouse server refused to manage users: ${err.message.replace(/\s*\(ACCESS_DENIED\).*$/s, '').replace(/[.\s]+$/, '')}. ` +
          'Run ptel migrate --create-user as a user allowed to manage users: on a fresh server, ' +
          "give 'default' <access_management>1</access_management> in a users.d file (the Docker image: " +
          'CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT=1), or run the SQL of docs/deployment.md as an administrator',
        { cause: err },
      );
    }
    // A server's message may quote the statement: never let the password travel in it (nor in a
    // cause, which would carry the original message).
    if (err instanceof Error) {
      const quoted = err.message.split(sqlString(password)).join("'[redacted]'");
      // The bare password only when it is long enough not to match ordinary words of the message.
      const safe = password.length >= 6 ? quoted.split(password).join('[redacted]') : quoted;
      // eslint-disable-next-line preserve-caught-error
      if (safe !== err.message) throw new Error(safe);
    }
    throw err;
  }
}
