/** When a billing job tries an item again after it failed: exponential, capped, never given up on. */
export interface JobRetryPolicy {
  /** Wait after the first failure. */
  baseMs: number;
  /** The longest wait between two attempts. */
  maxMs: number;
}

/**
 * base × 2^(attempts − 1), at most max: 1 min, 2, 4, ... then every hour by default. An item is never
 * dropped: a period must be invoiced in the end, so it stays listed and retried until it goes through.
 */
export function retryDelayMs(attempts: number, policy: JobRetryPolicy): number {
  const doublings = Math.min(Math.max(attempts, 1) - 1, 52);
  return Math.min(policy.maxMs, policy.baseMs * 2 ** doublings);
}

/** How much of an error is kept: its name and message, one line, bounded (a stack or SQL dump is for the log). */
export function describeJobError(error: unknown, maxLength = 2000): string {
  const text = error instanceof Error ? `${error.name === 'Error' ? '' : `${error.name}: `}${error.message}` : `non-error thrown: ${String(error)}`;
  const oneLine = text.replace(/\s+/g, ' ').trim() || 'unknown error';
  return oneLine.length > maxLength ? `${oneLine.slice(0, maxLength - 1)}…` : oneLine;
}
