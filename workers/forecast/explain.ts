import type { Store } from '../../infra/store/client.js';
import { instantParam } from '../metrics/engine.js';
import { categoryAt, ITEMS, statusAt } from '../metrics/definitions/work-items.js';
import type { CadencePeer, ForecastEvidence } from './inputs.js';
import { openMilestones, type ForecastConfig, type StoredForecast } from './job.js';
import type { BlockedItems, ForecastInputs } from './types.js';

/**
 * A stored forecast explained down to the work items behind its inputs: the items done in each
 * throughput week, the open items left, the adds and removals behind growth, and the blockers.
 *
 * The items are read as they stood at the run's instant, with the run's history rule and window from
 * the configuration, so that they add up to the inputs the run stored: the items of a week count to
 * that week's sample (times the milestone's share on a team-share basis) and the open items to its
 * remaining scope. When the store now reads differently at that instant (events stored after the run,
 * or settings changed since), `differences` says where.
 */

const WEEK_MS = 7 * 86_400_000;
const T = '{as_of:DateTime64(3)}';

/** One throughput sample with the done items behind it. */
export interface ExplainedWeek {
  /** 0 is the oldest sample, as in inputs.throughput. */
  sample: number;
  /** The week: [from, to), ISO 8601 instants. */
  from: string;
  to: string;
  /** The sample the run used (items/week). */
  value: number;
  /** The items done in the week: the milestone's own, or its team's on a team-share basis. */
  items: Array<{ key: string; doneAt: string }>;
}

/** An open item of the milestone as it stood at the instant. */
export interface ExplainedItem {
  key: string;
  /** '' when the item is not found in the store. */
  title: string;
  status: string;
  category: string;
  points: number | null;
  /** The blockers (of the run's inputs) this item waits on. */
  blockedBy: string[];
}

/** An item added to or removed from the milestone after its commit point. */
export interface ExplainedChange {
  key: string;
  at: string;
  change: 'added' | 'removed';
  /** The growth sample it falls in (0 is the oldest of inputs.growth). */
  sample: number;
  /** An added piece split from another item: that item's key (null otherwise). */
  splitFrom: string | null;
}

export interface ForecastExplanation {
  /** `source:milestone_id`. */
  key: string;
  /** The instant the items are read at: the run's. */
  asOf: string;
  throughput: {
    basis: ForecastInputs['throughputBasis'];
    teams: string[];
    /**
     * On a team-share basis, the milestone's share of its team's done items that scales the team's
     * weekly count into each sample; null on the milestone's own basis, or when no team item was done
     * in the window (every sample 0).
     */
    share: number | null;
    /** Oldest first. */
    weeks: ExplainedWeek[];
  };
  remaining: ExplainedItem[];
  growth: { samples: number[]; changes: ExplainedChange[] };
  /** The blockers as the run used them (their finish included). */
  blockers: BlockedItems[];
  /**
   * With a cadence, the finished milestones it was read from (oldest first), each with the date it had
   * as long before its finish as the milestone had left to its date, and how late it finished.
   */
  cadence: CadencePeer[];
  /** Where the store now reads differently from the run's inputs at the same instant (empty when it agrees). */
  differences: string[];
}

interface ItemState {
  key: string;
  title: string;
  status: string;
  category: string;
}

/** The title, status and status category of the items of one source with the given keys, as they stood at the instant. */
const ITEM_STATES = `
SELECT i.key AS key, i.summary AS title, ${statusAt('i', T)} AS status, ${categoryAt('i', T)} AS category
FROM ${ITEMS} AS i
WHERE i.source = {source:String} AND has({keys:Array(String)}, i.key)`;

async function itemStates(store: Store, source: string, keys: string[], asOf: Date): Promise<Map<string, ItemState>> {
  if (keys.length === 0) return new Map();
  const rs = await store.client.query({
    query: ITEM_STATES,
    query_params: { source, keys, as_of: instantParam(asOf) },
    format: 'JSONEachRow',
  });
  return new Map((await rs.json<ItemState>()).map((r) => [r.key, r]));
}

const iso = (ms: number): string => new Date(ms).toISOString();
const sameNumbers = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
const list = (xs: readonly number[]): string => `[${xs.join(', ')}]`;

/** Explains a stored forecast from the items in the store as they stood at its run's instant. */
export async function explainForecast(store: Store, config: ForecastConfig, forecast: StoredForecast): Promise<ForecastExplanation> {
  const stored = forecast.inputs;
  const key = `${forecast.source}:${forecast.milestoneId}`;
  const asOf = new Date(forecast.runAt);
  const at = asOf.getTime();
  const open = await openMilestones(store, config, asOf, true);
  const now = open.find((m) => m.key === key);
  const differences: string[] = [];
  const evidence: ForecastEvidence = now?.evidence ?? { remaining: [], done: [], growth: [], share: null, peers: [], split: [] };
  if (now === undefined) {
    differences.push(`${key} is not open at ${asOf.toISOString()} as the store now reads it: no item to list`);
  } else {
    const read = now.inputs;
    if (read.remainingItems !== stored.remainingItems)
      differences.push(`the run counted ${stored.remainingItems} remaining items; the store now reads ${read.remainingItems}`);
    if (read.throughputBasis !== stored.throughputBasis)
      differences.push(`the run's throughput basis was ${stored.throughputBasis}; the store now gives ${read.throughputBasis}`);
    else if (!sameNumbers(read.throughput, stored.throughput))
      differences.push(`the run's weekly throughput was ${list(stored.throughput)}; the store now gives ${list(read.throughput)}`);
    if (!sameNumbers(read.growth, stored.growth))
      differences.push(`the run's weekly growth was ${list(stored.growth)}; the store now gives ${list(read.growth)}`);
  }

  const n = stored.throughput.length;
  const weeks: ExplainedWeek[] = stored.throughput.map((value, sample) => {
    const k = n - 1 - sample;
    return {
      sample,
      from: iso(at - (k + 1) * WEEK_MS),
      to: iso(at - k * WEEK_MS),
      value,
      items: evidence.done.filter((d) => d.sample === sample).map((d) => ({ key: d.key, doneAt: d.doneAt })),
    };
  });
  const share = stored.throughputBasis === 'team share' ? evidence.share : null;
  const splitFrom = new Map(evidence.split.map((x) => [x.key, x.from]));

  const blockedBy = new Map<string, string[]>();
  for (const b of stored.blockers) for (const item of b.blocked) blockedBy.set(item, [...(blockedBy.get(item) ?? []), b.blocker]);
  const states = await itemStates(
    store,
    forecast.source,
    evidence.remaining.map((r) => r.key),
    asOf,
  );
  const byKey = (a: { key: string }, b: { key: string }): number => a.key.localeCompare(b.key, 'en', { numeric: true });
  const remaining = [...evidence.remaining].sort(byKey).map((r): ExplainedItem => {
    const s = states.get(r.key);
    return {
      key: r.key,
      title: s?.title ?? '',
      status: s?.status ?? '',
      category: s?.category ?? '',
      points: r.points,
      blockedBy: blockedBy.get(r.key) ?? [],
    };
  });

  return {
    key,
    asOf: asOf.toISOString(),
    throughput: { basis: stored.throughputBasis, teams: stored.teams, share, weeks },
    remaining,
    growth: {
      samples: stored.growth,
      changes: evidence.growth.map((g) => ({
        key: g.key,
        at: g.at,
        change: g.change > 0 ? 'added' : 'removed',
        sample: g.sample,
        splitFrom: g.change > 0 ? (splitFrom.get(g.key) ?? null) : null,
      })),
    },
    blockers: stored.blockers,
    cadence: evidence.peers,
    differences,
  };
}
