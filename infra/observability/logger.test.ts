import { PassThrough } from 'node:stream';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { collectJsonLines as collect, tempDir } from '../../test/support/harness.js';
import { createLogger, routeConsole } from './logger.js';

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

describe('console output routed to the logger', () => {
  const undo: Array<() => void> = [];
  afterEach(() => {
    while (undo.length > 0) undo.pop()!();
    vi.restoreAllMocks();
  });

  /** Spies on what still reaches the console's own methods while routes are set. */
  function consoleSpies(): Array<MockInstance<(...args: unknown[]) => void>> {
    return (['error', 'warn', 'info', 'log', 'debug', 'trace'] as const).map((m) =>
      vi.spyOn(console, m).mockImplementation(() => undefined),
    );
  }

  it('writes each console call as one JSON line at its level, with an Error under err, and nothing on the console', () => {
    const spies = consoleSpies();
    const out = collect();
    undo.push(routeConsole(createLogger({ level: 'debug', destination: out.stream })));
    // BullMQ's warning about an old Redis is two lines of text.
    console.warn(`It is highly recommended to use a minimum Redis version of 6.2.0
             Current: 5.0.7`);
    console.error('[ioredis] Unhandled error event:', 'connect ECONNREFUSED 127.0.0.1:6379');
    console.error(new Error('socket closed'));
    console.log('%d jobs', 3);
    console.debug({ a: 1 });
    expect(out.lines().map((l) => [l['level'], l['component'], l['msg']])).toEqual([
      ['warn', 'console', 'It is highly recommended to use a minimum Redis version of 6.2.0 Current: 5.0.7'],
      ['error', 'console', '[ioredis] Unhandled error event: connect ECONNREFUSED 127.0.0.1:6379'],
      ['error', 'console', 'socket closed'],
      ['info', 'console', '3 jobs'],
      ['debug', 'console', '{ a: 1 }'],
    ]);
    expect((out.lines()[2]!['err'] as { stack: string }).stack).toContain('socket closed');
    for (const spy of spies) expect(spy).not.toHaveBeenCalled();
  });

  it('sends the output to the latest route, and gives the console back once every route is removed', () => {
    const errorSpy = consoleSpies()[0]!;
    const first = collect();
    const second = collect();
    const removeFirst = routeConsole(createLogger({ level: 'info', destination: first.stream }));
    const removeSecond = routeConsole(createLogger({ level: 'info', destination: second.stream }));
    console.error('to the second');
    removeFirst();
    console.error('still to the second');
    removeSecond();
    removeSecond(); // removing twice changes nothing
    console.error('to the console');
    expect(first.lines()).toEqual([]);
    expect(second.lines().map((l) => l['msg'])).toEqual(['to the second', 'still to the second']);
    expect(errorSpy).toHaveBeenCalledTimes(1);
    expect(errorSpy).toHaveBeenCalledWith('to the console');
  });
});
