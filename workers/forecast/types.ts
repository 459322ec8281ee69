/**
 * Milestone forecasts (docs/metrics.md items 21-23): a Monte Carlo simulation of each open milestone's
 * remaining scope against its throughput, with scope growth and blocking links as precedence.
 *
 * The simulation (engine.ts) is pure: it takes ForecastInputs and ForecastSettings and gives a Forecast,
 * the same for the same inputs and seed. The inputs are read from the store as of an instant (inputs.ts);
 * forecasts are stored per run (milestone_forecasts) so their history is kept.
 */

/** A calendar day 'YYYY-MM-DD' in the metrics' time zone. */
export type Day = string;

export type ForecastBand = 'on track' | 'at risk' | 'off track';

export type ForecastMethod = 'throughput' | 'cadence';

/**
 * Open items of the milestone that wait on a blocker outside it (or inside it, on an item of the same
 * milestone that is not done). An item cannot finish before its blocker: in each trial it is not
 * workable until the week its blocker finishes.
 */
export interface BlockedItems {
  /** The blocker's key, its team and title, for the drivers. */
  blocker: string;
  blockerTeam: string;
  blockerTitle: string;
  /** The blocked items of this milestone waiting on it. */
  blocked: string[];
  /**
   * When the blocker finishes, in weeks from the forecast's instant, one value per trial (drawn from the
   * blocker's own milestone's forecast when it has one), or a single value used in every trial (its due
   * date, or 0 when the blocker is being worked on and no better estimate exists).
   */
  finishWeeks: number[];
  /** Business days the blocker has had no status change and no update (0 when active). */
  idleBusinessDays: number;
}

export interface ForecastInputs {
  source: string;
  milestoneId: string;
  name: string;
  /** The instant the forecast is made at; week 0 starts here. */
  asOf: Date;
  /** The day of `asOf` in the metrics' time zone. */
  today: Day;
  /** The committed date, null when the milestone has none (then there is no confidence). */
  committed: Day | null;
  /** Open items and their story points (null when no item has points). */
  remainingItems: number;
  remainingPoints: number | null;
  /**
   * The done items behind the throughput samples, which the history rule (minDoneItems) reads: the
   * milestone's own done items, or its owning team's done items in the window when the basis is team share.
   */
  doneItems: number;
  /** Items done so far in the milestone itself. */
  milestoneDoneItems?: number;
  /**
   * Weekly throughput samples, items done per whole week, oldest first, zero weeks included, over the
   * trailing window (settings.windowWeeks).
   */
  throughput: number[];
  /** Where the throughput comes from: the milestone's own items, or the owning teams' scaled by the milestone's share. */
  throughputBasis: 'milestone' | 'team share';
  /** The owning teams whose throughput is used. */
  teams: string[];
  /** Net items added to the milestone per whole week after its commit point, oldest first (may be empty: no growth). */
  growth: number[];
  /**
   * How many weeks from now growth goes on (default: to the horizon): until the committed date, as a
   * milestone's scope is settled by its date, or for as many weeks as growth has been observed when
   * the milestone has no date or its date has passed.
   */
  growthWeeks?: number;
  /** Weeks of history behind the throughput samples (the milestone's, or its team's up to the window). */
  historyWeeks: number;
  /**
   * Of the items added since the commit point, those split from another item (a Jira work item split):
   * growth that is the same work cut finer, not new work.
   */
  splitItems?: number;
  blockers: BlockedItems[];
  /**
   * How the owning team's past milestones of the same kind finished (absent when too few have): the
   * cadence model forecasts the date from them when they shipped around their date and carried open
   * work over ('date'), rather than from the remaining work.
   */
  cadence?: Cadence;
}

/** The finished milestones a milestone's cadence is read from, and how they finished. */
export interface Cadence {
  /** 'date': they finished around their date, open items carried over or left; 'scope': they finished when their work was done. */
  style: 'date' | 'scope';
  /** Whose milestones: the owning team's, or the organisation's when the team has too few. */
  from: 'team' | 'organisation';
  /** The finished milestones read (the most recent ones of the same kind). */
  peers: number;
  /** Of those, the ones that finished with open items (carried over to another milestone or left open). */
  withOpenItems: number;
  /** The median open items they finished with. */
  medianOpenItems: number;
  /** The days from the forecast's day to the committed date (negative: past it), at which the peers' dates are read. */
  leadDays: number;
  /**
   * Per peer whose date was seen before it finished (one seen only after has no plan on record), the
   * days it finished after the committed date it had as long before it finished as this
   * milestone has left to its own date (negative: early), oldest peer first.
   */
  slipDays: number[];
  /** The same for the organisation's most recent finished milestones of the kind (the team's among them). */
  orgSlipDays?: number[];
}

export interface ForecastSettings {
  trials: number;
  seed: number;
  /** Trailing weeks of throughput. */
  windowWeeks: number;
  /** No number with fewer done items than this ... */
  minDoneItems: number;
  /** ... or fewer weeks of history than this. */
  minWeeks: number;
  /** confidence >= onTrack: on track; >= atRisk: at risk; else off track. */
  bands: { onTrack: number; atRisk: number };
  /** A trial that has not finished after this many weeks counts as not finishing (its date is beyond the horizon). */
  horizonWeeks: number;
}

export type Forecast =
  | {
      ok: true;
      source: string;
      milestoneId: string;
      name: string;
      asOf: string;
      committed: Day | null;
      /** Completion dates at the 50th, 85th and 95th percentile of the trials (null beyond the horizon). */
      p50: Day | null;
      p85: Day | null;
      p95: Day | null;
      /** P(done by the committed date), null without a committed date. */
      confidence: number | null;
      band: ForecastBand | null;
      /**
       * What the dates rest on: 'throughput', the remaining work simulated against the throughput;
       * 'cadence', the dates the milestone's peers finished at (inputs.cadence), the remaining work
       * then telling what is still open at the date.
       */
      method: ForecastMethod;
      /** One-line sentences a person reads: why the forecast is what it is. */
      drivers: string[];
      /** The blocker chain that sets the date most often, as keys (empty when none does). */
      criticalPath: string[];
      /** The share of trials whose date criticalPath sets (0 when it is empty). */
      criticalShare?: number;
      trials: number;
      seed: number;
      inputs: ForecastInputs;
    }
  | {
      ok: false;
      source: string;
      milestoneId: string;
      name: string;
      asOf: string;
      /** Why there is no number: "12 done items and 4 weeks of history; a forecast needs 20 and 6". */
      reason: string;
      inputs: ForecastInputs;
    };

/** A what-if: a change to the inputs, forecast beside the current one without writing anything. */
export interface WhatIf {
  /** Remaining scope times (1 + scopeChange): -0.2 is 20% less. */
  scopeChange?: number;
  /** Throughput times this factor. */
  throughputFactor?: number;
  /** A blocker resolved on a date. */
  resolve?: Array<{ key: string; on: Day }>;
  /** Another team's weekly throughput pooled in (samples, oldest first). */
  addThroughput?: number[];
  /** A new committed date. */
  commit?: Day;
}
