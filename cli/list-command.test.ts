import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { riskRegister } from '../workers/registers/risks.js';
import type { RegisterResult, RegisterRow } from '../workers/registers/types.js';
import { printRegister, type Format } from './list-command.js';

const result: RegisterResult = {
  register: 'risks',
  title: 'Risk register',
  asOf: '2026-03-16T12:00:00.000Z',
  program: 'payments',
  team: null,
  recentDays: 30,
  summary: ['1 open'],
  columns: riskRegister.columns,
  rows: [
    Object.fromEntries<RegisterRow[string]>([
      ['key', 'jira:R-1'],
      ...riskRegister.columns.map((c): [string, null] => [c.key, null]),
      ['item', 'R-1'],
      ['title', 'Vendor "Acme", late\nagain: a title long enough to be shortened in a table'],
      ['severity', 'high'],
      ['unowned', true],
      ['age_days', 74],
      ['linked', ['CHK-1', 'CHK-2']],
    ]),
  ],
};

function printed(format: Format): string {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += b.toString('utf8')));
  printRegister({ out }, format, result, undefined);
  return text;
}

describe('ptel list output', () => {
  it('json is one document with every column', () => {
    const doc = JSON.parse(printed('json')) as { register: string; rows: Array<Record<string, unknown>>; summary: string[] };
    expect(doc.register).toBe('risks');
    expect(doc.summary).toEqual(['1 open']);
    expect(doc.rows[0]).toMatchObject({ item: 'R-1', linked: ['CHK-1', 'CHK-2'], unowned: true, age_days: 74 });
    expect(Object.keys(doc.rows[0]!)).toEqual(['key', ...riskRegister.columns.map((c) => c.key)]);
  });

  it('jsonl is one object per line', () => {
    const lines = printed('jsonl').trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ key: 'jira:R-1' });
  });

  it('csv quotes commas, quotes and line breaks, and spells lists and flags out', () => {
    const text = printed('csv');
    const [header, ...records] = text.split('\r\n');
    expect(header).toBe(['key', ...riskRegister.columns.map((c) => c.key)].join(','));
    expect(records[0]).toContain('"Vendor ""Acme"", late\nagain: a title long enough to be shortened in a table"');
    expect(records[0]).toContain(',CHK-1 CHK-2,');
    expect(records[0]).toContain(',true,');
    expect(records.at(-1)).toBe('');
  });

  it('the table starts with the summary and shortens long titles', () => {
    const text = printed('table');
    expect(text.split('\n').slice(0, 2)).toEqual(['Risk register as of 2026-03-16 12:00 UTC, program payments', '  1 open']);
    expect(text).toMatch(/R-1\s+Vendor "Acme", late again: a title long e… +high/);
    expect(text).toContain('age (d)');
    expect(text).toContain('74.0');
  });
});
