import type { FieldError } from '@tally/nest-platform';

export type WindowSize = 'MINUTE' | 'HOUR' | 'DAY';

export interface UsageQuery {
  meter: string;
  subjects: string[];
  /** Inclusive; null: from the first event on (OpenMeter: a query without from/to covers all time). */
  from: Date | null;
  /** Exclusive; null: up to the last event. */
  to: Date | null;
  windowSize: WindowSize | null;
  windowTimeZone: string;
  groupBy: string[];
}

type Params = Record<string, string | string[] | undefined>;

/** What one read may ask for (settings QUERY_MAX_WINDOWS, QUERY_MAX_RANGE_DAYS). */
export interface QueryLimits {
  maxWindows: number;
  maxRangeDays: number;
}
export const DEFAULT_QUERY_LIMITS: QueryLimits = { maxWindows: 10_080, maxRangeDays: 400 };

const WINDOW_MS: Record<WindowSize, number> = { MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 };
const offsetFormats = new Map<string, Intl.DateTimeFormat>();

/** Wall-clock milliseconds of instant `t` in `timeZone` (the clock a window there is aligned to). */
function wallClockMs(t: number, timeZone: string): number {
  let format = offsetFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    if (offsetFormats.size > 500) offsetFormats.clear();
    offsetFormats.set(timeZone, format);
  }
  const p = Object.fromEntries(format.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second)) + (((t % 1000) + 1000) % 1000);
}

/**
 * How many windows of `size` aligned in `timeZone` the range [from, to) touches, counted on the zone's wall
 * clock (as the query aligns them), before any SQL runs. Like OpenMeter, the cap is on the number of windows,
 * so MINUTE windows are fine over a short range and DAY windows over a long one.
 */
export function countWindows(from: Date, to: Date, size: WindowSize, timeZone: string): number {
  const unit = WINDOW_MS[size];
  return Math.floor(wallClockMs(to.getTime() - 1, timeZone) / unit) - Math.floor(wallClockMs(from.getTime(), timeZone) / unit) + 1;
}

/** Refuses a range longer than the limit, at /from. */
export function rangeProblem(from: Date, to: Date, limits: QueryLimits): FieldError | null {
  return to.getTime() - from.getTime() > limits.maxRangeDays * 86_400_000 ? { pointer: '/from', detail: `the range may span at most ${limits.maxRangeDays} days` } : null;
}

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
// The offset is required: without one, Date reads the timestamp in the server's time zone.
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * The window-count limit over [from, to): refused at /windowSize when the range spans more windows than one
 * query may answer. Checked on the request's own range when it has both ends, else on the range the matching
 * events span (the windows that can be answered), so a missing bound never trips it by itself.
 */
export function windowLimitProblem(from: Date, to: Date, size: WindowSize, timeZone: string, limits: QueryLimits): FieldError | null {
  const windows = countWindows(from, to, size, timeZone);
  if (windows <= limits.maxWindows) return null;
  return {
    pointer: '/windowSize',
    detail: `the range spans ${windows} ${size} windows; at most ${limits.maxWindows} per query: shorten the range or use a larger windowSize`,
  };
}

/**
 * Validates the query string of `GET /api/v1/meters/{slug}/query` (OpenMeter's parameter names). A missing
 * from or to leaves that end open, as in OpenMeter: without either the query covers all (retained) time.
 */
export function parseUsageQuery(
  meter: string,
  params: Params,
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): { ok: true; query: UsageQuery } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const time = (name: 'from' | 'to'): Date | null => {
    const raw = params[name];
    if (raw === undefined) return null;
    const d = new Date(String(raw));
    if (Array.isArray(raw) || Number.isNaN(d.getTime()) || !RFC3339.test(String(raw))) {
      errors.push({ pointer: `/${name}`, detail: 'must be an RFC 3339 timestamp' });
    }
    return d;
  };
  const to = time('to');
  const from = time('from');
  if (errors.length === 0 && from && to && from >= to) errors.push({ pointer: '/from', detail: 'must be before to' });
  const windowSizeRaw = params.windowSize;
  let windowSize: WindowSize | null = null;
  if (windowSizeRaw !== undefined) {
    if (windowSizeRaw === 'MINUTE' || windowSizeRaw === 'HOUR' || windowSizeRaw === 'DAY') windowSize = windowSizeRaw;
    else errors.push({ pointer: '/windowSize', detail: 'must be MINUTE, HOUR or DAY' });
  }
  const windowTimeZone = String(params.windowTimeZone ?? 'UTC');
  let validZone = true;
  try {
    new Intl.DateTimeFormat('en', { timeZone: windowTimeZone });
  } catch {
    validZone = false;
    errors.push({ pointer: '/windowTimeZone', detail: 'must be an IANA time zone such as Europe/Berlin' });
  }
  const groupBy = list(params.groupBy);
  for (const g of groupBy) if (!/^[A-Za-z0-9_-]{1,64}$/.test(g)) errors.push({ pointer: '/groupBy', detail: `"${g}" is not a group-by name` });
  const timesValid = !errors.some((e) => e.pointer === '/from' || e.pointer === '/to');
  // An explicit range is bounded (what one read may scan); an open one covers the retained ledger.
  const tooLong = timesValid && from && to ? rangeProblem(from, to, limits) : null;
  if (tooLong) errors.push(tooLong);
  if (timesValid && !tooLong && from && to && windowSize && validZone) {
    const problem = windowLimitProblem(from, to, windowSize, windowTimeZone, limits);
    if (problem) errors.push(problem);
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, query: { meter, subjects: list(params.subject), from, to, windowSize, windowTimeZone, groupBy } };
}

const MINUTE_MS = 60_000;
/** OpenMeter's label for an empty all-time aggregate: its min()/max() over no rows are the epoch. */
const EPOCH = new Date(0);

/**
 * The window a row without windowSize is labelled with (OpenMeter): the request's from and to where given,
 * else the minute windows of the first and last event counted in the row (the start of the first event's
 * minute, the end of the last event's minute).
 */
export function unwindowedLabel(q: Pick<UsageQuery, 'from' | 'to'>, firstEvent: Date | null, lastEvent: Date | null): { windowStart: Date; windowEnd: Date } {
  const floorMinute = (d: Date) => new Date(Math.floor(d.getTime() / MINUTE_MS) * MINUTE_MS);
  const windowStart = q.from ?? (firstEvent ? floorMinute(firstEvent) : EPOCH);
  const windowEnd = q.to ?? (lastEvent ? new Date(floorMinute(lastEvent).getTime() + MINUTE_MS) : new Date(EPOCH.getTime() + MINUTE_MS));
  return { windowStart, windowEnd };
}

/**
 * Which rows an unwindowed, ungrouped COUNT or UNIQUE_COUNT answers with 0 when nothing was counted (OpenMeter:
 * a count over no events is 0, the other aggregations have no value): one per requested subject without a row,
 * or the single total row. Windowed or grouped queries answer only the windows and groups that have events.
 */
export function zeroCountRows(q: Pick<UsageQuery, 'subjects' | 'windowSize' | 'groupBy'>, aggregation: string, answered: Array<string | null>): Array<string | null> {
  if (q.windowSize !== null || q.groupBy.length > 0) return [];
  if (aggregation !== 'COUNT' && aggregation !== 'UNIQUE_COUNT') return [];
  const wanted: Array<string | null> = q.subjects.length > 0 ? [...new Set(q.subjects)] : [null];
  const have = new Set(answered);
  return wanted.filter((s) => !have.has(s));
}

/** One CSV field (RFC 4180 quoting). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * The meter query as CSV, OpenMeter's columns: window_start, window_end, subject (when the query is per subject),
 * one column per group-by key, value. Times are RFC 3339 in UTC.
 */
export function usageCsv(q: Pick<UsageQuery, 'subjects' | 'groupBy'>, rows: Array<{ windowStart: string; windowEnd: string; subject: string | null; groupBy: Record<string, string | null>; value: string }>): string {
  const perSubject = q.subjects.length > 0;
  const header = ['window_start', 'window_end', ...(perSubject ? ['subject'] : []), ...q.groupBy, 'value'];
  const lines = [header.map(csvField).join(',')];
  for (const r of rows) {
    lines.push([r.windowStart, r.windowEnd, ...(perSubject ? [r.subject ?? ''] : []), ...q.groupBy.map((g) => r.groupBy[g] ?? ''), r.value].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
