// `npm run bench:growth`: how throughput and CPU per event grow with the state the pipeline works against —
// customers (10k, 100k, 1M) × events per customer (1×, 10×). Each run of a cell starts the services on a
// fresh run id (own schemas and topics, as `npm run bench`), seeds the state that workload implies with
// set-based SQL (bench/growth-seed.ts), proves with aggregation's own claim statement that a seeded id is a
// duplicate, then measures a fixed sample of events spread evenly over all the cell's customers, end to end
// with exact totals. Writes bench/results/growth-<date>.{json,md} after every cell.
//   BENCH_GROWTH_CUSTOMERS (10000,100000,1000000)  BENCH_GROWTH_DENSITIES (1,10)  BENCH_GROWTH_SAMPLE (60000)
//   BENCH_GROWTH_RUNS_1X (3: runs of the 1× column)  BENCH_GROWTH_RUNS (1: runs of the other cells)
//   BENCH_GROWTH_CELLS (e.g. 1000000x10: only these)  BENCH_OUT  BENCH_SKIP_SETUP  KAFKA_BROKERS / DATABASE_URL
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import type { Client } from 'pg';
import { TOPICS } from '@tally/contracts';
import { generateEvents, type ExpectedTotals, type RawEvent } from './load-generator';
import { ProcessMonitor } from './process-stats';
import { CPU_COLUMNS, DATABASE_URL, PIPELINE_PROCESSES, ROOT, count, cpuPerEvent, dropRun, openBenchInfra, pipelinePids, postgresBackends, produceAll, say, startPipeline, stopPipeline } from './pipeline';
import { formatGrowthTable, formatSeedTable, parseCounts, planCells, seededRawEvent, SEED_SPAN_SECONDS, type GrowthCell, type GrowthCellResult, type GrowthRun } from './growth-plan';
import { checkSeededDuplicates, seedCell, SEEDED_TABLES, snapshotPeriods, verifySample } from './growth-seed';

const env = process.env;
const CELLS = planCells({
  customers: parseCounts(env.BENCH_GROWTH_CUSTOMERS ?? '10000,100000,1000000', 'BENCH_GROWTH_CUSTOMERS'),
  eventsPerCustomer: parseCounts(env.BENCH_GROWTH_DENSITIES ?? '1,10', 'BENCH_GROWTH_DENSITIES'),
  sampleEvents: Number(env.BENCH_GROWTH_SAMPLE ?? 60_000),
  runsFirstColumn: Number(env.BENCH_GROWTH_RUNS_1X ?? 3),
  runsOtherColumns: Number(env.BENCH_GROWTH_RUNS ?? 1),
  only: env.BENCH_GROWTH_CELLS ? env.BENCH_GROWTH_CELLS.split(',').map((s) => s.trim()) : undefined,
});
/** Seeded ids resent among the sample, as a producer retrying old events would: they must not count. */
const SEEDED_RESEND_RATE = 0.005;

/**
 * The sample: the load generator's events (1 % resends, 1 % late) with every customer equally likely, ids
 * made unique per run, and now and then a seeded event resent exactly as it was counted.
 */
function* sampleEvents(cell: GrowthCell, run: number, anchorSeconds: number, expected: ExpectedTotals, resent: { n: number }): Generator<RawEvent> {
  let state = (run * 2_654_435_761) >>> 0;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 4_294_967_296;
  };
  const events = generateEvents({ events: cell.sampleEvents, customers: cell.customers, duplicateRate: 0.01, lateRate: 0.01, seed: 7_000 + run, now: new Date(), customerSkew: 0 }, expected);
  for (const e of events) {
    if (random() < SEEDED_RESEND_RATE) {
      resent.n += 1;
      yield seededRawEvent(Math.floor(random() * cell.customers), Math.floor(random() * cell.eventsPerCustomer), anchorSeconds);
    }
    yield { ...e, id: `${e.id}r${run}` };
  }
}

/**
 * Done when ingestion has consumed every raw record sent and aggregation every canonical event ingestion
 * produced (ingestion acknowledges its produce before it stores its offsets). Counting the ids instead, as
 * `npm run bench` does, would scan millions of seeded rows every poll.
 */
async function caughtUp(kafka: Kafka, db: Client, runId: string, sent: number): Promise<boolean> {
  const consumed = (schema: string, topic: string) => count(db, `SELECT coalesce(sum(next_offset), 0) AS n FROM "${runId}_${schema}".consumer_offsets WHERE topic = '${runId}.${topic}'`);
  if ((await consumed('ingestion', TOPICS.usageEventsRaw)) < sent) return false;
  const admin = kafka.admin();
  await admin.connect();
  try {
    const end = (await admin.fetchTopicOffsets(`${runId}.${TOPICS.usageEvents}`)).reduce((n, p) => n + Number(p.high), 0);
    return (await consumed('aggregation', TOPICS.usageEvents)) >= end;
  } finally {
    await admin.disconnect();
  }
}

/** The current run's clean-up, for an interrupted bench: its services stopped, its schemas and topics dropped. */
let cleanUp: (() => Promise<void>) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the run's services and dropping its schemas and topics`);
    void (cleanUp?.() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

async function oneRun(cell: GrowthCell, run: number, kafka: Kafka, db: Client, pids: Record<string, number>): Promise<GrowthRun> {
  const runId = `growth${Date.now().toString(36)}`;
  say(`${cell.id} run ${run}: starting the services (${runId})`);
  const pipeline = await startPipeline(runId);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  cleanUp = async () => {
    await stopPipeline(pipeline, true);
    await producer.disconnect().catch(() => undefined);
    await dropRun(db, kafka, runId, ['ingestion', 'aggregation', 'threshold_alerting', 'growth']);
  };
  try {
    // Seeded events end an hour before the sample starts and span the SEED_SPAN_SECONDS before that: the
    // sample's events (the last hour, 1 % one to three days late) land in seeded customers' windows.
    const anchorSeconds = Math.floor(Date.now() / 1000) - 3600;
    say(`${cell.id} run ${run}: seeding ${cell.customers} customers × ${cell.eventsPerCustomer} events over ${SEED_SPAN_SECONDS / 86_400} days`);
    const seed = await seedCell(db, runId, cell, anchorSeconds);
    say(`${cell.id} run ${run}: seeded in ${seed.seconds.toFixed(1)} s (${Object.entries(seed.steps).map(([k, v]) => `${k} ${v} s`).join(', ')}): ${Object.entries(seed.rows).map(([t, n]) => `${t} ${n}`).join(', ')}`);
    const check = await checkSeededDuplicates(DATABASE_URL, runId, cell, anchorSeconds);
    if (check.claimed !== 0 || check.conflicts !== 0 || !check.freshClaimed) throw new Error(`seeded state not taken by aggregation's claim statement: ${JSON.stringify(check)}`);
    await snapshotPeriods(db, runId);
    await producer.connect();
    const expected: ExpectedTotals = { byCustomerMonth: new Map(), unique: 0, sent: 0 };
    const resent = { n: 0 };
    const monitor = new ProcessMonitor({ ...pids, ...pipelinePids(pipeline) }, { postgres: postgresBackends(db, runId) });
    await monitor.start();
    const generatorCpu = process.cpuUsage();
    const started = Date.now();
    const sent = await produceAll(producer, `${runId}.${TOPICS.usageEventsRaw}`, sampleEvents(cell, run, anchorSeconds, expected, resent));
    while (!(await caughtUp(kafka, db, runId, sent))) await new Promise((r) => setTimeout(r, 250));
    const seconds = (Date.now() - started) / 1000;
    const processes = await monitor.stop(seconds);
    const generatorUsed = process.cpuUsage(generatorCpu);
    const cpuPerEventMicros = cpuPerEvent(processes, (generatorUsed.user + generatorUsed.system) / 1e6, seconds, expected.unique);
    const mismatches = await verifySample(db, runId, expected);
    const aggregatesPerEvent = Math.round(((await count(db, `SELECT count(*) AS n FROM "${runId}_aggregation".outbox`)) / expected.unique) * 1000) / 1000;
    const throughput = Math.round(expected.unique / seconds);
    say(`${cell.id} run ${run}: ${expected.unique} events (${sent} sent, ${resent.n} seeded resends) in ${seconds.toFixed(1)} s = ${throughput} events/s; pipeline ${cpuPerEventMicros.pipeline} µs/event; exact: ${mismatches.length === 0}${mismatches.length ? ` (${mismatches.slice(0, 3).join('; ')})` : ''}`);
    await stopPipeline(pipeline);
    return {
      seedSeconds: seed.seconds,
      seedSteps: seed.steps,
      seededRows: seed.rows,
      sampleEvents: expected.unique,
      sent,
      seconds,
      throughputEventsPerSecond: throughput,
      cpuPerEventMicros,
      processes,
      aggregatesPerEvent,
      exact: mismatches.length === 0,
      mismatches: mismatches.slice(0, 20),
      seededResends: resent.n,
    };
  } finally {
    await cleanUp();
    cleanUp = undefined;
  }
}

function report(results: GrowthCellResult[], startedAt: Date, finished: boolean): string {
  const runsOf = (n: number) => CELLS.filter((c) => c.runs === n).map((c) => c.id);
  const minutes = ((Date.now() - startedAt.getTime()) / 60_000).toFixed(1);
  return [
    `# Cost growth ${startedAt.toISOString()}${finished ? '' : ' (partial: still running or stopped early)'}`,
    '',
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')}; broker, Postgres, services and generator on the same machine.`,
    `Each run: the services on fresh schemas and topics, the cell's state seeded (customers × events per customer over ${SEED_SPAN_SECONDS / 86_400} days: dedupe keys, ledger, DAY/PERIOD windows with distinct values, threshold-alerting's DAY usage), then a sample of ${CELLS[0]?.sampleEvents} unique events over all the cell's customers (uniform; +1 % resends, 1 % late, ${SEEDED_RESEND_RATE * 100} % resent seeded events that must not count), measured from the first record produced until aggregation has consumed everything; totals checked exactly against the seeded state.`,
    `Runs per cell: ${[...new Set(CELLS.map((c) => c.runs))].map((n) => `${n} (${runsOf(n).join(', ')})`).join('; ')}; the table shows medians, per-run values in brackets. Whole run: ${minutes} min.`,
    '',
    `CPU per event = user + system CPU of each process during the sample / the sample's unique events; pipeline = ${PIPELINE_PROCESSES.join(' + ')} (postgres: this run's backends); the generator (this process) apart.`,
    '',
    ...formatGrowthTable(results),
    '',
    'Seeding (set-based SQL, indexes built after the load, then VACUUM ANALYZE) per cell, seconds and rows:',
    '',
    ...formatSeedTable(results, SEEDED_TABLES),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const startedAt = new Date();
  say(`cells: ${CELLS.map((c) => `${c.id} ×${c.runs}`).join(', ')}`);
  const infra = await openBenchInfra();
  const results: GrowthCellResult[] = [];
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = env.BENCH_OUT ?? `growth-${startedAt.toISOString().slice(0, 10)}`;
  const write = (finished: boolean) => {
    const md = report(results, startedAt, finished);
    writeFileSync(path.join(dir, `${stamp}.md`), md);
    writeFileSync(
      path.join(dir, `${stamp}.json`),
      `${JSON.stringify({ date: startedAt.toISOString(), finished, minutes: (Date.now() - startedAt.getTime()) / 60_000, machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage: os.loadavg() }, seedSpanSeconds: SEED_SPAN_SECONDS, seededResendRate: SEEDED_RESEND_RATE, cpuColumns: CPU_COLUMNS, cells: results }, null, 2)}\n`,
    );
    return md;
  };
  try {
    for (const cell of CELLS) {
      const result: GrowthCellResult = { cell, runs: [] };
      results.push(result);
      for (let run = 1; run <= cell.runs; run++) {
        result.runs.push(await oneRun(cell, run, infra.kafka, infra.db, infra.pids));
        write(false);
      }
    }
  } finally {
    await infra.close();
  }
  const md = write(true);
  say(`wrote bench/results/${stamp}.json and .md`);
  process.stdout.write(`${md}\n`);
  if (!results.every((r) => r.runs.every((x) => x.exact))) {
    say('a run was not exact: failing');
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
