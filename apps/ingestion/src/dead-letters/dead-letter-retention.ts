const DAY_MS = 86_400_000;

/**
 * The instant before which dead letters are deleted: `retentionDays` whole days of 24 hours before `now`.
 * Plain millisecond arithmetic, so a daylight-saving change never shortens or stretches the window, and a
 * dead letter exactly at the cut-off is kept (rows go only when strictly older). Refuses what would delete too much
 * or nothing sensible: a non-integer or non-positive day count, or an invalid clock.
 */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new RangeError(`retention must be a whole number of days >= 1, got ${retentionDays}`);
  const ms = now.getTime() - retentionDays * DAY_MS;
  if (Number.isNaN(ms)) throw new RangeError('now is not a valid time');
  const cutoff = new Date(ms);
  if (Number.isNaN(cutoff.getTime())) throw new RangeError(`retention of ${retentionDays} days reaches before the earliest representable time`);
  return cutoff;
}
