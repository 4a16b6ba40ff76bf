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

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : v.split(',')).map((s) => s.trim()).filter(Boolean);
const DEFAULT_RANGE_MS = 31 * 86_400_000;
// The offset is required: without one, Date reads the timestamp in the server's time zone.
export const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/** Validates the query string of `GET /api/v1/meters/{slug}/query` (OpenMeter's parameter names). */
export function parseUsageQuery(meter: string, params: Params, now = new Date()): { ok: true; query: UsageQuery } | { ok: false; errors: FieldError[] } {
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
  try {
    new Intl.DateTimeFormat('en', { timeZone: windowTimeZone });
  } catch {
    errors.push({ pointer: '/windowTimeZone', detail: 'must be an IANA time zone such as Europe/Berlin' });
  }
  const groupBy = list(params.groupBy);
  for (const g of groupBy) if (!/^[A-Za-z0-9_-]{1,64}$/.test(g)) errors.push({ pointer: '/groupBy', detail: `"${g}" is not a group-by name` });
  if (windowSize === 'MINUTE' && to.getTime() - from.getTime() > 7 * 86_400_000) {
    errors.push({ pointer: '/windowSize', detail: 'MINUTE windows are limited to ranges of 7 days' });
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, query: { meter, subjects: list(params.subject), from, to, windowSize, windowTimeZone, groupBy } };
}
