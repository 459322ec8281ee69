import { describe, expect, it } from 'vitest';
import type { ImportResult } from '../app/import.js';
import { importLines } from './import-command.js';

const result = (over: Partial<ImportResult>): ImportResult => ({
  kind: 'survey_response',
  file: 'answers.csv',
  format: 'csv',
  rows: 3,
  refused: [],
  published: 3,
  heldBack: false,
  stored: true,
  ...over,
});

describe('what ptel import says', () => {
  it('names the refused rows and how many --skip-bad would import, or none when every row was refused', () => {
    const one = "row 2 (line 3): field 'score': expected a whole number from 1 to 5";
    expect(importLines(result({ refused: [one], published: 0, heldBack: true })).err).toEqual([
      'ptel import: 1 of 3 rows of answers.csv refused, nothing imported (--skip-bad imports the other 2):',
      `  ${one}`,
    ]);
    expect(importLines(result({ rows: 1, refused: [one], published: 0, heldBack: true })).err).toEqual([
      'ptel import: 1 of 1 rows of answers.csv refused, nothing imported:',
      `  ${one}`,
    ]);
  });

  it('says what was imported and skipped, and whether it is stored or on the bus', () => {
    expect(importLines(result({ refused: ['row 2 (line 3): bad'], published: 2 }))).toEqual({
      out: ['imported 2 survey_response rows from answers.csv (1 skipped, listed below); stored'],
      err: ['skipped:', '  row 2 (line 3): bad'],
    });
    expect(importLines(result({ stored: false })).out).toEqual([
      'imported 3 survey_response rows from answers.csv; on the bus for the normalizers',
    ]);
  });
});
