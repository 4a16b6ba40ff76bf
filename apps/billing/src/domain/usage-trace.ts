/**
 * Which traces a period's close continues. Billing closes periods from a timer, so nothing links the invoice
 * to the usage it bills unless billing keeps it: each period usage row keeps the W3C trace contexts of the last
 * few aggregate messages that set it (newest first, with when each was applied); the close then runs in a span
 * that links to every kept context and is a child of the newest one, so the invoice's events (through the
 * outbox) carry that trace. A few per row, not one: a later aggregate that changes nothing an event put there
 * (a re-emission when the period's bounds move, e.g. on a cancel) must not hide the trace of the usage itself.
 */

/** W3C trace context as message headers: `traceparent` and, when the producer set one, `tracestate`. */
export interface UsageTrace {
  traceparent: string;
  tracestate?: string;
}

/** A kept context and when its aggregate was applied (ISO 8601). */
export interface TimedUsageTrace extends UsageTrace {
  at: string;
}

/** Contexts kept per period usage row. */
export const TRACES_PER_USAGE_ROW = 8;

/**
 * OpenTelemetry's default span link limit is 128; this cap keeps the close's links under it for a customer with
 * usage on many meters (each row keeps up to TRACES_PER_USAGE_ROW).
 */
export const MAX_CLOSE_LINKS = 100;

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace context to keep from a message's headers; null without a well-formed `traceparent` (an all-zero
 * trace or span id is invalid in W3C and links to nothing). `tracestate` only beside a traceparent.
 */
export function usageTraceOf(headers: Readonly<Record<string, unknown>> | undefined): UsageTrace | null {
  const raw = headers?.['traceparent'];
  const traceparent = typeof raw === 'string' ? raw.trim().toLowerCase() : '';
  if (!TRACEPARENT.test(traceparent)) return null;
  const [, traceId, spanId] = traceparent.split('-');
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  const tracestate = headers?.['tracestate'];
  return typeof tracestate === 'string' && tracestate !== '' ? { traceparent, tracestate } : { traceparent };
}

/** A kept entry as read back from the database: anything not a well-formed timed context is dropped. */
function timedTraceOf(entry: unknown): TimedUsageTrace | null {
  if (typeof entry !== 'object' || entry === null) return null;
  const e = entry as Record<string, unknown>;
  const trace = usageTraceOf(e);
  const at = typeof e['at'] === 'string' && Number.isFinite(Date.parse(e['at'])) ? e['at'] : null;
  return trace && at ? { ...trace, at } : null;
}

const newestFirst = (a: TimedUsageTrace, b: TimedUsageTrace) => Date.parse(b.at) - Date.parse(a.at);

/**
 * A row's kept contexts after an aggregate carrying `incoming` was applied to it: the incoming one first, then
 * the held ones, newest first, each traceparent once, at most TRACES_PER_USAGE_ROW. `held` is what the row holds
 * (null before the first; a malformed entry is dropped rather than breaking the consumer).
 */
export function keptUsageTraces(held: unknown, incoming: TimedUsageTrace, limit = TRACES_PER_USAGE_ROW): TimedUsageTrace[] {
  const older = (Array.isArray(held) ? held : []).map(timedTraceOf).filter((t): t is TimedUsageTrace => t !== null).sort(newestFirst);
  const kept: TimedUsageTrace[] = [];
  const seen = new Set<string>();
  for (const t of [incoming, ...older]) {
    if (seen.has(t.traceparent)) continue;
    seen.add(t.traceparent);
    kept.push(t);
    if (kept.length === limit) break;
  }
  return kept;
}

/**
 * The close's parent (the newest kept context of the period's usage: what last changed it) and its links (every
 * distinct kept context, newest first, at most MAX_CLOSE_LINKS, the parent included). Ties in time go by meter,
 * then traceparent, so the choice is the same on every run and instance. No parent when nothing was kept.
 */
export function closeTrace(rows: ReadonlyArray<{ meter: string; traces: unknown }>): { parent: UsageTrace | null; links: UsageTrace[] } {
  const all = rows
    .flatMap((r) => (Array.isArray(r.traces) ? r.traces : []).map((t) => ({ meter: r.meter, trace: timedTraceOf(t) })))
    .filter((x): x is { meter: string; trace: TimedUsageTrace } => x.trace !== null)
    .sort((a, b) => newestFirst(a.trace, b.trace) || compare(a.meter, b.meter) || compare(a.trace.traceparent, b.trace.traceparent));
  const links: UsageTrace[] = [];
  const seen = new Set<string>();
  for (const { trace } of all) {
    if (seen.has(trace.traceparent)) continue;
    seen.add(trace.traceparent);
    links.push(trace.tracestate ? { traceparent: trace.traceparent, tracestate: trace.tracestate } : { traceparent: trace.traceparent });
    if (links.length === MAX_CLOSE_LINKS) break;
  }
  return { parent: links[0] ?? null, links };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
