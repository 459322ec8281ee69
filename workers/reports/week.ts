import { addDays, dayStartInstant, today, type Day } from '../metrics/engine.js';

/**
 * ISO weeks (2026-W44): Monday to Sunday, week 1 the one holding the year's first Thursday. A report's
 * week runs from its Monday 00:00 to the next Monday 00:00 in the metrics' time zone.
 */

export interface ReportWeek {
  /** 'YYYY-Www'. */
  id: string;
  /** Its Monday and Sunday. */
  first: Day;
  last: Day;
  /** Monday 00:00 and the next Monday 00:00 in the time zone. */
  from: Date;
  to: Date;
}

const DAY_MS = 86_400_000;

const utc = (day: Day): number => Date.parse(`${day}T00:00:00Z`);

/** The day of the week of a date, Monday 0 to Sunday 6. */
const weekday = (day: Day): number => (new Date(utc(day)).getUTCDay() + 6) % 7;

/** The ISO week a day falls in. */
export function isoWeekOf(day: Day): string {
  const thursday = addDays(day, 3 - weekday(day));
  const year = Number(thursday.slice(0, 4));
  const week = 1 + Math.floor((utc(thursday) - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** How many ISO weeks a year has (52 or 53). */
export const isoWeeksIn = (year: number): number => Number(isoWeekOf(`${String(year).padStart(4, '0')}-12-28`).slice(6));

/** The Monday of an ISO week 'YYYY-Www', or what is wrong with the text. */
export function parseIsoWeek(text: string): { monday: Day } | { problem: string } {
  const m = /^(\d{4})-W(\d{2})$/.exec(text.trim());
  if (m === null) return { problem: `'${text}' is not an ISO week; expected YYYY-Www such as 2026-W44` };
  const year = Number(m[1]);
  const week = Number(m[2]);
  const weeks = isoWeeksIn(year);
  if (week < 1 || week > weeks) return { problem: `'${text}': ${year} has weeks 01 to ${weeks}` };
  const jan4 = `${m[1]!}-01-04`;
  return { monday: addDays(jan4, (week - 1) * 7 - weekday(jan4)) };
}

/** The week starting on a Monday, cut in a time zone. */
export function reportWeek(monday: Day, tz: string): ReportWeek {
  return {
    id: isoWeekOf(monday),
    first: monday,
    last: addDays(monday, 6),
    from: dayStartInstant(monday, tz),
    to: dayStartInstant(addDays(monday, 7), tz),
  };
}

/** The last whole week before an instant: the week before the one it falls in. */
export function lastWholeWeek(at: Date, tz: string): ReportWeek {
  const day = today(tz, at);
  return reportWeek(addDays(day, -weekday(day) - 7), tz);
}

/** The week before. */
export const previousWeek = (week: ReportWeek, tz: string): ReportWeek => reportWeek(addDays(week.first, -7), tz);
