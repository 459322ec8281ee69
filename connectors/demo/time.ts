import type { Rng } from './prng.js';

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
export const WEEK = 7 * DAY;

/** GitHub and PagerDuty report whole seconds; the generator keeps their times on whole seconds. */
export const floorSecond = (ms: number): number => Math.floor(ms / SECOND) * SECOND;

/** `2026-05-04T13:07:22Z`, the GitHub and PagerDuty REST form. */
export const isoSeconds = (ms: number): string => new Date(floorSecond(ms)).toISOString().replace('.000Z', 'Z');

/** `2026-05-04T13:07:22.123+0000`, the Jira REST form (offset without a colon). */
export const jiraDateTime = (ms: number): string => new Date(ms).toISOString().replace('Z', '+0000');

/** `2026-05-04`, Jira date-only fields (duedate, releaseDate). */
export const isoDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** Jira Agile dates: `2026-05-04T13:07:22.123Z`. */
export const agileDateTime = (ms: number): string => new Date(ms).toISOString();

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Jira's `userReleaseDate` display form, e.g. `6/Jul/2026`. */
export function jiraUserDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCDate()}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
}

/** UTC ms of a date-only string's midnight. */
export const dateToMs = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** `now` minus whole calendar months, in UTC. */
export function monthsBefore(now: number, months: number): number {
  const d = new Date(now);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d.getTime();
}

/**
 * Office hours in a team's own time zone (a fixed UTC offset; daylight saving is not modelled). People
 * open pull requests, review and move tickets in office hours; incidents and deploy pipelines ignore them.
 */
export class OfficeHours {
  constructor(
    readonly utcOffsetHours: number,
    readonly startHour = 9,
    readonly endHour = 18,
  ) {}

  private local(ms: number): Date {
    return new Date(ms + this.utcOffsetHours * HOUR);
  }

  /** UTC ms of the local midnight of the day containing `ms`. */
  dayStart(ms: number): number {
    const shifted = ms + this.utcOffsetHours * HOUR;
    return shifted - (((shifted % DAY) + DAY) % DAY) - this.utcOffsetHours * HOUR;
  }

  isWorkday(ms: number): boolean {
    const day = this.local(ms).getUTCDay();
    return day !== 0 && day !== 6;
  }

  isOpen(ms: number): boolean {
    const hour = this.local(ms).getUTCHours();
    return this.isWorkday(ms) && hour >= this.startHour && hour < this.endHour;
  }

  /** `ms` itself when the office is open, otherwise a moment early on the next working morning. */
  next(ms: number, rng: Rng): number {
    if (this.isOpen(ms)) return floorSecond(ms);
    let day = this.dayStart(ms);
    const hour = this.local(ms).getUTCHours();
    if (!this.isWorkday(ms) || hour >= this.endHour) day += DAY;
    while (!this.isWorkday(day + 12 * HOUR)) day += DAY;
    return floorSecond(day + this.startHour * HOUR + rng.int(0, 90) * MINUTE + rng.int(0, 59) * SECOND);
  }

  /** A random moment in office hours on the working day containing `dayStartMs`. */
  during(dayStartMs: number, rng: Rng): number {
    const span = (this.endHour - this.startHour) * HOUR - 30 * MINUTE;
    return floorSecond(dayStartMs + this.startHour * HOUR + 15 * MINUTE + rng.float(0, span));
  }

  /** Local midnights of the working days in [from, to). */
  workdays(from: number, to: number): number[] {
    const days: number[] = [];
    for (let d = this.dayStart(from); d < to; d += DAY) {
      if (d + DAY <= from) continue;
      if (this.isWorkday(d + 12 * HOUR)) days.push(d);
    }
    return days;
  }

  /** Moves `ms` forward by a duration measured in office time (calendar time skips nights/weekends). */
  after(ms: number, duration: number, rng: Rng): number {
    let t = this.next(ms, rng);
    let left = duration;
    for (;;) {
      const close = this.dayStart(t) + this.endHour * HOUR;
      if (t + left <= close) return floorSecond(t + left);
      left -= close - t;
      t = this.next(close, rng);
    }
  }
}
