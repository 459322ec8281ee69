/**
 * A plain text table: columns padded to their widest cell, numbers right-aligned: a column whose cells
 * are all numbers, or with `units`, all start with a digit, a sign or a missing-value dash (numbers with
 * their unit, such as 40.0% or 12.5 h).
 */
export function printTable(
  out: NodeJS.WritableStream,
  header: string[],
  rows: Array<Array<string | number | undefined>>,
  options: { units?: boolean } = {},
): void {
  const cells = rows.map((r) => r.map((c) => (c === undefined ? '' : String(c))));
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const number = options.units === true ? /^([-−+]?\d|—$|$)/ : /^-?\d+(\.\d+)?$/;
  const numeric = header.map((_, i) => cells.length > 0 && cells.every((r) => number.test(r[i] ?? '')));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (numeric[i] === true ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  out.write(`${line(header)}\n`);
  out.write(`${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of cells) out.write(`${line(r)}\n`);
}

/**
 * An instant option (ISO 8601: a date, or a date and time with or without a zone; a date alone or a
 * time without a zone is UTC): undefined when absent, null (after saying why) when it is not one.
 */
export function parseInstant(
  ctx: { values: Record<string, unknown>; err: NodeJS.WritableStream },
  option: string,
  command = 'ptel',
): Date | undefined | null {
  const text = ctx.values[option];
  if (typeof text !== 'string') return undefined;
  const iso = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
  const withZone = /([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?)$/.test(text) ? `${text}Z` : text;
  const d = iso.test(text) ? new Date(withZone.replace(' ', 'T')) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) {
    ctx.err.write(`${command}: --${option} '${text}' is not an instant; use ISO 8601, e.g. 2026-10-31 or 2026-10-31T10:00:00Z\n`);
    return null;
  }
  return d;
}
