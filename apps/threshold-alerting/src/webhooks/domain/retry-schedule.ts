/**
 * When a failed delivery is tried again: exponential backoff (base × 2^(n−1) after the n-th failed attempt,
 * capped), with "equal jitter" — half the delay fixed, half random — so endpoints that failed together (an
 * outage) are not all retried in the same instant, yet no retry comes sooner than half its step.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; after the last failed one the delivery is recorded as failed. */
  maxAttempts: number;
  baseMs: number;
  maxMs: number;
}

/** The outcome of one attempt, as the sender saw it. */
export type AttemptOutcome =
  | { kind: 'delivered'; statusCode: number }
  /** `retryable: false` for a target refused by the address policy: trying again cannot change that answer soon. */
  | { kind: 'failed'; retryable: boolean; retryAfterMs?: number };

export type NextStep = { status: 'succeeded' } | { status: 'failed' } | { status: 'pending'; delayMs: number };

/** The pause after the `failedAttempts`-th failed attempt (1-based); `random` in [0, 1). */
export function backoffMs(failedAttempts: number, policy: Pick<RetryPolicy, 'baseMs' | 'maxMs'>, random: () => number): number {
  const exponent = Math.max(0, failedAttempts - 1);
  // 2 ** 1075 is Infinity; the cap keeps every value finite.
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(exponent, 52));
  const half = step / 2;
  return Math.round(half + half * Math.min(Math.max(random(), 0), 1));
}

/** What happens to a delivery after its `attemptsMade`-th attempt (1-based, counting this one). */
export function nextStep(attemptsMade: number, outcome: AttemptOutcome, policy: RetryPolicy, random: () => number): NextStep {
  if (outcome.kind === 'delivered') return { status: 'succeeded' };
  if (!outcome.retryable || attemptsMade >= policy.maxAttempts) return { status: 'failed' };
  const backoff = backoffMs(attemptsMade, policy, random);
  // A receiver that asks for a pause (429/503 Retry-After) gets it, within the cap.
  const delayMs = outcome.retryAfterMs === undefined ? backoff : Math.min(policy.maxMs, Math.max(backoff, outcome.retryAfterMs));
  return { status: 'pending', delayMs };
}

/** A 2xx answer is a delivery; anything else (3xx included: redirects are not followed) is a failure. */
export const isDelivered = (statusCode: number): boolean => statusCode >= 200 && statusCode <= 299;

/** `Retry-After` as milliseconds from `nowMs`: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
