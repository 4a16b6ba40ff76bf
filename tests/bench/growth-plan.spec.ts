import { formatGrowthTable, formatSeedTable, MAX_SEEDED_EVENTS, parseCounts, planCells, SEED_SPAN_SECONDS, seededEventValues, seededRawEvent, seedEventSql, type GrowthCellResult, type GrowthRun } from '../../bench/growth-plan';

const defaults = { customers: [10_000, 100_000, 1_000_000], eventsPerCustomer: [1, 10], sampleEvents: 60_000, runsFirstColumn: 3, runsOtherColumns: 1 };

describe('planCells', () => {
  it('plans the six cells, smallest state first, the 1× column with its own run count', () => {
    const cells = planCells(defaults);
    expect(cells.map((c) => [c.id, c.seededEvents, c.runs])).toEqual([
      ['10000x1', 10_000, 3],
      ['10000x10', 100_000, 1],
      ['100000x1', 100_000, 3],
      ['100000x10', 1_000_000, 1],
      ['1000000x1', 1_000_000, 3],
      ['1000000x10', 10_000_000, 1],
    ]);
    expect(cells.every((c) => c.sampleEvents === 60_000)).toBe(true);
  });

  it('sorts unsorted input, so the first column is the smallest density whatever the order given', () => {
    const cells = planCells({ ...defaults, customers: [1_000, 10], eventsPerCustomer: [5, 2] });
    expect(cells.map((c) => `${c.id}:${c.runs}`)).toEqual(['10x2:3', '10x5:1', '1000x2:3', '1000x5:1']);
  });

  it('keeps only the cells asked for, and names the planned ones when asked for one that is not', () => {
    expect(planCells({ ...defaults, only: ['1000000x10'] }).map((c) => c.id)).toEqual(['1000000x10']);
    expect(planCells({ ...defaults, only: [] })).toHaveLength(6);
    expect(() => planCells({ ...defaults, only: ['1000000x3'] })).toThrow(/unknown cells 1000000x3; planned: 10000x1, /);
  });

  it.each([
    ['zero customers', { customers: [0] }],
    ['negative density', { eventsPerCustomer: [-1] }],
    ['fractional customers', { customers: [1.5] }],
    ['NaN sample', { sampleEvents: Number('x') }],
    ['zero sample', { sampleEvents: 0 }],
    ['zero runs', { runsFirstColumn: 0 }],
    ['fractional runs', { runsOtherColumns: 0.5 }],
    ['no customers', { customers: [] }],
    ['no densities', { eventsPerCustomer: [] }],
    ['unsafe integer', { customers: [2 ** 53] }],
  ])('refuses %s', (_name, patch) => {
    expect(() => planCells({ ...defaults, ...patch })).toThrow();
  });

  it('refuses a cell whose seeded state exceeds the maximum, and accepts one at it', () => {
    expect(() => planCells({ ...defaults, customers: [MAX_SEEDED_EVENTS / 10 + 1], eventsPerCustomer: [10] })).toThrow(/more than/);
    expect(planCells({ ...defaults, customers: [MAX_SEEDED_EVENTS / 10], eventsPerCustomer: [10] })[0].seededEvents).toBe(MAX_SEEDED_EVENTS);
  });
});

describe('parseCounts', () => {
  it('reads a comma-separated list with digit separators and spaces', () => {
    expect(parseCounts('10000, 100_000,1_000_000', 'x')).toEqual([10_000, 100_000, 1_000_000]);
  });

  it.each(['', '1e3', '-5', '0', '1,1', 'abc', '1,,2', '_1', '0x10', '1.5', '10k'])('refuses %j', (text) => {
    expect(() => parseCounts(text, 'BENCH_GROWTH_CUSTOMERS')).toThrow(/BENCH_GROWTH_CUSTOMERS/);
  });
});

describe('seeded events', () => {
  const anchor = 1_764_547_200; // 2025-12-01T00:00:00Z: the span crosses a month boundary

  it('lie in the span before the anchor, one user per event of a customer, ids of the sample form', () => {
    const times = new Set<number>();
    for (const c of [0, 1, 9_999, 999_999]) {
      const users = new Set<string>();
      for (let k = 0; k < 10; k++) {
        const v = seededEventValues(c, k, anchor);
        expect(v.time).toBeLessThan(anchor);
        expect(v.time).toBeGreaterThanOrEqual(anchor - SEED_SPAN_SECONDS);
        expect(v.calls).toBeGreaterThanOrEqual(1);
        expect(v.calls).toBeLessThanOrEqual(10);
        expect(v.id).toBe(`e${c}-${k}`);
        expect(v.subject).toBe(`customer-${c}`);
        expect(v.user).not.toMatch(/^user-/);
        users.add(v.user);
        times.add(v.time);
      }
      expect(users.size).toBe(10);
    }
    // Spread over the span, not piled on one instant.
    expect(times.size).toBeGreaterThan(30);
  });

  it('resend exactly what was seeded: a CloudEvent of the same id, time and data', () => {
    const v = seededEventValues(123, 4, anchor);
    expect(seededRawEvent(123, 4, anchor)).toEqual({ specversion: '1.0', id: 'e123-4', source: 'bench', type: 'api.call', subject: 'customer-123', time: new Date(v.time * 1000).toISOString(), data: { calls: v.calls, user: v.user } });
  });

  it('refuses an anchor that is not whole seconds (SQL and TypeScript would round differently)', () => {
    expect(() => seedEventSql(1.5)).toThrow(/whole seconds/);
    expect(() => seedEventSql(Number.NaN)).toThrow(/whole seconds/);
    expect(seedEventSql(anchor).time).toContain(String(anchor));
  });
});

describe('report tables', () => {
  const run = (throughput: number, pipeline: number, exact = true): GrowthRun => ({
    seedSeconds: 10,
    seedSteps: {},
    seededRows: { 'aggregation.event_ids': 1_000_000 },
    sampleEvents: 60_000,
    sent: 61_000,
    seconds: 60_000 / throughput,
    throughputEventsPerSecond: throughput,
    cpuPerEventMicros: { ingestion: 70, aggregation: 100, 'threshold-alerting': 40, broker: 30, postgres: 80, pipeline, generator: 30 },
    processes: {},
    aggregatesPerEvent: 4.5,
    exact,
    mismatches: [],
    seededResends: 300,
  });
  const cell = (id: string, customers: number, eventsPerCustomer: number) => ({ id, customers, eventsPerCustomer, seededEvents: customers * eventsPerCustomer, sampleEvents: 60_000, runs: 3 });

  it('shows medians with each run in brackets, one run plainly, and marks a cell not exact or not run', () => {
    const results: GrowthCellResult[] = [
      { cell: cell('10000x1', 10_000, 1), runs: [run(3_000, 400), run(1_000, 500), run(2_000, 300)] },
      { cell: cell('10000x10', 10_000, 10), runs: [run(1_500, 450, false)] },
      { cell: cell('1000000x10', 1_000_000, 10), runs: [] },
    ];
    const lines = formatGrowthTable(results);
    expect(lines).toHaveLength(5);
    expect(lines[2]).toBe('| 10,000 | 1× | 10,000 | 60,000 | 3 | 2,000 (3,000 · 1,000 · 2,000) | 400 (400 · 500 · 300) | 70 / 100 / 40 / 30 / 80 | 30 | 4.5 | yes |');
    expect(lines[3]).toBe('| 10,000 | 10× | 100,000 | 60,000 | 1 | 1,500 | 450 | 70 / 100 / 40 / 30 / 80 | 30 | 4.5 | NO |');
    expect(lines[4]).toContain('| 1,000,000 | 10× | 10,000,000 | 60,000 | 0 | - | - |');
    expect(lines[4]).toMatch(/not run \|$/);
  });

  it('lists the seeding per cell', () => {
    const lines = formatSeedTable([{ cell: cell('10000x1', 10_000, 1), runs: [run(1, 1), { ...run(1, 1), seedSeconds: 12 }] }], ['aggregation.event_ids']);
    expect(lines).toEqual(['| cell | seeding s | aggregation.event_ids |', '|---|---|---|', '| 10000x1 | 11 | 1,000,000 |']);
  });
});
