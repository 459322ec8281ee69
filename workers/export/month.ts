import { today } from '../metrics/job.js';
import type { Day } from '../metrics/engine.js';

/** A calendar month, 'YYYY-MM'. */
export type Month = string;

const MONTH = /^(\d{4})-(\d{2})$/;

/** The month written as YYYY-MM, or undefined when the text is not one (2026-9, 2026-13, 26-09, 2026-09-01). */
export function parseMonth(text: string): Month | undefined {
  const m = MONTH.exec(text);
  if (m === null) return undefined;
  const month = Number(m[2]);
  return Number(m[1]) >= 1970 && month >= 1 && month <= 12 ? text : undefined;
}

/** The first day of a month. */
export const monthStart = (month: Month): Day => `${month}-01`;

/** The month `n` months after `month` (before it for a negative n). */
export function addMonths(month: Month, n: number): Month {
  const d = new Date(`${month}-01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + n);
  return d.toISOString().slice(0, 7);
}

/** The last month that has ended, in the time zone: on 2026-10-01 it is 2026-09. */
export const lastCompleteMonth = (tz: string, now: Date): Month => addMonths(today(tz, now).slice(0, 7), -1);

/** The number of days of a month. */
export function daysInMonth(month: Month): number {
  const d = new Date(`${addMonths(month, 1)}-01T00:00:00Z`);
  d.setUTCDate(0);
  return d.getUTCDate();
}
