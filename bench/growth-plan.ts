// The pure parts of `npm run bench:growth` (bench/run-growth.ts): which cells run how often, the seeded
// events' formula (shared by the SQL that seeds them and the TypeScript that resends some of them), and the
// report. No I/O here: tests/bench/growth-plan.spec.ts covers it.
import { median } from './stats';

export interface GrowthCell {
  /** `<customers>x<events per customer>`, e.g. `100000x10`. */
  id: string;
  customers: number;
  /** Events per customer the seeded state stands for. */
  eventsPerCustomer: number;
  /** customers × eventsPerCustomer: the events already counted when the sample starts. */
  seededEvents: number;
  /** Unique events measured end to end (plus the generator's 1 % resends and the seeded resends). */
  sampleEvents: number;
  /** How many times the cell runs, each on freshly seeded state; the report shows the median. */
  runs: number;
}

export interface GrowthPlanOptions {
  customers: number[];
  eventsPerCustomer: number[];
  sampleEvents: number;
  /** Runs of the cells whose density is the smallest (the 1× column). */
  runsFirstColumn: number;
  /** Runs of the other cells. */
  runsOtherColumns: number;
  /** Only these cell ids, when given (e.g. to repeat one cell). */
  only?: string[];
}

const positiveInteger = (n: number, what: string): number => {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got ${n}`);
  return n;
};

/** A comma-separated list of positive integers (`_` allowed as a digit separator), without repeats. */
export function parseCounts(text: string, what: string): number[] {
  const items = text.split(',').map((s) => s.trim());
  const values = items.map((s) => {
    if (!/^\d[\d_]*$/.test(s)) throw new Error(`${what}: "${s}" is not a positive integer`);
    return positiveInteger(Number(s.replace(/_/g, '')), what);
  });
  if (new Set(values).size !== values.length) throw new Error(`${what}: ${text} repeats a value`);
  return values;
}

/** Seeding is set-based SQL per cell; beyond this the run would no longer fit its time (and the disk). */
export const MAX_SEEDED_EVENTS = 20_000_000;

/**
 * The cells in the order they run: by customers, then events per customer (the largest state last, so a
 * run that is cut short has the small cells). Every cell seeds its own state from nothing.
 */
export function planCells(o: GrowthPlanOptions): GrowthCell[] {
  positiveInteger(o.sampleEvents, 'sample events');
  if (!Number.isSafeInteger(o.runsFirstColumn) || o.runsFirstColumn < 1) throw new Error(`runs of the first column must be a positive integer, got ${o.runsFirstColumn}`);
  if (!Number.isSafeInteger(o.runsOtherColumns) || o.runsOtherColumns < 1) throw new Error(`runs of the other columns must be a positive integer, got ${o.runsOtherColumns}`);
  const customers = [...o.customers].map((n) => positiveInteger(n, 'customers')).sort((a, b) => a - b);
  const densities = [...o.eventsPerCustomer].map((n) => positiveInteger(n, 'events per customer')).sort((a, b) => a - b);
  if (customers.length === 0 || densities.length === 0) throw new Error('at least one customer count and one density');
  const cells: GrowthCell[] = [];
  for (const c of customers) {
    for (const e of densities) {
      const seeded = c * e;
      if (seeded > MAX_SEEDED_EVENTS) throw new Error(`${c} customers × ${e} events = ${seeded} seeded events: more than ${MAX_SEEDED_EVENTS}`);
      cells.push({ id: `${c}x${e}`, customers: c, eventsPerCustomer: e, seededEvents: seeded, sampleEvents: o.sampleEvents, runs: e === densities[0] ? o.runsFirstColumn : o.runsOtherColumns });
    }
  }
  if (!o.only || o.only.length === 0) return cells;
  const unknown = o.only.filter((id) => !cells.some((c) => c.id === id));
  if (unknown.length > 0) throw new Error(`unknown cells ${unknown.join(', ')}; planned: ${cells.map((c) => c.id).join(', ')}`);
  return cells.filter((c) => o.only!.includes(c.id));
}

/**
 * The seeded events: event k (0 ≤ k < events per customer) of customer c (`customer-<c>`, the subjects the
 * load generator uses, so the sample lands on seeded customers). Times are spread over the SEED_SPAN_SECONDS
 * before the anchor by a fixed formula, every value derived from (c, k) so the SQL that seeds them
 * (seedEventSql) and the TypeScript that resends some of them (seededRawEvent) agree: the ids interleave
 * with the sample's `e<n>r<run>` in the text order of ids. Each of a customer's seeded events has its own
 * user (`seed-u<k>`, never one of the sample's `user-<n>`): a window's distinct count is its seeded event
 * count (the seeding counts instead of sorting), and the sample adds exactly its own distinct users.
 */
export const SEED_SPAN_SECONDS = 7 * 86_400;
const TIME_STEP_C = 1_000_003;
const TIME_STEP_K = 7_919;

export interface SeededEventValues {
  id: string;
  subject: string;
  /** Seconds since the epoch. */
  time: number;
  calls: number;
  user: string;
}

export function seededEventValues(c: number, k: number, anchorSeconds: number): SeededEventValues {
  return {
    id: `e${c}-${k}`,
    subject: `customer-${c}`,
    time: anchorSeconds - 1 - ((c * TIME_STEP_C + k * TIME_STEP_K) % SEED_SPAN_SECONDS),
    calls: 1 + ((c * 7 + k * 3) % 10),
    user: `seed-u${k}`,
  };
}

/** The same values as SQL expressions over integer columns `c` and `k`; `anchor` must be an integer. */
export function seedEventSql(anchorSeconds: number): Record<keyof SeededEventValues, string> {
  if (!Number.isSafeInteger(anchorSeconds)) throw new Error(`anchor must be whole seconds, got ${anchorSeconds}`);
  return {
    id: `'e' || c || '-' || k`,
    subject: `'customer-' || c`,
    time: `to_timestamp(${anchorSeconds} - 1 - ((c::bigint * ${TIME_STEP_C} + k::bigint * ${TIME_STEP_K}) % ${SEED_SPAN_SECONDS}))`,
    calls: `(1 + ((c::bigint * 7 + k * 3) % 10))::int`,
    user: `'seed-u' || k`,
  };
}

/** A seeded event as a producer would resend it (the raw CloudEvent the load generator writes). */
export function seededRawEvent(c: number, k: number, anchorSeconds: number) {
  const v = seededEventValues(c, k, anchorSeconds);
  return {
    specversion: '1.0' as const,
    id: v.id,
    source: 'bench',
    type: 'api.call',
    subject: v.subject,
    time: new Date(v.time * 1000).toISOString(),
    data: { calls: v.calls, user: v.user },
  };
}

/** What one run of a cell measured. */
export interface GrowthRun {
  seedSeconds: number;
  /** Seconds per seeding step (loads, index builds, VACUUM ANALYZE). */
  seedSteps: Record<string, number>;
  /** Rows present per table after seeding. */
  seededRows: Record<string, number>;
  /** Unique events of the sample (what the throughput and CPU are per). */
  sampleEvents: number;
  /** Records produced, resends included. */
  sent: number;
  seconds: number;
  throughputEventsPerSecond: number;
  /** µs per sample event, per process; `pipeline` = services + broker + Postgres (not the generator). */
  cpuPerEventMicros: Record<string, number>;
  /** CPU seconds, % of a core and peak RSS per process during the sample. */
  processes: Record<string, { cpuSeconds: number; cpuPercent: number; peakRssMiB: number }>;
  /** Outbox rows (aggregates) aggregation wrote per unique sample event. */
  aggregatesPerEvent: number;
  exact: boolean;
  mismatches: string[];
  /** Seeded ids resent in the sample (must all be dropped as duplicates for `exact`). */
  seededResends: number;
}

export interface GrowthCellResult {
  cell: GrowthCell;
  runs: GrowthRun[];
}

const fmt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const med = (runs: GrowthRun[], pick: (r: GrowthRun) => number | undefined) => median(runs.map(pick).filter((x): x is number => x !== undefined && Number.isFinite(x)));

/** The cost-growth table: one row per cell, medians over its runs (the runs' values listed when more than one). */
export function formatGrowthTable(results: GrowthCellResult[], services = ['ingestion', 'aggregation', 'threshold-alerting', 'broker', 'postgres']): string[] {
  const perRun = (runs: GrowthRun[], pick: (r: GrowthRun) => number) => (runs.length > 1 ? ` (${runs.map((r) => fmt(pick(r))).join(' · ')})` : '');
  return [
    `| customers | events per customer (seeded state) | seeded events | sample events | runs | events/s | pipeline CPU µs per event | ${services.join(' / ')} µs | generator µs | aggregates per event | exact |`,
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(({ cell, runs }) => {
      const cpu = (name: string) => (r: GrowthRun) => r.cpuPerEventMicros[name];
      return [
        fmt(cell.customers),
        `${cell.eventsPerCustomer}×`,
        fmt(cell.seededEvents),
        fmt(cell.sampleEvents),
        String(runs.length),
        `${fmt(med(runs, (r) => r.throughputEventsPerSecond))}${perRun(runs, (r) => r.throughputEventsPerSecond)}`,
        `${fmt(med(runs, cpu('pipeline')))}${perRun(runs, (r) => r.cpuPerEventMicros.pipeline)}`,
        services.map((s) => fmt(med(runs, cpu(s)))).join(' / '),
        fmt(med(runs, cpu('generator'))),
        runs.length ? String(Math.round(med(runs, (r) => r.aggregatesPerEvent) * 100) / 100) : '-',
        runs.length === 0 ? 'not run' : runs.every((r) => r.exact) ? 'yes' : 'NO',
      ].join(' | ').replace(/^/, '| ').concat(' |');
    }),
  ];
}

/** Seconds and rows of the seeding, one line per cell (medians when a cell ran more than once). */
export function formatSeedTable(results: GrowthCellResult[], tables: string[]): string[] {
  return [
    `| cell | seeding s | ${tables.join(' | ')} |`,
    `|---|---|${tables.map(() => '---').join('|')}|`,
    ...results.map(({ cell, runs }) => `| ${cell.id} | ${runs.length ? (Math.round(med(runs, (r) => r.seedSeconds) * 10) / 10).toString() : '-'} | ${tables.map((t) => fmt(med(runs, (r) => r.seededRows[t]))).join(' | ')} |`),
  ];
}
