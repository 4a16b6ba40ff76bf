import type { FieldError } from '@tally/nest-platform';

export type WindowSize = 'MINUTE' | 'HOUR' | 'DAY';

export interface UsageQuery {
  meter: string;
  subjects: string[];
  from: Date;
  to: Date;
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
const DEFAULT_RANGE_MS = 31 * 86_400_000;
// The offset is required: without one, Date reads the timestamp in the server's time zone.
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Validates the query string of `GET /api/v1/meters/{slug}/query` (OpenMeter's parameter names). */
export function parseUsageQuery(
  meter: string,
  params: Params,
  now = new Date(),
  limits: QueryLimits = DEFAULT_QUERY_LIMITS,
): { ok: true; query: UsageQuery } | { ok: false; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const time = (name: 'from' | 'to', fallback: Date): Date => {
    const raw = params[name];
    if (raw === undefined) return fallback;
    const d = new Date(String(raw));
    if (Array.isArray(raw) || Number.isNaN(d.getTime()) || !RFC3339.test(String(raw))) {
      errors.push({ pointer: `/${name}`, detail: 'must be an RFC 3339 timestamp' });
    }
    return d;
  };
  const to = time('to', now);
  const from = time('from', new Date(to.getTime() - DEFAULT_RANGE_MS));
  if (errors.length === 0 && from >= to) errors.push({ pointer: '/from', detail: 'must be before to' });
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
  const tooLong = timesValid ? rangeProblem(from, to, limits) : null;
  if (tooLong) errors.push(tooLong);
  if (timesValid && !tooLong && windowSize && validZone) {
    const windows = countWindows(from, to, windowSize, windowTimeZone);
    if (windows > limits.maxWindows) {
      errors.push({
        pointer: '/windowSize',
        detail: `the range spans ${windows} ${windowSize} windows; at most ${limits.maxWindows} per query: shorten the range or use a larger windowSize`,
      });
    }
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, query: { meter, subjects: list(params.subject), from, to, windowSize, windowTimeZone, groupBy } };
}
