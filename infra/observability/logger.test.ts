import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/support/harness.js';
import { createLogger } from './logger.js';

function collect(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const fileLines = (file: string): Array<Record<string, unknown>> =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the logger', () => {
  it('writes every line at its level to the destination when no file is given', () => {
    const out = collect();
    const logger = createLogger({ level: 'info', destination: out.stream });
    logger.debug('not this');
    logger.info({ n: 1 }, 'one');
    logger.warn('two');
    expect(out.lines().map((l) => [l['level'], l['msg']])).toEqual([
      ['info', 'one'],
      ['warn', 'two'],
    ]);
  });

  it('with a file: the file gets every line at the level, the destination only those at its own level', () => {
    const out = collect();
    const file = path.join(tempDir(), 'logs', 'ptel.log'); // its folder is created
    const logger = createLogger({ level: 'info', destination: out.stream, file, destinationLevel: 'warn' });
    logger.debug('below the level');
    logger.info({ token: 'secret-value' }, 'progress');
    logger.warn('look at this');
    logger.error('failed');
    expect(fileLines(file).map((l) => [l['level'], l['msg']])).toEqual([
      ['info', 'progress'],
      ['warn', 'look at this'],
      ['error', 'failed'],
    ]);
    expect(fileLines(file)[0]!['token']).toBe('[redacted]');
    expect(out.lines().map((l) => [l['level'], l['msg']])).toEqual([
      ['warn', 'look at this'],
      ['error', 'failed'],
    ]);
  });

  it('appends to the file, and gives the destination no line below the logger level', () => {
    const file = path.join(tempDir(), 'ptel.log');
    createLogger({ level: 'warn', destination: new PassThrough(), file }).warn('first');
    const out = collect();
    const logger = createLogger({ level: 'warn', destination: out.stream, file, destinationLevel: 'debug' });
    logger.info('below the level');
    logger.warn('second');
    expect(fileLines(file).map((l) => l['msg'])).toEqual(['first', 'second']);
    expect(out.lines().map((l) => l['msg'])).toEqual(['second']);
  });

  it("with destinationLevel 'silent', writes to the file alone", () => {
    const file = path.join(tempDir(), 'ptel.log');
    const out = collect();
    createLogger({ level: 'info', destination: out.stream, file, destinationLevel: 'silent' }).error('only in the file');
    expect(fileLines(file).map((l) => l['msg'])).toEqual(['only in the file']);
    expect(out.lines()).toEqual([]);
  });
});
