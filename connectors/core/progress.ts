import type { StreamProgress } from './runner.js';

/**
 * Shows sync progress: on a terminal, one line per stream redrawn in place with a bar of pages read;
 * otherwise plain lines when a stream starts and ends, so logs and CI output stay readable.
 */
export function createProgressDisplay(out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): {
  update(p: StreamProgress): void;
  done(): void;
} {
  const tty = out.isTTY === true;
  const rows = new Map<string, StreamProgress>();
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;
  const label = (p: StreamProgress): string => `${p.source}/${p.stream} ${p.scope}`;
  const spinner = ['|', '/', '-', '\\'];
  let tick = 0;

  const line = (p: StreamProgress): string => {
    const state =
      p.status === 'running'
        ? `${spinner[tick % spinner.length]} ${'#'.repeat(Math.min(20, p.pages)).padEnd(20, '.')}`
        : p.status === 'ok'
          ? 'done                  '
          : 'FAILED                ';
    const text = `${state} ${label(p).padEnd(44)} ${String(p.records).padStart(7)} records ${String(p.requests).padStart(5)} requests`;
    const withError = p.error !== undefined ? `${text}  ${p.error}` : text;
    return withError.slice(0, Math.max(40, (out.columns ?? 160) - 1));
  };

  const redraw = (): void => {
    tick++;
    let s = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const p of rows.values()) s += `\x1b[2K${line(p)}\n`;
    drawn = rows.size;
    out.write(s);
  };

  return {
    update(p) {
      const key = label(p);
      const known = rows.has(key);
      rows.set(key, p);
      if (tty) {
        timer ??= setInterval(redraw, 120);
        if (!known) redraw();
      } else if (!known) {
        out.write(`sync ${key}: started\n`);
      } else if (p.status !== 'running') {
        out.write(
          `sync ${key}: ${p.status === 'ok' ? 'done' : 'failed'}, ${p.records} records, ${p.requests} requests${p.error !== undefined ? `: ${p.error}` : ''}\n`,
        );
      }
    },
    done() {
      if (timer !== undefined) clearInterval(timer);
      if (tty) redraw();
    },
  };
}
