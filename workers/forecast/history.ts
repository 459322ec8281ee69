import type { ForecastInputs } from './types.js';

/** What a sentence about a forecast's change reads from a stored forecast. */
export interface ForecastPoint {
  ok: boolean;
  reason: string;
  committed: string | null;
  p50: string | null;
  confidence: number | null;
  inputs: Pick<ForecastInputs, 'remainingItems' | 'doneItems' | 'throughput' | 'blockers'>;
}

/** A number without trailing zeros, at most `digits` decimals. */
const short = (x: number, digits = 1): string => String(Number(x.toFixed(digits)));

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : xs.reduce((s, x) => s + x, 0) / xs.length);

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Why the inputs changed: scope, throughput, committed date and blockers, as short phrases. */
function causes(before: ForecastPoint, after: ForecastPoint): string[] {
  const out: string[] = [];
  const scope = (p: ForecastPoint): number => p.inputs.remainingItems + p.inputs.doneItems;
  const grew = scope(after) - scope(before);
  if (grew !== 0) out.push(`scope ${grew > 0 ? '+' : '-'}${plural(Math.abs(grew), 'item')}`);
  const done = after.inputs.doneItems - before.inputs.doneItems;
  if (done > 0) out.push(`${plural(done, 'item')} done`);
  const pace = [mean(after.inputs.throughput), mean(before.inputs.throughput)].map((x) => short(x));
  if (pace[0] !== pace[1]) out.push(`throughput ${pace[0]!}/week from ${pace[1]!}`);
  if (after.committed !== before.committed) out.push(`committed date ${after.committed ?? 'none'} from ${before.committed ?? 'none'}`);
  const blockers = [after.inputs.blockers.length, before.inputs.blockers.length];
  if (blockers[0] !== blockers[1]) out.push(`${plural(blockers[0]!, 'blocker')} from ${blockers[1]!}`);
  return out;
}

/**
 * The change from one run's forecast to the next in a sentence: "P(on time) fell from 0.82 to 0.41:
 * scope +12 items, throughput 4/week from 7". Without a confidence the P50 date is compared; a
 * forecast that gains or loses its number says so.
 */
export function describeChange(before: ForecastPoint | undefined, after: ForecastPoint): string {
  if (before === undefined) return after.ok ? 'first forecast' : `first forecast, no number: ${after.reason}`;
  let head: string;
  if (!after.ok) head = before.ok ? `no number any more (${after.reason})` : `still no number (${after.reason})`;
  else if (!before.ok) head = 'a number now';
  else if (before.confidence !== null && after.confidence !== null) {
    const [a, b] = [before.confidence.toFixed(2), after.confidence.toFixed(2)];
    head = a === b ? `P(on time) held at ${b}` : `P(on time) ${after.confidence > before.confidence ? 'rose' : 'fell'} from ${a} to ${b}`;
  } else if (before.p50 !== after.p50)
    head = `P50 moved from ${before.p50 ?? 'beyond the horizon'} to ${after.p50 ?? 'beyond the horizon'}`;
  else head = `P50 held at ${after.p50 ?? 'beyond the horizon'}`;
  const why = causes(before, after);
  if (why.length > 0) return `${head}: ${why.join(', ')}`;
  return after.ok && before.ok ? `${head}; its inputs did not change` : head;
}
