import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { ClickHouseError, ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/support/clock.js';
import { quietLogger, queryRows, repoRoot, tempDir, testStore, uniqueName, waitFor } from '../../test/support/harness.js';
import { ADVERTISEMENT_FILE, advertiseStore, findRunningStore } from './attach.js';
import { createStoreBridge, engineParam, type StoreBridge } from './bridge.js';
import { openStore, type Store } from './client.js';

/** Values that need every kind of escaping on their way through a URL parameter. */
const TRICKY = "O'Brien's \\ team\twith\nlines";
const TRICKY_TAGS = ["it's", 'back\\slash', 'tab\there', ''];

let store: Store;
let bridge: StoreBridge;
let remote: Store;

const attached = (options: Partial<Parameters<typeof createClient>[0]> = {}): ClickHouseClient =>
  createClient({
    url: bridge.url,
    username: 'default',
    password: bridge.password,
    database: store.database,
    clickhouse_settings: { output_format_json_quote_64bit_integers: 1 },
    log: { level: ClickHouseLogLevel.OFF },
    ...options,
  });

beforeAll(async () => {
  store = await testStore(uniqueName('bridge'), { migrate: false });
  await store.client.command({
    query: 'CREATE TABLE items (id UInt32, name String, tags Array(String), team Nullable(String)) ENGINE = MergeTree ORDER BY id',
  });
  await store.client.insert({
    table: 'items',
    format: 'JSONEachRow',
    values: [
      { id: 1, name: 'alpha', tags: ['a', "it's"], team: TRICKY },
      { id: 2, name: 'beta', tags: [], team: null },
      { id: 3, name: 'gamma', tags: ['c'], team: 'core' },
    ],
  });
  bridge = await createStoreBridge({ store, logger: quietLogger() });
  remote = await openStore({ kind: 'attached', url: bridge.url, username: 'default', password: bridge.password, database: store.database });
});

afterAll(async () => {
  await remote?.close();
  await bridge?.close();
  await store?.close();
});

describe('store bridge: reads', () => {
  it('answers a SELECT with query parameters in JSONEachRow exactly as the in-process store does', async () => {
    const query = `SELECT id, name, tags, team,
        {s:String} AS s, {tags:Array(String)} AS t, {n:Nullable(String)} AS n, {k:UInt32} AS k
      FROM items WHERE team = {s:String} OR id IN {ids:Array(UInt32)} ORDER BY id`;
    const query_params = { s: TRICKY, tags: TRICKY_TAGS, n: null, k: 7, ids: [3] };
    const over = await (await remote.client.query({ query, query_params, format: 'JSONEachRow' })).json();
    const local = await (await store.client.query({ query, query_params, format: 'JSONEachRow' })).json();
    expect(over).toEqual([
      { id: 1, name: 'alpha', tags: ['a', "it's"], team: TRICKY, s: TRICKY, t: TRICKY_TAGS, n: null, k: 7 },
      { id: 3, name: 'gamma', tags: ['c'], team: 'core', s: TRICKY, t: TRICKY_TAGS, n: null, k: 7 },
    ]);
    expect(over).toEqual(local);
  });

  it('answers in JSON and CSV with the headers the client reads', async () => {
    const json = await remote.client.query({ query: 'SELECT id, name FROM items ORDER BY id', format: 'JSON', query_id: 'bridge-json-1' });
    expect(json.query_id).toBe('bridge-json-1');
    expect(json.response_headers['x-clickhouse-query-id']).toBe('bridge-json-1');
    expect(json.response_headers['x-clickhouse-format']).toBe('JSON');
    expect(json.response_headers['content-type']).toMatch(/^application\/json/);
    const doc = await json.json<{ id: number; name: string }>();
    expect(doc.meta).toEqual([
      { name: 'id', type: 'UInt32' },
      { name: 'name', type: 'String' },
    ]);
    expect(doc.data).toEqual([
      { id: 1, name: 'alpha' },
      { id: 2, name: 'beta' },
      { id: 3, name: 'gamma' },
    ]);
    expect(doc.rows).toBe(3);

    const csv = await remote.client.query({ query: 'SELECT id, name, tags FROM items ORDER BY id', format: 'CSV' });
    expect(csv.response_headers['x-clickhouse-format']).toBe('CSV');
    expect(csv.response_headers['content-type']).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe(`1,"alpha","['a','it\\'s']"\n2,"beta","[]"\n3,"gamma","['c']"\n`);
  });

  it('answers a plain HTTP request as ClickHouse does: TabSeparated by default, the database from the URL', async () => {
    const auth = { authorization: `Basic ${Buffer.from(`default:${bridge.password}`).toString('base64')}` };
    const res = await fetch(`${bridge.url}/?database=${store.database}`, {
      method: 'POST',
      headers: auth,
      body: 'SELECT id, name FROM items ORDER BY id',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-clickhouse-format')).toBe('TabSeparated');
    expect(JSON.parse(res.headers.get('x-clickhouse-summary') ?? '{}')).toMatchObject({ read_rows: '3' });
    expect(await res.text()).toBe('1\talpha\n2\tbeta\n3\tgamma\n');
    const viaHeaders = await fetch(`${bridge.url}/?query=${encodeURIComponent('SELECT count() FROM items')}&default_format=CSV`, {
      headers: { 'x-clickhouse-user': 'default', 'x-clickhouse-key': bridge.password, 'x-clickhouse-database': store.database },
    });
    expect(await viaHeaders.text()).toBe('3\n');
    const formatHeader = await fetch(`${bridge.url}/?client_protocol_version=54460`, {
      method: 'POST',
      headers: { ...auth, 'x-clickhouse-format': 'JSONEachRow', 'x-clickhouse-database': store.database },
      body: 'SELECT name FROM items WHERE id = 2',
    });
    expect(formatHeader.headers.get('x-clickhouse-format')).toBe('JSONEachRow');
    expect(await formatHeader.text()).toBe('{"name":"beta"}\n');
  });

  it('pings without credentials and with a SELECT', async () => {
    expect(await remote.client.ping()).toEqual({ success: true });
    expect(await remote.client.ping({ select: true })).toEqual({ success: true });
    const res = await fetch(`${bridge.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('Ok.\n');
    expect(await (await fetch(`${bridge.url}/`)).text()).toBe('Ok.\n');
  });
});

describe('store bridge: writes', () => {
  it('inserts 10,000 rows in JSONEachRow into the engine', async () => {
    await store.client.command({ query: 'CREATE TABLE bulk (n UInt32, label String) ENGINE = MergeTree ORDER BY n' });
    const values = Array.from({ length: 10_000 }, (_, n) => ({ n, label: `row ${n} — ü` }));
    const result = await remote.client.insert({ table: 'bulk', format: 'JSONEachRow', values });
    // The engine does not count an insert's rows; the summary carries the bytes the bridge took.
    expect(result.summary?.written_rows).toBeUndefined();
    expect(result.summary?.written_bytes).toBe(String(Buffer.byteLength(values.map((v) => `${JSON.stringify(v)}\n`).join(''))));
    const [stats] = await queryRows<{ rows: string; total: string; sample: string }>(
      store,
      'SELECT count() AS rows, sum(n) AS total, anyIf(label, n = 4242) AS sample FROM bulk',
    );
    expect(stats).toEqual({ rows: '10000', total: String((9_999 * 10_000) / 2), sample: 'row 4242 — ü' });
  });

  it('runs a command: the table it creates is in the engine', async () => {
    const table = uniqueName('made_remotely');
    const result = await remote.client.command({ query: `CREATE TABLE ${table} (x UInt8) ENGINE = MergeTree ORDER BY x` });
    expect(result.query_id).not.toBe('');
    const tables = await queryRows<{ name: string }>(
      store,
      'SELECT name FROM system.tables WHERE database = currentDatabase() AND name = {t:String}',
      {
        t: table,
      },
    );
    expect(tables).toEqual([{ name: table }]);
  });

  it('takes gzip-compressed requests and answers gzip-compressed when asked', async () => {
    const client = attached({ compression: { request: true, response: true } });
    try {
      await client.command({ query: 'CREATE TABLE packed (s String) ENGINE = MergeTree ORDER BY s' });
      await client.insert({ table: 'packed', format: 'JSONEachRow', values: [{ s: 'x'.repeat(5_000) }, { s: 'y' }] });
      const rs = await client.query({ query: 'SELECT s FROM packed ORDER BY s', format: 'JSONEachRow' });
      expect(rs.response_headers['content-encoding']).toBe('gzip');
      expect((await rs.json<{ s: string }>()).map((r) => r.s.length)).toEqual([5_000, 1]);
    } finally {
      await client.close();
    }
    const auth = { 'x-clickhouse-user': 'default', 'x-clickhouse-key': bridge.password, 'content-encoding': 'gzip' };
    const res = await fetch(`${bridge.url}/?database=${store.database}`, {
      method: 'POST',
      headers: auth,
      body: gzipSync('SELECT count() FROM packed'),
    });
    expect(await res.text()).toBe('2\n');
  });

  it('takes query parameters in a multipart body', async () => {
    const client = attached({ use_multipart_params: true });
    try {
      const rs = await client.query({
        query: 'SELECT {s:String} AS s, {t:Array(String)} AS t',
        query_params: { s: TRICKY, t: TRICKY_TAGS },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ s: TRICKY, t: TRICKY_TAGS }]);
    } finally {
      await client.close();
    }
  });
});

describe('store bridge: errors and refusals', () => {
  it('gives a bad query back as a ClickHouseError with the engine message and code', async () => {
    const err = await remote.client.query({ query: 'SELECT * FROM no_such_table', format: 'JSONEachRow' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClickHouseError);
    expect(err).toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
    expect((err as Error).message).toMatch(/no_such_table/);
    const syntax = await remote.client.command({ query: 'SELEC 1' }).catch((e: unknown) => e);
    expect(syntax).toMatchObject({ code: '62', type: 'SYNTAX_ERROR' });
    const res = await fetch(`${bridge.url}/`, {
      method: 'POST',
      headers: { 'x-clickhouse-user': 'default', 'x-clickhouse-key': bridge.password },
      body: 'SELEC 1',
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('62');
    expect(await res.text()).toMatch(/^Code: 62\. DB::Exception: Syntax error/);
  });

  it('refuses a wrong password, another user and missing credentials with code 516', async () => {
    for (const client of [attached({ password: 'not-the-password' }), attached({ username: 'admin' })]) {
      try {
        const err = await client.query({ query: 'SELECT 1', format: 'JSONEachRow' }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ClickHouseError);
        expect(err).toMatchObject({ code: '516', type: 'AUTHENTICATION_FAILED' });
        expect((await client.ping({ select: true })).success).toBe(false);
      } finally {
        await client.close();
      }
    }
    const anonymous = await fetch(`${bridge.url}/?query=SELECT%201`);
    expect(anonymous.status).toBe(403);
    expect(anonymous.headers.get('x-clickhouse-exception-code')).toBe('516');
    expect(await anonymous.text()).toMatch(/^Code: 516\. DB::Exception: default: Authentication failed/);
  });

  it('runs a GET read-only, as ClickHouse does', async () => {
    const q = encodeURIComponent('CREATE TABLE via_get (x UInt8) ENGINE = MergeTree ORDER BY x');
    const res = await fetch(`${bridge.url}/?database=${store.database}&query=${q}`, {
      headers: { 'x-clickhouse-user': 'default', 'x-clickhouse-key': bridge.password },
    });
    expect(res.headers.get('x-clickhouse-exception-code')).toBe('164');
    const tables = await queryRows(store, "SELECT name FROM system.tables WHERE database = currentDatabase() AND name = 'via_get'");
    expect(tables).toEqual([]);
  });

  it("keeps a caller's settings to its own request: neither the serving process nor the next caller sees them", async () => {
    const query = 'SELECT id FROM items ORDER BY id';
    const limited = await remote.client
      .query({ query, format: 'JSONEachRow', clickhouse_settings: { max_result_rows: '1', result_overflow_mode: 'throw' } })
      .catch((e: unknown) => e);
    expect(limited).toMatchObject({ code: '396' });
    expect(await queryRows(store, query)).toHaveLength(3);
    expect(await (await remote.client.query({ query, format: 'JSONEachRow' })).json()).toHaveLength(3);
  });

  it('serves another database of the engine when asked, and names an unknown one', async () => {
    const other = await testStore(uniqueName('bridge_other'), { migrate: false });
    try {
      await other.client.command({ query: 'CREATE TABLE only_here (x UInt8) ENGINE = MergeTree ORDER BY x' });
      await other.client.insert({ table: 'only_here', format: 'JSONEachRow', values: [{ x: 42 }] });
      const client = attached({ database: other.database });
      try {
        expect(await (await client.query({ query: 'SELECT x FROM only_here', format: 'JSONEachRow' })).json()).toEqual([{ x: 42 }]);
      } finally {
        await client.close();
      }
      const missing = attached({ database: 'no_such_database' });
      try {
        await expect(missing.query({ query: 'SELECT 1', format: 'JSONEachRow' })).rejects.toMatchObject({ code: '81' });
      } finally {
        await missing.close();
      }
    } finally {
      await other.close();
    }
  });

  it('serves two clients at once', async () => {
    const first = attached();
    const second = attached({ compression: { response: true } });
    try {
      const ask = (client: ClickHouseClient, i: number): Promise<unknown> =>
        client
          .query({
            query: 'SELECT {i:UInt32} AS i, count() AS n FROM items WHERE id <= {i:UInt32} % 4',
            query_params: { i },
            format: 'JSONEachRow',
          })
          .then((rs) => rs.json());
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => ask(i % 2 === 0 ? first : second, i)));
      expect(answers).toEqual(Array.from({ length: 40 }, (_, i) => [{ i, n: String(Math.min(i % 4, 3)) }]));
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });
});

describe('store bridge: closing', () => {
  it('stops serving on close', async () => {
    const own = await createStoreBridge({
      store,
      logger: quietLogger(),
      clock: new ManualClock('2026-06-01T00:00:00Z'),
      password: 'pw-for-close',
    });
    const client = createClient({ url: own.url, password: 'pw-for-close', database: store.database });
    try {
      expect(await (await client.query({ query: 'SELECT 1 AS one', format: 'JSONEachRow' })).json()).toEqual([{ one: 1 }]);
      await own.close();
      await expect(fetch(`${own.url}/ping`)).rejects.toThrow();
    } finally {
      await client.close();
    }
  });

  it('lets a running request finish before it closes', async () => {
    const own = await createStoreBridge({
      store,
      logger: quietLogger(),
      clock: new ManualClock('2026-06-01T00:00:00Z'),
      password: 'pw-for-drain',
    });
    const client = createClient({
      url: own.url,
      password: 'pw-for-drain',
      database: store.database,
      log: { level: ClickHouseLogLevel.OFF },
    });
    try {
      const running = client.query({ query: 'SELECT sum(sleepEachRow(0.1)) AS s, count() AS n FROM numbers(5)', format: 'JSONEachRow' });
      await waitFor(
        'the query to run in the engine',
        () =>
          queryRows<{ n: string }>(
            store,
            "SELECT count() AS n FROM system.processes WHERE query LIKE '%sleepEachRow(0.1)%' AND query NOT LIKE '%system.processes%'",
          ),
        (rows) => rows[0]?.n === '1',
        { timeoutMs: 5_000, intervalMs: 10 },
      );
      const closed = own.close();
      expect(await (await running).json()).toEqual([{ s: 0, n: 5 }]);
      await closed;
    } finally {
      await client.close();
    }
  });

  it('refuses to serve a store that is not in this process', async () => {
    await expect(createStoreBridge({ store: remote, logger: quietLogger() })).rejects.toThrow(
      /in-process \(embedded\) store; this store is 'attached'/,
    );
  });
});

describe('query parameter text', () => {
  it('turns the escaped text format into what the engine binding escapes back to the same value', () => {
    expect(engineParam('\\N')).toBeNull();
    expect(engineParam("O\\'Brien \\\\ a\\tb\\nc")).toBe("O'Brien \\ a\tb\nc");
    expect(engineParam("['it\\'s','x']")).toBe("['it''s','x']");
    expect(engineParam('plain')).toBe('plain');
    expect(engineParam('\\x41\\q')).toBe('A\\q');
  });
});

describe('store advertisement', () => {
  const ad = { url: 'http://127.0.0.1:45678', user: 'default', password: 's3cret', pid: process.pid };

  it('writes store.json for the owner only and finds it while its process runs', () => {
    const dir = tempDir();
    const remove = advertiseStore(dir, ad);
    const file = path.join(dir, ADVERTISEMENT_FILE);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(ad);
    expect(findRunningStore(dir)).toEqual(ad);
    remove();
    expect(findRunningStore(dir)).toBeUndefined();
  });

  it('treats the advertisement of a process that is gone as stale and removes it', () => {
    const dir = tempDir();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const pid = Number(gone.stdout);
    expect(pid).toBeGreaterThan(0);
    advertiseStore(dir, { ...ad, pid });
    expect(findRunningStore(dir)).toBeUndefined();
    expect(() => statSync(path.join(dir, ADVERTISEMENT_FILE))).toThrow(/ENOENT/);
  });

  it("leaves a successor's advertisement in place when an older process removes its own", () => {
    const dir = tempDir();
    const removeOld = advertiseStore(dir, { ...ad, pid: 1 });
    advertiseStore(dir, ad);
    removeOld();
    expect(findRunningStore(dir)).toEqual(ad);
  });

  it('names the file and the fault when store.json is not an advertisement', () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, ADVERTISEMENT_FILE), JSON.stringify({ url: 'not a url', user: 'default', password: 'x', pid: 'abc' }));
    expect(() => findRunningStore(dir)).toThrow(/store\.json is not a store advertisement \(url: .*; pid: .*\)/);
    writeFileSync(path.join(dir, ADVERTISEMENT_FILE), '{"url":');
    expect(() => findRunningStore(dir)).toThrow(/store\.json is not a store advertisement \(not JSON/);
    expect(() => advertiseStore(dir, { ...ad, pid: 0 })).toThrow(/store advertisement is not valid: pid/);
  });
});

describe('store bridge across processes', () => {
  it('lets a second Node process find the advertisement and read the store through an attached client', async () => {
    const dataDir = tempDir('ptel-bridge-data-');
    const remove = advertiseStore(dataDir, { url: bridge.url, user: bridge.user, password: bridge.password, pid: process.pid });
    try {
      const dir = childProject();
      const script = path.join(dir, 'read-store.mjs');
      writeFileSync(
        script,
        `import { findRunningStore } from './infra/store/attach.js';
import { openStore } from './infra/store/client.js';
const [dataDir, database] = process.argv.slice(2);
const ad = findRunningStore(dataDir);
if (ad === undefined) throw new Error('no running store advertised in ' + dataDir);
const store = await openStore({ kind: 'attached', url: ad.url, username: ad.user, password: ad.password, database });
try {
  const rs = await store.client.query({ query: 'SELECT id, team FROM items WHERE team = {t:String}', query_params: { t: process.env.TEAM }, format: 'JSONEachRow' });
  process.stdout.write(JSON.stringify({ pid: process.pid, kind: store.kind, rows: await rs.json() }));
} finally {
  await store.close();
}
`,
      );
      const out = await runNode(script, [dataDir, store.database], { ...process.env, TEAM: TRICKY });
      const answer = JSON.parse(out) as { pid: number; kind: string; rows: unknown };
      expect(answer.pid).not.toBe(process.pid);
      expect(answer).toMatchObject({ kind: 'attached', rows: [{ id: 1, team: TRICKY }] });
    } finally {
      remove();
    }
  });
});

/**
 * The store modules compiled to plain JavaScript in a temporary folder that resolves the project's
 * packages: client.ts and attach.ts with every project module they import, followed import by import.
 */
function childProject(): string {
  const dir = tempDir('ptel-bridge-child-');
  symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
  const pending = ['infra/store/client.ts', 'infra/store/attach.ts'];
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(path.join(repoRoot, file), 'utf8');
    for (const [, relative] of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g))
      pending.push(path.posix.join(path.posix.dirname(file), `${relative!}.ts`));
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
    }).outputText;
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file.replace(/\.ts$/, '.js')), js);
  }
  return dir;
}

function runNode(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited with ${code}: ${err}`))));
  });
}
