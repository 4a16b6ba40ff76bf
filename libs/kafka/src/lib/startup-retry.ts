import type { JsonLogger } from '@tally/telemetry';

/**
 * Errors a broker answers while it (or a new topic) is still coming up, and network errors while it is not
 * reachable yet. At start-up they are waited out, never fatal: a fresh broker loads its group coordinator for
 * a few seconds ("The coordinator is loading and hence can't process requests"), a new topic has no leader
 * for a moment, and in a cluster the broker may start after the service.
 */
const TRANSIENT = new RegExp(
  [
    'coordinator is loading', 'COORDINATOR_LOAD_IN_PROGRESS', 'coordinator is not available', 'COORDINATOR_NOT_AVAILABLE',
    'not the correct coordinator', 'NOT_COORDINATOR', 'leader not available', 'LEADER_NOT_AVAILABLE', 'not the leader',
    'NOT_LEADER', 'does not host this topic-partition', 'UNKNOWN_TOPIC_OR_PARTITION', 'not the controller', 'NOT_CONTROLLER',
    'broker not available', 'BROKER_NOT_AVAILABLE', 'rebalance in progress', 'REBALANCE_IN_PROGRESS', 'request timed out',
    'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'KAFKA_STORAGE_ERROR', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH',
    'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'EPIPE', 'connection timeout', 'Connection error', 'Closed connection',
    'socket hang up', 'topics without leaders',
  ].join('|'),
  'i',
);

/**
 * Errors that waiting will not fix: wrong credentials, a certificate the client refuses, a missing ACL. They
 * stop the service at once with the broker's reason, so a misconfiguration is seen rather than retried forever.
 */
const FATAL = new RegExp(
  [
    'SASL', 'authentication', 'AUTHORIZATION_FAILED', 'not authorized', 'certificate', 'CERT_', 'SELF_SIGNED', 'UNABLE_TO_VERIFY',
    'ERR_TLS', 'ERR_SSL', 'wrong version number', 'handshake', 'UNSUPPORTED_SASL_MECHANISM', 'ILLEGAL_SASL_STATE',
    'POLICY_VIOLATION', 'INVALID_REPLICATION_FACTOR', 'INVALID_CONFIG',
  ].join('|'),
  'i',
);

/** The messages and codes of an error and of every error it wraps (kafkajs `cause`, @platformatic/kafka `errors`). */
function describeChain(error: unknown, depth = 0): string[] {
  if (depth > 8 || error === null || typeof error !== 'object') return error === undefined ? [] : [String(error)];
  const e = error as { name?: unknown; message?: unknown; code?: unknown; type?: unknown; apiId?: unknown; cause?: unknown; errors?: unknown; originalError?: unknown };
  const own = [e.name, e.message, e.code, e.type, e.apiId].filter((v) => typeof v === 'string') as string[];
  const nested = [e.cause, e.originalError, ...(Array.isArray(e.errors) ? e.errors : [])].filter((v) => v !== undefined && v !== error);
  return [...own, ...nested.flatMap((n) => describeChain(n, depth + 1))];
}

/** The distinct messages of an error and of the errors it wraps, innermost reasons included, for one log line. */
export function startupErrorSummary(error: unknown): string {
  const messages = describeChain(error).filter((m, i, all) => m.includes(' ') && all.indexOf(m) === i);
  return messages.join(' <- ') || String(error);
}

/** Whether an error met while starting is worth waiting out (see TRANSIENT and FATAL). Unknown errors are fatal. */
export function isTransientStartupError(error: unknown): boolean {
  const text = describeChain(error).join('\n');
  if (FATAL.test(text)) return false;
  if (TRANSIENT.test(text)) return true;
  // kafkajs marks what it would retry itself; what it gave up on (NumberOfRetriesExceeded) keeps the cause's verdict.
  return (error as { retriable?: unknown })?.retriable === true;
}

export interface StartupRetryOptions {
  logger?: JsonLogger;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this long (default: never; readiness stays down meanwhile and the log says why). */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** The delay before attempt `attempt + 1`: doubling from `initialMs`, capped at `maxMs`, with +-20 % jitter. */
export function startupBackoffMs(attempt: number, initialMs = 250, maxMs = 5_000, random = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + 0.4 * random()));
}

/**
 * Runs a start-up step (connect, create topics, join the group) until it succeeds, waiting out transient
 * broker errors with backoff; a fatal error is thrown at once.
 */
export async function retryAtStartup<T>(step: string, run: () => Promise<T>, options: StartupRetryOptions = {}): Promise<T> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if (!isTransientStartupError(e)) throw e;
      if (options.timeoutMs !== undefined && Date.now() - started >= options.timeoutMs) throw e;
      const delay = startupBackoffMs(attempt, options.initialDelayMs, options.maxDelayMs);
      options.logger?.warn(`${step}: the broker is not ready yet, retrying in ${delay} ms`, { attempt: attempt + 1, error: (e as Error).message });
      await sleep(delay);
    }
  }
}
