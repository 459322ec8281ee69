import { describe, expect, it } from 'vitest';
import { contentHash, INGEST_KIND_NAMES, type IngestKind } from '../../schemas/ingest.js';
import { parseCsv, readRows, RowFormatError } from './files.js';
import { rowRecord, rowRecords } from './records.js';
import { VALID_ROWS } from '../../test/support/ingest.js';

const at = { row: 3, line: 4 };

describe('a row becomes its ingest.<kind> record', () => {
  it.each(INGEST_KIND_NAMES)('%s: the natural key as subject, the content hash as version', (kind) => {
    const { row, subject, time } = VALID_ROWS[kind];
    const r = rowRecord(kind, row, at);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    if (!r.ok) return;
    expect(r.record).toMatchObject({ source: 'ingest', type: `ingest.${kind}`, time, version: contentHash(r.record.payload) });
    if (kind !== 'cost_row') expect(r.record.subject).toBe(subject);
    else expect(r.record.subject).toBe(`cost/${contentHash(r.record.payload)}`);
    // The same row again is the same record; another value is another version of the same subject.
    expect(rowRecord(kind, { ...row }, { row: 9 })).toEqual(r);
  });

  it('keeps neither the survey answer id nor the FOCUS columns it does not read', () => {
    const survey = rowRecord('survey_response', VALID_ROWS.survey_response.row, at);
    expect(survey.ok && JSON.stringify(survey.record.payload)).not.toContain('r-17');
    const cost = rowRecord('cost_row', VALID_ROWS.cost_row.row, at);
    expect(cost.ok && cost.record.payload).toMatchObject({ BilledCost: 12.5, Tags: { program: 'payments' } });
    expect(cost.ok && JSON.stringify(cost.record.payload)).not.toContain('x_Custom');
  });

  it('a corrected row is a new version of the same subject', () => {
    const a = rowRecord('outcome_target', VALID_ROWS.outcome_target.row, at);
    const b = rowRecord('outcome_target', { ...VALID_ROWS.outcome_target.row, target: 0.4, rationale: 'market shrank' }, at);
    expect(a.ok && b.ok).toBe(true);
    if (!a.ok || !b.ok) return;
    expect(b.record.subject).toBe(a.record.subject);
    expect(b.record.version).not.toBe(a.record.version);
  });
});

describe('a refused row is named by its place and field', () => {
  const refusal = (kind: IngestKind, row: unknown): string => {
    const r = rowRecord(kind, row, at);
    return r.ok ? 'accepted' : r.error;
  };

  it('a score out of range', () => {
    expect(refusal('survey_response', { ...VALID_ROWS.survey_response.row, score: '7' })).toBe(
      "row 3 (line 4): field 'score': expected a whole number from 1 to 5",
    );
    expect(refusal('survey_response', { ...VALID_ROWS.survey_response.row, score: '4.5' })).toBe(
      "row 3 (line 4): field 'score': expected a whole number from 1 to 5",
    );
  });

  it('a waived check without its rationale', () => {
    const { rationale: _, ...row } = VALID_ROWS.readiness_check.row;
    expect(refusal('readiness_check', row)).toBe("row 3 (line 4): field 'rationale': a waived check needs its rationale");
  });

  it("a survey row with a respondent's name or a comment's text, naming each column", () => {
    const error = refusal('survey_response', { ...VALID_ROWS.survey_response.row, name: 'Ada', comment: 'too many meetings' });
    expect(error).toMatch(/^row 3 \(line 4\): field 'name': not accepted \(a survey response carries no names/);
    expect(error).toContain("; field 'comment': not accepted (");
    expect(error).not.toContain('Ada');
    expect(error).not.toContain('too many meetings');
  });

  it('a cost row with a bad BillingCurrency', () => {
    expect(refusal('cost_row', { ...VALID_ROWS.cost_row.row, BillingCurrency: 'euro' })).toBe(
      "row 3 (line 4): field 'BillingCurrency': expected an ISO 4217 currency code, for example USD",
    );
  });

  it('a bad date, a missing field, an unknown column of a strict kind, not an object', () => {
    expect(refusal('readiness_check', { ...VALID_ROWS.readiness_check.row, go_no_go: '2026-02-30' })).toBe(
      "row 3 (line 4): field 'go_no_go': expected a date YYYY-MM-DD",
    );
    const { due: _, ...noDue } = VALID_ROWS.outcome_target.row;
    expect(refusal('outcome_target', noDue)).toBe("row 3 (line 4): field 'due': missing");
    expect(refusal('adopter', { ...VALID_ROWS.adopter.row, owner: 'x' })).toBe(
      "row 3 (line 4): field 'owner': not accepted (the fields of adopter are program, adopter, kind, target_date, enabled_at, jira_issue, jira_label)",
    );
    expect(refusal('adopter', [1, 2])).toBe('row 3 (line 4): expected an object of adopter fields, got an array');
  });

  it('rowRecords keeps the good rows and names each bad one, in order', () => {
    const rows = [
      { row: VALID_ROWS.adopter.row, place: { row: 1, line: 2 } },
      { row: { ...VALID_ROWS.adopter.row, target_date: 'soon' }, place: { row: 2, line: 3 } },
      { row: undefined, place: { row: 3, line: 4 }, problem: 'not JSON: Unexpected token' },
    ];
    const { records, refused } = rowRecords('adopter', rows);
    expect(records).toHaveLength(1);
    expect(refused).toEqual([
      "row 2 (line 3): field 'target_date': expected a date YYYY-MM-DD",
      'row 3 (line 4): not JSON: Unexpected token',
    ]);
  });
});

describe('CSV (RFC 4180)', () => {
  it('quoted fields with commas, doubled quotes and line breaks; CRLF; a BOM; the line each record starts on', () => {
    const text = '\uFEFFa,b,c\r\n1,"x, y","say ""hi"""\r\n"two\r\nlines",,3\r\n\r\nlast,"",z';
    expect(parseCsv(text)).toEqual([
      { cells: ['a', 'b', 'c'], line: 1 },
      { cells: ['1', 'x, y', 'say "hi"'], line: 2 },
      { cells: ['two\r\nlines', '', '3'], line: 3 },
      { cells: ['last', '', 'z'], line: 6 },
    ]);
  });

  it('rows by header name, numbered from 1 with their lines; a row with the wrong number of cells is named', () => {
    const rows = readRows('program,adopter,target_date\npayments,"team\nledger",2026-12-31\npayments,x\n', 'csv');
    expect(rows).toEqual([
      { row: { program: 'payments', adopter: 'team\nledger', target_date: '2026-12-31' }, place: { row: 1, line: 2 } },
      { row: undefined, place: { row: 2, line: 4 }, problem: '2 cells where the header row has 3 columns' },
    ]);
  });

  it('refuses a file it cannot read, naming the line', () => {
    expect(() => readRows('a,b\n1,"open\n2,3\n', 'csv')).toThrow(
      new RowFormatError('line 2: a quoted field is never closed (a quote inside one is written twice: "")'),
    );
    expect(() => readRows('a,b\n"x"y,2\n', 'csv')).toThrow(/^line 2: text after a quoted field's closing quote/);
    expect(() => readRows('a,a\n1,2\n', 'csv')).toThrow("line 1: the header row names column 'a' twice");
    expect(() => readRows('', 'csv')).toThrow('no header row');
  });

  it('a survey CSV with a comment column is refused naming the column, whatever the cell holds', () => {
    const csv = 'survey,program,response_id,submitted_at,score,comment\nengineering_sentiment,payments,r1,2026-11-30T17:00:00Z,2,\n';
    const { records, refused } = rowRecords('survey_response', readRows(csv, 'csv'));
    expect(records).toEqual([]);
    expect(refused).toEqual([expect.stringMatching(/^row 1 \(line 2\): field 'comment': not accepted/)]);
  });
});

describe('JSON, NDJSON and YAML', () => {
  it('a JSON array: each row with its index and line; one object is one row', () => {
    const rows = readRows('[\n  {"a": "[,]"},\n  {"b": {"c": 1}}\n]', 'json');
    expect(rows.map((r) => r.place)).toEqual([
      { row: 1, index: 0, line: 2 },
      { row: 2, index: 1, line: 3 },
    ]);
    expect(readRows('{"a":1}', 'json')).toEqual([{ row: { a: 1 }, place: { row: 1 } }]);
    expect(() => readRows('"x"', 'json')).toThrow('expected a JSON object (one row) or an array of rows');
    expect(() => readRows('[{"a":1},\n{"a":}]', 'json')).toThrow(RowFormatError);
  });

  it('NDJSON: a line that is not JSON is a refused row, blank lines are skipped', () => {
    const rows = readRows('{"a":1}\r\n\n{oops\n{"a":2}\n', 'ndjson');
    expect(rows.map((r) => [r.place, r.problem === undefined])).toEqual([
      [{ row: 1, line: 1 }, true],
      [{ row: 2, line: 3 }, false],
      [{ row: 3, line: 4 }, true],
    ]);
  });

  it('YAML: a list of rows with their lines, every scalar read as text', () => {
    const yaml = [
      '# release 2026.10 go/no-go',
      '- program: payments',
      '  release: 2026.10',
      '  check: Load test',
      '  status: pass',
      '  go_no_go: 2026-10-20',
      '- program: payments',
      '  release: 2026.10',
      '  check: Runbook',
      '  status: waived',
      '  go_no_go: 2026-10-20',
      '',
    ].join('\n');
    const rows = readRows(yaml, 'yaml');
    expect(rows.map((r) => r.place)).toEqual([
      { row: 1, line: 2 },
      { row: 2, line: 7 },
    ]);
    expect(rows[0]!.row).toMatchObject({ release: '2026.10', go_no_go: '2026-10-20' });
    expect(rowRecords('readiness_check', rows).refused).toEqual(["row 2 (line 7): field 'rationale': a waived check needs its rationale"]);
    expect(() => readRows('- a: 1\n  b: [\n', 'yaml')).toThrow(/^line \d+: not YAML/);
  });
});
