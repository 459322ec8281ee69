import { performance } from 'node:perf_hooks';
import type { StreamProgress } from '../connectors/core/runner.js';
import { count } from './summary.js';

/**
 * The progress of `run --once`'s pull in one line: on a terminal, redrawn in place ("pulling: 12 of 48
 * streams done, 3,456 records"); elsewhere nothing but a line per failed stream as it fails. Either
 * way it ends with one line for the whole pull, so the run's output stays short however many streams
 * there are (`ptel sync` shows every stream).
 */
export function createRunProgress(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): {
  update(p: StreamProgress): void;
  done(): void;
} {
  const tty = out.isTTY === true;
  const streams = new Map<string, StreamProgress>();
  const said = new Set<string>();
  let drawn = false;
  let lastDraw = -Infinity;
  const key = (p: StreamProgress): string => `${p.source}/${p.stream} ${p.scope}`;
  const totals = (): { finished: number; failed: number; records: number } => {
    let finished = 0;
    let failed = 0;
    let records = 0;
    for (const p of streams.values()) {
      if (p.status !== 'running') finished++;
      if (p.status === 'failed') failed++;
      records += p.records;
    }
    return { finished, failed, records };
  };
  const line = (): string => {
    const t = totals();
    return (
      `pulling: ${count(t.finished)} of ${count(streams.size)} streams done, ${count(t.records)} records` +
      `${t.failed > 0 ? `, ${count(t.failed)} failed` : ''}`
    ).slice(0, Math.max(40, (out.columns ?? 160) - 1));
  };
  const failure = (p: StreamProgress): void => {
    if (p.status !== 'failed' || said.has(key(p))) return;
    said.add(key(p));
    out.write(`${tty ? '\r\x1b[2K' : ''}FAILED ${key(p)}: ${p.error ?? ''}\n`);
  };
  return {
    update(p) {
      streams.set(key(p), { ...p });
      failure(p);
      // Redrawn at most ten times a second while pages come in; at once when a stream starts or ends.
      if (tty && (p.status !== 'running' || p.pages === 0 || performance.now() - lastDraw >= 100)) {
        out.write(`\r\x1b[2K${line()}`);
        drawn = true;
        lastDraw = performance.now();
      }
    },
    done() {
      if (streams.size === 0) return;
      const t = totals();
      const text =
        `pulled ${count(streams.size)} streams: ${count(t.records)} records` + `${t.failed > 0 ? `, ${count(t.failed)} failed` : ''}`;
      out.write(`${tty && drawn ? '\r\x1b[2K' : ''}${text}\n`);
    },
  };
}
