import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { z } from 'zod';
import { repoRoot, tempDir } from '../../test/support/harness.js';
import { loadConfig } from './load.js';
import { configSchema } from './schema.js';

const EXAMPLE = path.join(repoRoot, 'ptel.example.yaml');

interface Def {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schema under its wrappers (optional, default, prefault, nullable, a pipe's input). */
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    if (d.innerType !== undefined) s = d.innerType;
    else if (d.type === 'pipe' && d.in !== undefined) s = d.in;
    else return s;
  }
}

/**
 * Every key path of a schema: `a.b` for an object key, `a[].b` for a key of a list's items, `a.*.b` for a
 * key of a map's values; each option of a union adds its keys.
 */
function keyPaths(schema: z.ZodType, prefix = ''): string[] {
  const s = unwrap(schema);
  const d = defOf(s);
  switch (d.type) {
    case 'object':
      return Object.entries(d.shape ?? {}).flatMap(([k, child]) => {
        const p = prefix === '' ? k : `${prefix}.${k}`;
        return [p, ...keyPaths(child, p)];
      });
    case 'array':
      return keyPaths(d.element!, `${prefix}[]`);
    case 'record':
      return keyPaths(d.valueType!, `${prefix}.*`);
    case 'union':
      return [...new Set((d.options ?? []).flatMap((o) => keyPaths(o, prefix)))];
    default:
      return [];
  }
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether the parsed document has the key path in some list item or map value on the way. */
function present(nodes: unknown[], segments: string[]): boolean {
  if (segments.length === 0) return nodes.length > 0;
  const [head, ...rest] = segments as [string, ...string[]];
  if (head.endsWith('[]')) {
    const key = head.slice(0, -2);
    const lists = key === '' ? nodes : nodes.filter(isMap).map((n) => n[key]);
    return present(lists.filter(Array.isArray).flat(), rest);
  }
  if (head === '*')
    return present(
      nodes.filter(isMap).flatMap((n) => Object.values(n)),
      rest,
    );
  return present(
    nodes.filter(isMap).flatMap((n) => (head in n ? [n[head]] : [])),
    rest,
  );
}

/** The text of each top-level section: from its `key:` line to the next top-level key. */
function sections(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    const top = /^([A-Za-z]\w*):/.exec(line);
    if (top !== null) current = top[1]!;
    if (current !== undefined) out.set(current, `${out.get(current) ?? ''}${line}\n`);
  }
  return out;
}

/**
 * The keys the example does not name: a key is named when the document has it, or, for a key written
 * as a comment (one with no default, or an example), when a comment line of its top-level section
 * writes `key:`.
 */
function unnamed(text: string): string[] {
  const doc = parse(text) as unknown;
  const bySection = sections(text);
  return keyPaths(configSchema).filter((p) => {
    const segments = p
      .replace(/\[\]/g, '[].')
      .split('.')
      .filter((s) => s !== '');
    if (present([doc], segments)) return false;
    const leaf = segments[segments.length - 1]!.replace('[]', '');
    const comments = (bySection.get(segments[0]!.replace('[]', '')) ?? '')
      .split('\n')
      .filter((l) => l.includes('#'))
      .map((l) => l.slice(l.indexOf('#')));
    return !comments.some((c) => new RegExp(`(^|[\\s{,])${leaf}:`).test(c));
  });
}

describe('ptel.example.yaml', () => {
  const text = readFileSync(EXAMPLE, 'utf8');

  it('names every configuration key of the schema', () => {
    const paths = keyPaths(configSchema);
    // The walk reaches the nested sections, list items, map values and union options.
    expect(paths).toEqual(
      expect.arrayContaining([
        'model.workItems.types.risk',
        'metrics.stallBusinessDays.byPriority',
        'org.programs[].teams[].services[].aliases',
        'alerts.channels.*.routingKeyEnv',
        'people[].pagerduty',
        'sources.jira.fields.severity',
      ]),
    );
    expect(unnamed(text), 'keys missing from ptel.example.yaml').toEqual([]);
  });

  it('finds a key left out, in the document or in a comment', () => {
    expect(unnamed(text.replace(/^ {2}decisionTargetHours: .*\n/m, ''))).toEqual(['metrics.decisionTargetHours']);
    expect(unnamed(text.replace(/^ {2}# caFile: .*\n/m, ''))).toEqual(['alerts.caFile']);
    expect(unnamed(text.replace(/ *aliases: .*\n/, ''))).toEqual(['org.programs[].teams[].services[].aliases']);
  });

  it('loads with loadConfig with its secrets unset, and shows the defaults where it is not an example', () => {
    const config = loadConfig({ file: EXAMPLE, env: {}, cwd: tempDir() });
    const defaults = configSchema.parse({});
    for (const key of [
      'kafka',
      'redis',
      'http',
      'normalizer',
      'webhooks',
      'demo',
      'log',
      'model',
      'metrics',
      'export',
      'alerts',
      'people',
    ] as const)
      expect(config[key], key).toEqual(defaults[key]);
    const { url: _url, ...clickhouse } = config.clickhouse;
    expect(clickhouse).toEqual({ ...defaults.clickhouse, engine: 'embedded' });
    expect([config.mode, path.basename(config.dataDir)]).toEqual([defaults.mode, 'data']);
    expect(config.secrets.jiraApiToken).toBeUndefined();
  });
});
