/**
 * The cluster form of a statement (`clickhouse.cluster`, docs/deployment.md "ClickHouse cluster"): DDL
 * runs `ON CLUSTER` so that every host of the cluster gets the same schema, users and grants, and a
 * table of the MergeTree family is created with the Replicated variant of its engine, so that every
 * replica holds all the data. Every other statement (SELECT, INSERT, ...) is returned as it is.
 *
 * The statement is read token by token (strings, quoted identifiers and comments are skipped whole),
 * and the text is only ever added to at two places: after the object's name (`ON CLUSTER '<c>'`) and
 * at the table's engine. Everything else stays byte for byte.
 */

/** Where a replicated table keeps its replication log in Keeper: one path per shard, database and table. */
export const REPLICA_PATH = '/clickhouse/tables/{shard}/{database}/{table}';
/** The name of this replica among those of its shard: the server's `{replica}` macro. */
export const REPLICA_NAME = '{replica}';

/** The MergeTree family: the engines that have a Replicated variant taking (path, replica, ...args). */
export const MERGE_TREE_ENGINES = [
  'MergeTree',
  'ReplacingMergeTree',
  'SummingMergeTree',
  'AggregatingMergeTree',
  'CollapsingMergeTree',
  'VersionedCollapsingMergeTree',
  'GraphiteMergeTree',
  'CoalescingMergeTree',
] as const;

const ENGINE_BY_NAME = new Map<string, string>(MERGE_TREE_ENGINES.map((e) => [e.toLowerCase(), e]));

/** A ClickHouse string literal: backslashes and quotes escaped. */
export function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The `ON CLUSTER` clause for a cluster name (a name, or a macro such as `{cluster}`). */
export function onClusterClause(cluster: string): string {
  return `ON CLUSTER ${sqlString(cluster)}`;
}

type TokenKind = 'word' | 'ident' | 'string' | 'number' | 'punct';

interface Token {
  kind: TokenKind;
  text: string;
  start: number;
  end: number;
}

/** A statement that could not be read, with where. */
export class DdlParseError extends Error {
  override readonly name = 'DdlParseError';
}

function head(statement: string): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 80)}...` : flat;
}

function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = sql.length;
  const fail = (what: string, at: number): never => {
    throw new DdlParseError(`${what} at offset ${at} of statement "${head(sql)}"`);
  };
  while (i < n) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) fail('unclosed comment', i);
      i = close + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      for (;;) {
        if (j >= n) fail(`unclosed ${c === "'" ? 'string' : 'quoted name'}`, i);
        const d = sql[j]!;
        if (d === '\\') j += 2;
        else if (d === c && sql[j + 1] === c) j += 2;
        else if (d === c) break;
        else j++;
      }
      out.push({ kind: c === "'" ? 'string' : 'ident', text: sql.slice(i, j + 1), start: i, end: j + 1 });
      i = j + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$]/.test(sql[j]!)) j++;
      out.push({ kind: 'word', text: sql.slice(i, j), start: i, end: j });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_.]/.test(sql[j]!)) j++;
      out.push({ kind: 'number', text: sql.slice(i, j), start: i, end: j });
      i = j;
    } else {
      out.push({ kind: 'punct', text: c, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** What a statement becomes on a cluster: where `ON CLUSTER` goes, and the engine to replace. */
interface Plan {
  /** Offset of the text after which ` ON CLUSTER '<c>'` is inserted. */
  at: number;
  /**
   * How a message quotes the statement: up to the object's name and the cluster (what follows may be
   * a user's password), or its head (GRANT and REVOKE, whose object comes last).
   */
  quote: 'prefix' | 'whole';
  /** CREATE TABLE and CREATE MATERIALIZED VIEW: the token index to look for ENGINE from. */
  engineFrom?: number;
}

class Reader {
  i = 0;
  constructor(
    readonly tokens: Token[],
    readonly sql: string,
  ) {}

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  /** Whether the next tokens are these keywords (case-insensitive); consumes them when they are. */
  accept(...words: string[]): boolean {
    for (let k = 0; k < words.length; k++) {
      const t = this.peek(k);
      if (t === undefined || t.kind !== 'word' || t.text.toUpperCase() !== words[k]) return false;
    }
    this.i += words.length;
    return true;
  }

  acceptPunct(p: string): boolean {
    if (this.peek()?.kind === 'punct' && this.peek()!.text === p) {
      this.i++;
      return true;
    }
    return false;
  }

  fail(what: string): never {
    const t = this.peek();
    throw new DdlParseError(
      `${what}${t !== undefined ? ` at offset ${t.start} ('${t.text}')` : ' at the end'} of statement "${head(this.sql)}"`,
    );
  }

  /** One name: a word, a quoted name, or a query parameter `{name:Identifier}`. */
  part(): void {
    const t = this.peek();
    if (t === undefined) this.fail('expected a name');
    if (t.kind === 'word' || t.kind === 'ident') {
      this.i++;
      return;
    }
    if (t.kind === 'punct' && t.text === '{') {
      while (this.peek() !== undefined && !(this.peek()!.kind === 'punct' && this.peek()!.text === '}')) this.i++;
      if (!this.acceptPunct('}')) this.fail('unclosed query parameter');
      return;
    }
    this.fail('expected a name');
  }

  /** `[db.]name`; returns the offset just after it. */
  name(): number {
    this.part();
    if (this.acceptPunct('.')) this.part();
    return this.tokens[this.i - 1]!.end;
  }

  /** `name [, name ...]`; returns the offset just after the last. */
  names(): number {
    let end = this.name();
    while (this.acceptPunct(',')) end = this.name();
    return end;
  }
}

/** The first word of a statement, after blanks and comments. */
const LEADING_WORD = /^(?:\s|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*([A-Za-z]+)/;

/** Statement kinds that never change (data and read statements, session statements). */
const UNCHANGED = new Set([
  'SELECT',
  'WITH',
  'INSERT',
  'DELETE',
  'UPDATE',
  'SET',
  'USE',
  'SHOW',
  'DESCRIBE',
  'DESC',
  'EXPLAIN',
  'EXISTS',
  'CHECK',
  'KILL',
  'SYSTEM',
  'WATCH',
  'BACKUP',
  'RESTORE',
]);

/**
 * Where the cluster clause goes, or undefined when the statement stays as it is. Throws on a DDL
 * statement of a form this does not know, rather than run it on one host only.
 */
function plan(r: Reader): Plan | undefined {
  const first = r.peek();
  if (first === undefined) return undefined;
  if (first.kind !== 'word') return undefined;
  const verb = first.text.toUpperCase();
  if (UNCHANGED.has(verb)) return undefined;
  r.i++;
  const unsupported = (): never => r.fail(`no cluster form for this ${verb} statement`);
  switch (verb) {
    case 'CREATE':
    case 'ATTACH': {
      const orReplace = verb === 'CREATE' && r.accept('OR', 'REPLACE');
      if (r.accept('TEMPORARY')) return undefined;
      if (r.accept('USER')) {
        if (!orReplace) r.accept('IF', 'NOT', 'EXISTS');
        return { at: r.names(), quote: 'prefix' };
      }
      const table = r.accept('TABLE');
      const materialized = !table && r.accept('MATERIALIZED', 'VIEW');
      if (!table && !materialized && !r.accept('VIEW') && !r.accept('DATABASE') && !r.accept('DICTIONARY')) unsupported();
      r.accept('IF', 'NOT', 'EXISTS');
      let at = r.name();
      // A table's UUID (Atomic databases) comes before the cluster.
      if (r.accept('UUID')) {
        const u = r.peek();
        if (u?.kind !== 'string') r.fail('expected the UUID as a string');
        r.i++;
        at = u.end;
      }
      return { at, quote: 'prefix', ...(table || materialized ? { engineFrom: r.i } : {}) };
    }
    case 'ALTER': {
      if (r.accept('USER')) {
        r.accept('IF', 'EXISTS');
        return { at: r.names(), quote: 'prefix' };
      }
      if (!r.accept('TABLE') && !r.accept('DATABASE')) unsupported();
      r.accept('IF', 'EXISTS');
      return { at: r.name(), quote: 'prefix' };
    }
    case 'DROP':
    case 'DETACH': {
      if (r.accept('TEMPORARY')) return undefined;
      if (r.accept('USER')) {
        r.accept('IF', 'EXISTS');
        return { at: r.names(), quote: 'prefix' };
      }
      if (!r.accept('TABLE') && !r.accept('VIEW') && !r.accept('DATABASE') && !r.accept('DICTIONARY')) unsupported();
      if (!r.accept('IF', 'EXISTS')) r.accept('IF', 'EMPTY');
      return { at: r.names(), quote: 'prefix' };
    }
    case 'TRUNCATE': {
      if (r.accept('TEMPORARY')) return undefined;
      if (r.peek()?.text.toUpperCase() === 'ALL') unsupported();
      if (!r.accept('TABLE')) r.accept('DATABASE');
      r.accept('IF', 'EXISTS');
      return { at: r.name(), quote: 'prefix' };
    }
    case 'OPTIMIZE': {
      if (!r.accept('TABLE')) unsupported();
      return { at: r.name(), quote: 'prefix' };
    }
    case 'RENAME': {
      if (!r.accept('TABLE') && !r.accept('DATABASE') && !r.accept('DICTIONARY')) unsupported();
      let at: number;
      do {
        r.name();
        if (!r.accept('TO')) r.fail("expected 'TO'");
        at = r.name();
      } while (r.acceptPunct(','));
      return { at, quote: 'prefix' };
    }
    case 'EXCHANGE': {
      if (!r.accept('TABLES') && !r.accept('DICTIONARIES')) unsupported();
      r.name();
      if (!r.accept('AND')) r.fail("expected 'AND'");
      return { at: r.name(), quote: 'prefix' };
    }
    case 'GRANT':
    case 'REVOKE':
      return { at: first.end, quote: 'whole' };
    default:
      return unsupported();
  }
}

/** The Replicated form of the table engine after token `from`, as [start, end, replacement], if any. */
function engineEdit(r: Reader, from: number): [number, number, string] | undefined {
  const { tokens, sql } = r;
  let depth = 0;
  for (let k = from; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') depth--;
    if (depth !== 0 || t.kind !== 'word') continue;
    const word = t.text.toUpperCase();
    // The query of CREATE ... AS SELECT comes after the engine: nothing in it is the table's.
    if (word === 'SELECT' || word === 'WITH') return undefined;
    if (word !== 'ENGINE') continue;
    let e = k + 1;
    if (tokens[e]?.kind === 'punct' && tokens[e]!.text === '=') e++;
    const name = tokens[e];
    if (name?.kind !== 'word') {
      r.i = e;
      r.fail('expected the engine name');
    }
    const family = ENGINE_BY_NAME.get(name.text.toLowerCase());
    if (family === undefined) return undefined;
    const open = tokens[e + 1];
    const fixed = `${sqlString(REPLICA_PATH)}, ${sqlString(REPLICA_NAME)}`;
    if (open?.kind !== 'punct' || open.text !== '(') return [name.start, name.end, `Replicated${family}(${fixed})`];
    let d = 0;
    for (let j = e + 1; j < tokens.length; j++) {
      const p = tokens[j]!;
      if (p.kind === 'punct' && p.text === '(') d++;
      else if (p.kind === 'punct' && p.text === ')' && --d === 0) {
        const args = sql.slice(open.end, p.start).trim();
        return [name.start, p.end, `Replicated${family}(${fixed}${args === '' ? '' : `, ${args}`})`];
      }
    }
    r.i = e + 1;
    return r.fail("the engine's parameters are not closed");
  }
  return undefined;
}

export interface ClusterStatement {
  /** The statement to run. */
  sql: string;
  /**
   * Set when the statement is DDL put on a cluster: the statement as a message may quote it (its
   * head; for a user, only up to the user's name, so never a password).
   */
  quoted?: string;
}

/**
 * The statement to run on `cluster`, with a description for messages. Without a cluster, for a
 * statement that is not DDL, or for one that names a cluster already, it is the statement as given.
 */
export function clusterStatement(statement: string, cluster: string | undefined): ClusterStatement {
  if (cluster === undefined) return { sql: statement };
  // Most statements are queries and inserts: known by their first word, without reading them whole.
  const verb = LEADING_WORD.exec(statement)?.[1];
  if (verb !== undefined && UNCHANGED.has(verb.toUpperCase())) return { sql: statement };
  const r = new Reader(tokenize(statement), statement);
  const p = plan(r);
  if (p === undefined) return { sql: statement };
  const after = r.tokens.findIndex((t) => t.start >= p.at);
  if (after !== -1 && r.tokens[after]!.text.toUpperCase() === 'ON' && r.tokens[after + 1]?.text.toUpperCase() === 'CLUSTER') {
    return { sql: statement };
  }
  const clause = ` ${onClusterClause(cluster)}`;
  const edits: Array<[number, number, string]> = [[p.at, p.at, clause]];
  if (p.engineFrom !== undefined) {
    const edit = engineEdit(r, p.engineFrom);
    if (edit !== undefined) edits.push(edit);
  }
  let sql = statement;
  // From the end, so that each edit's offsets still hold.
  for (const [start, end, text] of edits.sort((a, b) => b[0] - a[0])) sql = sql.slice(0, start) + text + sql.slice(end);
  const rest = sql.slice(p.at + clause.length).trim() === '' ? '' : ' ...';
  const quoted = p.quote === 'whole' ? head(sql) : `${statement.slice(0, p.at).replace(/\s+/g, ' ').trim()}${clause}${rest}`;
  return { sql, quoted };
}

/** The statement to run on `cluster` (see clusterStatement); the statement as given without one. */
export function onCluster(statement: string, cluster: string | undefined): string {
  return clusterStatement(statement, cluster).sql;
}
