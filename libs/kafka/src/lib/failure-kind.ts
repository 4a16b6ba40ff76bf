/**
 * Why a batch (or a publish) failed decides what happens next:
 * - `transient`: the world is in the way (Postgres or the broker unreachable, restarting, overloaded, a
 *   serialization conflict). The same work will succeed later, so it is retried without limit and never
 *   dead-lettered: a Postgres restart must not send good events to the DLQ.
 * - `deterministic`: the input itself is refused (a value Postgres rejects, a handler bug on this message, a
 *   record the broker will never take). Retried a bounded number of times, then isolated.
 * Anything unrecognised counts as deterministic: the bounded retries absorb a flake, and isolation
 * dead-letters only the message that keeps failing while its neighbours go through.
 */
export type FailureKind = 'transient' | 'deterministic';

/** Postgres SQLSTATE classes and codes that say "try again later", not "this input is bad". */
const TRANSIENT_SQLSTATE_CLASSES = new Set(['08', '53', '57', '58', 'XX']);
const TRANSIENT_SQLSTATES = new Set(['40001', '40P01', '55P03', '55006']);
/** 57014 (query_canceled) is a statement timeout: deterministic when one input makes the query too slow. */
const DETERMINISTIC_SQLSTATES = new Set(['57014']);

const TRANSIENT_NODE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

const TRANSIENT_MESSAGES = [
  /connection terminated/i,
  /connection (is )?(closed|ended)/i,
  /timeout exceeded when trying to connect/i,
  /Client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
  /terminating connection/i,
  /Query read timeout/i,
];

/**
 * Broker errors that concern one record, not the broker's health: the same record fails the same way every
 * time, so a publisher parks it instead of retrying it forever.
 */
const PERMANENT_RECORD_ERRORS = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_RECORD',
  'CORRUPT_MESSAGE',
  'INVALID_TOPIC_EXCEPTION',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
]);

interface ErrorLike {
  name?: string;
  code?: unknown;
  type?: unknown;
  apiId?: unknown;
  retriable?: unknown;
  canRetry?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
  original?: unknown;
  driverError?: unknown;
}

/** The error and every error it wraps (cause, aggregate members, kafkajs/TypeORM wrappers). */
function* chain(e: unknown, depth = 0): Generator<ErrorLike> {
  if (!e || typeof e !== 'object' || depth > 8) return;
  const err = e as ErrorLike;
  yield err;
  for (const inner of [err.cause, err.original, err.driverError]) yield* chain(inner, depth + 1);
  if (Array.isArray(err.errors)) for (const inner of err.errors) yield* chain(inner, depth + 1);
}

function isTransientOne(e: ErrorLike): boolean {
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    if (DETERMINISTIC_SQLSTATES.has(code)) return false;
    if (TRANSIENT_SQLSTATES.has(code) || TRANSIENT_SQLSTATE_CLASSES.has(code.slice(0, 2))) return true;
  }
  if (code && TRANSIENT_NODE_CODES.has(code)) return true;
  // kafkajs: connection and timeout errors, and protocol errors the broker marks retriable (leader moved...).
  if (e.name === 'KafkaJSConnectionError' || e.name === 'KafkaJSRequestTimeoutError' || e.name === 'KafkaJSConnectionClosedError') return true;
  if (typeof e.name === 'string' && e.name.startsWith('KafkaJS') && e.retriable === true && !isPermanentRecordOne(e)) return true;
  // @platformatic/kafka: network errors and retriable protocol errors.
  if (code === 'PLT_KFK_NETWORK' || code === 'PLT_KFK_TIMEOUT') return true;
  if (code === 'PLT_KFK_PROTOCOL' && e.canRetry === true) return true;
  const message = typeof e.message === 'string' ? e.message : '';
  return TRANSIENT_MESSAGES.some((pattern) => pattern.test(message));
}

function isPermanentRecordOne(e: ErrorLike): boolean {
  for (const field of [e.type, e.apiId]) if (typeof field === 'string' && PERMANENT_RECORD_ERRORS.has(field)) return true;
  return false;
}

export function failureKind(e: unknown): FailureKind {
  for (const err of chain(e)) {
    if (isPermanentRecordOne(err)) return 'deterministic';
  }
  for (const err of chain(e)) {
    if (isTransientOne(err)) return 'transient';
  }
  return 'deterministic';
}

/** True when the broker refused this record for what it is (too large, invalid), not for its own state. */
export function isPermanentRecordFailure(e: unknown): boolean {
  for (const err of chain(e)) if (isPermanentRecordOne(err)) return true;
  return false;
}

/** A short, bounded description of an error for a dead letter or a parked row (SQLSTATE / broker code kept). */
export function describeFailure(e: unknown, max = 1000): string {
  const parts: string[] = [];
  for (const err of chain(e)) {
    const message = typeof err.message === 'string' ? err.message : String(err);
    const code = typeof err.code === 'string' ? err.code : typeof err.type === 'string' ? err.type : typeof err.apiId === 'string' ? err.apiId : undefined;
    const part = code && !message.includes(code) ? `${message} (${code})` : message;
    if (!parts.includes(part)) parts.push(part);
  }
  const text = parts.join(': ') || String(e);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
