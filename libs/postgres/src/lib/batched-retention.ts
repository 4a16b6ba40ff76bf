const DAY_MS = 86_400_000;

/**
 * The instant before which rows are deleted: `retentionDays` whole days of 24 hours before `now`. Plain
 * millisecond arithmetic, so a daylight-saving change never shortens or stretches the window, and a row exactly
 * at the cut-off is kept (rows go only when strictly older). Refuses what would delete too much or nothing
 * sensible: a non-integer or non-positive day count, or an invalid clock.
 */
export function retentionCutoff(now: Date, retentionDays: number): Date {
  if (!Number.isInteger(retentionDays) || retentionDays < 1) throw new RangeError(`retention must be a whole number of days >= 1, got ${retentionDays}`);
  const ms = now.getTime() - retentionDays * DAY_MS;
  if (Number.isNaN(ms)) throw new RangeError('now is not a valid time');
  const cutoff = new Date(ms);
  if (Number.isNaN(cutoff.getTime())) throw new RangeError(`retention of ${retentionDays} days reaches before the earliest representable time`);
  return cutoff;
}

/** Rows per DELETE: one statement's locks and WAL stay small; a pass loops until a batch comes back short. */
export const RETENTION_DELETE_BATCH = 10_000;

export interface RetentionPass {
  cutoff: string;
  deleted: number;
  batches: number;
}

/**
 * One retention pass: deletes rows older than `retentionDays` before `now`, `batchSize` at a time through
 * `deleteBatch` (each its own statement), until a batch comes back short.
 */
export async function runBatchedRetention(
  now: Date,
  retentionDays: number,
  deleteBatch: (cutoff: Date, limit: number) => Promise<number>,
  batchSize = RETENTION_DELETE_BATCH,
): Promise<RetentionPass> {
  const cutoff = retentionCutoff(now, retentionDays);
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const n = await deleteBatch(cutoff, batchSize);
    deleted += n;
    batches += 1;
    if (n < batchSize) break;
  }
  return { cutoff: cutoff.toISOString(), deleted, batches };
}
