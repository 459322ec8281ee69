/**
 * The figures a benchmark hands to the summary that `npm run bench` prints at its end: each beside the
 * physical limit measured in the same run, and the goal it is held to.
 */
export interface Figure {
  /** What was measured, e.g. "pipeline kafka -> normalizer -> ClickHouse". */
  name: string;
  value: number;
  /** e.g. "events/s", "requests", "s", "MB". */
  unit: string;
  /** The physical limit measured in the same run, with what it is (e.g. "Kafka Java consumer"). */
  limit?: { value: number; what: string };
  /**
   * The goal: `ratio` of the limit at least (value / limit >= ratio), or at most when `atMost` (e.g.
   * requests within 1.1 of the API's request bound, a recompute at most 0.05 of a full run); or an
   * absolute bound in the figure's unit (`value`).
   */
  goal: { ratio: number; atMost?: boolean } | { value: number; atMost?: boolean };
  /** What limited the figure, when it fell short. */
  note?: string;
}

/** Collects figures as benchmarks run; main prints them all at the end. */
export class Figures {
  readonly all: Figure[] = [];
  add(figure: Figure): void {
    this.all.push(figure);
  }
}

export function met(f: Figure): boolean {
  const g = f.goal;
  if ('ratio' in g) {
    if (f.limit === undefined || f.limit.value <= 0) return false;
    const r = f.value / f.limit.value;
    return g.atMost === true ? r <= g.ratio : r >= g.ratio;
  }
  return g.atMost === true ? f.value <= g.value : f.value >= g.value;
}

const num = (n: number): string =>
  Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(3)).toLocaleString('en-US');

/** One line a figure: value, limit and ratio, goal, and whether it is met. */
export function summary(figures: readonly Figure[]): string {
  const lines = ['', 'summary (each figure beside the limit measured in the same run, and its goal):'];
  for (const f of figures) {
    const g = f.goal;
    const limit =
      f.limit === undefined
        ? ''
        : ` | limit ${num(f.limit.value)} ${f.unit} (${f.limit.what}), ratio ${(f.value / f.limit.value).toFixed(2)}`;
    const goal =
      'ratio' in g
        ? `${g.atMost === true ? '<=' : '>='} ${g.ratio} of the limit`
        : `${g.atMost === true ? '<=' : '>='} ${num(g.value)} ${f.unit}`;
    lines.push(
      `  ${met(f) ? 'met ' : 'SHORT'} ${f.name}: ${num(f.value)} ${f.unit}${limit} | goal ${goal}${f.note === undefined ? '' : ` | ${f.note}`}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
