/** SQL fragments the registers share. */

/** The register's instant. */
export const T = '{as_of:DateTime64(3)}';

/** The calendar day of the register's instant in the metrics' time zone. */
export const TODAY = `toDate(toTimeZone(${T}, {tz:String}))`;

/** The start of the recent window: finished items after it are listed. */
export const RECENT = `(${T} - toIntervalDay({recent_days:UInt32}))`;

/** An instant as 'YYYY-MM-DD hh:mm' in the metrics' time zone (NULL stays NULL). */
export const minute = (t: string): string => `formatDateTime(toTimeZone(${t}, {tz:String}), '%Y-%m-%d %H:%i')`;

/** A date as 'YYYY-MM-DD' (NULL stays NULL). */
export const day = (d: string): string => `toString(${d})`;

/** Days from one instant to another, one decimal, not below 0. */
export const daysFrom = (from: string, to: string): string => `round(greatest(0, dateDiff('second', ${from}, ${to})) / 86400.0, 1)`;

/** Hours from one instant to another, one decimal, not below 0. */
export const hoursFrom = (from: string, to: string): string => `round(greatest(0, dateDiff('second', ${from}, ${to})) / 3600.0, 1)`;

/** The milestones by id, with their name and current committed date, to join as `alias` on `(source, id)`. */
export const MILESTONE_NAMES = `(SELECT source AS ms_source, milestone_id AS ms_id, name AS ms_name, committed_date AS ms_date FROM milestones FINAL)`;

/** The instant `n` business days (weekdays) after instant `t`, at the same time of day in the metrics' time zone. */
export const addBusinessDays = (t: string, n: string): string =>
  `(${t} + toIntervalDay(dateDiff('day', toDate(toTimeZone(${t}, {tz:String})),
      arrayFilter(x -> toDayOfWeek(x) <= 5, arrayMap(k -> addDays(toDate(toTimeZone(${t}, {tz:String})), k + 1), range(toUInt32(${n} * 2 + 7))))[${n}])))`;

/** Joins its non-empty parts with '; '. */
export const joinParts = (parts: string[]): string => `arrayStringConcat(arrayFilter(x -> x != '', [${parts.join(', ')}]), '; ')`;
