import { HeraldError } from '../errors.js';

/** A validated date-time as epoch ms; one Date can't represent (a leap second, 23:59:60) is the caller's 400, not a NaN. */
export function parseTime(value: string, field: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new HeraldError('validation_failed', `${field} is not a valid time: give a date-time like 2025-01-31T12:00:00Z`);
  return ms;
}
