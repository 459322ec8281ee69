import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { StreamProgress } from '../connectors/core/runner.js';
import { createRunProgress } from './run-progress.js';

function sink(tty: boolean): { out: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const out: Writable & { isTTY?: boolean } = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  out.isTTY = tty;
  return { out, text: () => text };
}

const stream = (name: string, status: StreamProgress['status'], records: number, error?: string): StreamProgress => ({
  source: 'github',
  stream: name,
  scope: 'acme/api',
  status,
  records,
  requests: 1,
  pages: status === 'running' ? 0 : 1,
  ...(error !== undefined ? { error } : {}),
});

/** Forty streams pulled, one of them failing. */
function pull(display: ReturnType<typeof createRunProgress>): void {
  for (let i = 0; i < 40; i++) display.update(stream(`s${i}`, 'running', 0));
  for (let i = 0; i < 40; i++) display.update(i === 7 ? stream(`s${i}`, 'failed', 0, 'HTTP 401') : stream(`s${i}`, 'ok', 100));
  display.done();
}

describe("run --once's pull progress", () => {
  it('off a terminal: one line per failed stream and one for the whole pull, however many streams', () => {
    const s = sink(false);
    pull(createRunProgress(s.out));
    expect(s.text()).toBe('FAILED github/s7 acme/api: HTTP 401\npulled 40 streams: 3,900 records, 1 failed\n');
  });

  it('on a terminal: one line redrawn in place, ending with the whole pull', () => {
    const s = sink(true);
    pull(createRunProgress(s.out));
    const shown = s.text().split('\n');
    expect(shown).toHaveLength(3); // the failure, the final line, and nothing after its line break
    expect(shown[0]).toMatch(/FAILED github\/s7 acme\/api: HTTP 401$/);
    expect(shown[1]!.endsWith('\r\u001b[2Kpulled 40 streams: 3,900 records, 1 failed')).toBe(true);
    expect(s.text()).toContain('pulling: 40 of 40 streams done, 3,900 records, 1 failed');
  });

  it('says nothing when nothing was pulled (the demo organisation)', () => {
    const s = sink(true);
    createRunProgress(s.out).done();
    expect(s.text()).toBe('');
  });
});
