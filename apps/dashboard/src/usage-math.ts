// Pure helpers behind the views (no DOM, no fetch): tested beside this file.

/** A decimal string as a number for drawing only; amounts shown to people keep the API's decimal text. */
export const num = (v: string | number | null | undefined): number => {
  const n = typeof v === 'number' ? v : Number(v ?? NaN);
  return Number.isFinite(n) ? n : 0;
};

export interface MeterProgress {
  /** Usage as a share of included, in percent (may exceed 100). */
  percent: number;
  /** For the bar's width: 0-100. */
  barPercent: number;
  /** Threshold percentages, ascending, with whether usage has reached each. */
  thresholds: Array<{ percent: number; crossed: boolean }>;
  over: boolean;
}

/** Usage against included with the plan's thresholds (percent of included); null when nothing is included. */
export function meterProgress(usage: string | number, included: string | number | null, thresholds: Array<number | string>): MeterProgress | null {
  const inc = num(included);
  if (included === null || inc <= 0) return null;
  const percent = (num(usage) / inc) * 100;
  const sorted = [...new Set(thresholds.map(num).filter((t) => t > 0))].sort((a, b) => a - b);
  return {
    percent,
    barPercent: Math.max(0, Math.min(100, percent)),
    // Compared with a tolerance so 75 of 100 is "crossed" at exactly 75 % despite binary floating point.
    thresholds: sorted.map((t) => ({ percent: t, crossed: percent + 1e-9 >= t })),
    over: percent > 100 + 1e-9,
  };
}

const DAY_MS = 86_400_000;

/**
 * One value per UTC day from `from` up to `to` (exclusive), zero where the query had no window: the chart shows
 * quiet days rather than skipping them.
 */
export function dailySeries(rows: Array<{ windowStart: string; value: string | number }>, from: string, to: string, maxDays = 62): Array<{ day: string; value: number }> {
  const start = Math.floor(Date.parse(from) / DAY_MS) * DAY_MS;
  const end = Date.parse(to);
  if (!Number.isFinite(start) || !Number.isFinite(end) || end <= start) return [];
  const byDay = new Map<string, number>();
  for (const r of rows) {
    const day = new Date(Math.floor(Date.parse(r.windowStart) / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
    byDay.set(day, (byDay.get(day) ?? 0) + num(r.value));
  }
  const out: Array<{ day: string; value: number }> = [];
  for (let t = start; t < end && out.length < maxDays; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    out.push({ day, value: byDay.get(day) ?? 0 });
  }
  return out;
}

/** A rounded axis maximum (1, 2, 5 × 10^n) at or above `max`, so gridlines land on readable numbers. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(max));
  for (const step of [1, 2, 5, 10]) if (step * power >= max) return step * power;
  return 10 * power;
}

export function formatMoney(amount: string | number | null | undefined, currency: string | null | undefined): string {
  if (amount === null || amount === undefined || amount === '') return '—';
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency || 'EUR' }).format(num(amount));
  } catch {
    return `${amount} ${currency ?? ''}`.trim();
  }
}

export function formatQuantity(v: string | number | null | undefined, maximumFractionDigits = 4): string {
  if (v === null || v === undefined || v === '') return '—';
  return new Intl.NumberFormat('en', { maximumFractionDigits }).format(num(v));
}

export const formatPercent = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${v.toFixed(digits)} %`);

/**
 * Background and text colour of a retention cell: a light-to-dark blue ramp with dark text on the light half
 * (lightness 96-55 %) and white text on the dark half (48-30 %). Lightness 49-54 % is skipped: there neither text
 * colour reaches 4.5:1 (WCAG AA) on this blue.
 */
export function heatCell(percent: number | null): { background: string; color: string } {
  if (percent === null || !Number.isFinite(percent)) return { background: '#f1f3f5', color: '#343a40' };
  const p = Math.max(0, Math.min(100, percent)) / 100;
  if (p < 0.5) return { background: `hsl(212 80% ${Math.round(96 - p * 2 * 41)}%)`, color: '#0b1f33' };
  return { background: `hsl(212 80% ${Math.round(48 - (p - 0.5) * 2 * 18)}%)`, color: '#ffffff' };
}

/** Polyline points of a score history (oldest left), in a width × height box with scores 0-100. */
export function sparkline(scores: number[], width: number, height: number): string {
  if (scores.length === 0) return '';
  if (scores.length === 1) return `0,${(height - (scores[0] / 100) * height).toFixed(1)} ${width},${(height - (scores[0] / 100) * height).toFixed(1)}`;
  return scores.map((s, i) => `${((i / (scores.length - 1)) * width).toFixed(1)},${(height - (Math.max(0, Math.min(100, s)) / 100) * height).toFixed(1)}`).join(' ');
}

/** Trend of a score history given newest first: the change from the oldest to the newest shown. */
export function scoreTrend(historyNewestFirst: number[], points = 10): { scores: number[]; delta: number | null } {
  const scores = historyNewestFirst.slice(0, points).reverse();
  return { scores, delta: scores.length >= 2 ? scores[scores.length - 1] - scores[0] : null };
}

/** Hash-route parsing: `#/customers/c%201?x` → ['customers', 'c 1'] and the query. */
export function parseRoute(hash: string): { parts: string[]; query: URLSearchParams } {
  const h = hash.replace(/^#/, '');
  const [path, q = ''] = h.split('?', 2);
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  return { parts, query: new URLSearchParams(q) };
}
