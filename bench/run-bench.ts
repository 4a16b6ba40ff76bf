// `npm run bench`: end-to-end throughput and exactness of ingestion -> aggregation on this machine,
// against a naive baseline measured in the same run. Writes bench/results/<date>.{json,md}.
//   BENCH_EVENTS (1000000)  BENCH_CUSTOMERS (10000)  BENCH_RUNS (3)  BENCH_NAIVE_EVENTS (20000)
//   BENCH_LATENCY_SECONDS (20)  BENCH_OUT (results file name; the date)  KAFKA_PRODUCER_CLIENT (kafkajs | platformatic)
//   KAFKA_BROKERS / DATABASE_URL to use existing infrastructure.
//   BENCH_ENTITLEMENT_SECONDS (5; 0 skips): the entitlement check alone, per phase (bench/entitlement-check.ts).
//   BENCH_SINGLE_PROCESS (0 | 1): the services as threads of one process (tools/single-process.js) instead of a process each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Kafka, Producer } from 'kafkajs';
import type { Client } from 'pg';
import { subscriptionKey, TOPICS } from '@tally/contracts';
import { generateEvents, type ExpectedTotals } from './load-generator';
import { ProcessMonitor } from './process-stats';
import { runNaiveBaseline } from './naive-baseline';
import { postJson } from './local-http';
import { median, percentile } from './stats';
import {
  ADMIN, BENCH_METERS, CPU_COLUMNS, PIPELINE_PROCESSES, ROOT, SERVICE_PROCESSES, SERVICES_ROOT, SINGLE_PROCESS, count, cpuPerEvent, dropRun, machineCpuSeconds, openBenchInfra,
  pipelinePids, postgresBackends, produceAll, say, servicesPeakRssMiB, startPipeline, stopPipeline, verify,
} from './pipeline';

const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const EVENTS = num('BENCH_EVENTS', 1_000_000);
const CUSTOMERS = num('BENCH_CUSTOMERS', 10_000);
const RUNS = num('BENCH_RUNS', 3);
const NAIVE_EVENTS = num('BENCH_NAIVE_EVENTS', 20_000);
const LATENCY_SECONDS = num('BENCH_LATENCY_SECONDS', 20);
/** The latency phase's offered load as a fraction of the run's measured maximum (the issue asks for half). */
const LATENCY_LOAD = num('BENCH_LATENCY_LOAD', 0.5);
const HTTP_EVENTS = num('BENCH_HTTP_EVENTS', 200_000);
const ENTITLEMENT_SECONDS = num('BENCH_ENTITLEMENT_SECONDS', 5);

interface RunResult {
  run: number;
  events: number;
  sent: number;
  produceSeconds: number;
  endToEndSeconds: number;
  throughputEventsPerSecond: number;
  /** The same load posted over HTTP in batches of 500 (ingestion produces directly: no outbox hop). */
  http?: { events: number; seconds: number; throughputEventsPerSecond: number; exact: boolean };
  exact: boolean;
  mismatches: string[];
  /** Services, broker, `postgres` (the bench database's client backends) and `generator` (this process). */
  processes: Record<string, { cpuSeconds: number; cpuPercent: number; peakRssMiB: number }>;
  /** CPU time per unique event in µs, per process, `services`, and `pipeline` (services + broker + Postgres; not the generator). */
  cpuPerEventMicros: Record<string, number>;
  /** Busy CPU of the whole machine (all cores, everything running) per unique event in µs. */
  machineCpuPerEventMicros: number;
  /** Peak RSS of the services' processes, summed. */
  servicesPeakRssMiB: number;
  /** Outbox rows aggregation wrote (aggregates, dead letters) per unique event in the throughput phase. */
  aggregatesPerEvent: number;
  latencyMs?: { offeredEventsPerSecond: number; samples: number; p50: number; p95: number; p99: number };
  alertLatencyMs?: { samples: number; p50: number; p95: number; p99: number };
  /** Per hop (ingestion, aggregation, alerting), from broker timestamps of the latency phase. */
  latencyHopsMs?: Record<string, { samples: number; p50: number; p95: number; p99: number }>;
  /** Consumer transactions during the latency phase, per `service topic`. */
  latencyBatches?: Record<string, { batches: number; meanMs: number; meanMessages: number }>;
  entitlementCheckMs?: { requests: number; p50: number; p99: number };
  naiveEventsPerSecond: number;
}


/**
 * The second scenario: the same kind of load POSTed as CloudEvents batches (500 per request, 4 requests in
 * flight) by another tenant. Events a batch would repeat are left out (the API refuses in-batch
 * duplicates); resends across batches stay in and must be counted once.
 */
async function httpScenario(db: Client, ingestionPort: number, schema: string, run: number): Promise<NonNullable<RunResult['http']>> {
  await postJson(ingestionPort, '/api/v1/admin/tenants', ADMIN, { id: 'bench-http', name: 'Bench over HTTP' });
  const { key } = (await postJson(ingestionPort, '/api/v1/admin/tenants/bench-http/api-keys', ADMIN, { name: 'bench' })) as { key: string };
  for (const meter of BENCH_METERS) await postJson(ingestionPort, '/api/v1/meters', key, meter);
  const expected: ExpectedTotals = { byCustomerMonth: new Map(), unique: 0, sent: 0 };
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  let batch: object[] = [];
  let ids = new Set<string>();
  const post = async (events: object[]) => {
    const res = await fetch(`http://127.0.0.1:${ingestionPort}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events),
    });
    if (res.status !== 202) throw new Error(`HTTP batch refused: ${res.status} ${await res.text()}`);
  };
  const flush = async () => {
    const p = post(batch);
    batch = [];
    ids = new Set();
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  for (const e of generateEvents({ events: HTTP_EVENTS, customers: CUSTOMERS, duplicateRate: 0.01, lateRate: 0.01, seed: 4242 + run, now: new Date() }, expected)) {
    if (ids.has(e.id)) continue;
    ids.add(e.id);
    batch.push(e);
    if (batch.length >= 500) await flush();
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  const countSql = `SELECT count(*) AS n FROM "${schema}".event_ids WHERE tenant = 'bench-http'`;
  while ((await count(db, countSql)) < expected.unique) await new Promise((r) => setTimeout(r, 200));
  const seconds = (Date.now() - started) / 1000;
  const mismatches = await verify(db, schema, expected, 'bench-http');
  return { events: expected.unique, seconds, throughputEventsPerSecond: Math.round(expected.unique / seconds), exact: mismatches.length === 0 };
}

const LATENCY_CUSTOMERS = 200;
const LATENCY_INCLUDED = 20;
const percentiles = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99) };
};

/**
 * At a fixed offered load: event->aggregate latency (aggregate's broker timestamp minus the newest
 * contributing event's time), event->alert latency (alert's broker timestamp minus the send time of the
 * event that crossed the threshold) and the latency of entitlement checks made meanwhile.
 */
/**
 * Waits until the throughput phase has fully drained downstream — aggregation's and threshold-alerting's
 * outboxes published and threshold-alerting caught up with the aggregates — so latency is measured in a
 * steady state and not behind a backlog. Returns how long that took.
 */
async function waitIdle(kafka: Kafka, db: Client, runId: string, timeoutMs = 180_000): Promise<number> {
  const started = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  try {
    const aggregatesTopic = `${runId}.${TOPICS.usageAggregates}`;
    for (;;) {
      const pending =
        (await count(db, `SELECT count(*) AS n FROM "${runId}_aggregation".outbox WHERE published_at IS NULL`)) +
        (await count(db, `SELECT count(*) AS n FROM "${runId}_threshold_alerting".outbox WHERE published_at IS NULL`));
      const end = (await admin.fetchTopicOffsets(aggregatesTopic)).reduce((n, p) => n + Number(p.high), 0);
      const consumed = await count(db, `SELECT coalesce(sum(next_offset), 0) AS n FROM "${runId}_threshold_alerting".consumer_offsets WHERE topic = '${aggregatesTopic}'`);
      if (pending === 0 && consumed >= end) return Date.now() - started;
      if (Date.now() - started > timeoutMs) throw new Error(`pipeline not idle after ${timeoutMs} ms: ${pending} unpublished, ${end - consumed} aggregates behind`);
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await admin.disconnect();
  }
}

/** Consumer batch counters per `service topic`, scraped from the services' /metrics. */
async function scrapeBatches(ports: Record<string, number>): Promise<Map<string, { batches: number; seconds: number; messages: number }>> {
  const out = new Map<string, { batches: number; seconds: number; messages: number }>();
  for (const [service, port] of Object.entries(ports)) {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    for (const m of text.matchAll(/^tally_consumer_(batch_seconds_sum|batch_seconds_count|messages_total)\{([^}]*)\} (\S+)$/gm)) {
      const topic = /topic="([^"]*)"/.exec(m[2])?.[1] ?? '?';
      const key = `${service} ${topic}`;
      const cur = out.get(key) ?? { batches: 0, seconds: 0, messages: 0 };
      if (m[1] === 'batch_seconds_sum') cur.seconds += Number(m[3]);
      else if (m[1] === 'batch_seconds_count') cur.batches += Number(m[3]);
      else cur.messages += Number(m[3]);
      out.set(key, cur);
    }
  }
  return out;
}

async function measureLatency(kafka: Kafka, producer: Producer, runId: string, rate: number, alertingPort: number, apiKey: string, metricsPorts: Record<string, number>) {
  // Subscriptions (as billing publishes them) for the latency customers: 20 calls included.
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();
  await producer.send({
    topic: `${runId}.${TOPICS.billingSubscriptions}`,
    acks: -1,
    messages: Array.from({ length: LATENCY_CUSTOMERS }, (_, i) => ({
      key: subscriptionKey('bench', `lat-${i}`, `sub-${i}`),
      value: JSON.stringify({
        eventId: `sub-${i}`, occurredAt: now.toISOString(), tenant: 'bench', customer: `lat-${i}`, subscriptionId: `sub-${i}`, plan: 'bench',
        status: 'active', periodStart, periodEnd, entitlements: [{ meter: 'requests', included: String(LATENCY_INCLUDED), thresholds: [50, 75, 90, 100], hardLimit: true }],
      }),
    })),
  });
  // Latencies come from broker timestamps, so this observer may fetch lazily (big, rare fetches) and keep
  // its own load on the broker small.
  const consumer = kafka.consumer({ groupId: `${runId}-latency`, minBytes: 256 * 1024, maxWaitTimeInMs: 500 });
  const aggregateLatencies: number[] = [];
  const alertLatencies: number[] = [];
  // Where the time goes, hop by hop, from broker timestamps: generator -> usage.events.v1 (ingestion),
  // usage.events.v1 -> usage.aggregates.v1 (aggregation), usage.aggregates.v1 -> alert (threshold-alerting).
  const hops = { ingestion: [] as number[], aggregation: [] as number[], alerting: [] as number[] };
  const validatedAt = new Map<string, number>(); // customer|event time -> usage.events.v1 timestamp
  const aggregatedAt = new Map<string, number>(); // customer|event count -> first DAY aggregate timestamp
  const sentAt = new Map<string, number[]>();
  await consumer.connect();
  await consumer.subscribe({
    topics: [`${runId}.${TOPICS.usageEvents}`, `${runId}.${TOPICS.usageAggregates}`, `${runId}.${TOPICS.alertsUsageThreshold}`],
    fromBeginning: false,
  });
  const since = Date.now() + 2000;
  await consumer.run({
    partitionsConsumedConcurrently: 4,
    eachMessage: async ({ topic, message }) => {
      const value = JSON.parse(message.value!.toString());
      const at = Number(message.timestamp);
      if (topic.endsWith(TOPICS.usageEvents)) {
        if (value.source !== 'bench-latency') return;
        hops.ingestion.push(at - Date.parse(value.time));
        validatedAt.set(`${value.subject}|${value.time}`, at);
      } else if (topic.endsWith(TOPICS.usageAggregates)) {
        const lastEvent = Date.parse(value.lastEventTime);
        if (value.windowKind !== 'DAY' || lastEvent <= since) return;
        aggregateLatencies.push(at - lastEvent);
        const validated = validatedAt.get(`${value.customer}|${value.lastEventTime}`);
        if (validated !== undefined) hops.aggregation.push(at - validated);
        for (let n = value.eventCount; n > 0 && !aggregatedAt.has(`${value.customer}|${n}`); n--) aggregatedAt.set(`${value.customer}|${n}`, at);
      } else {
        // requests is a COUNT meter: the threshold was crossed by the customer's n-th event.
        const n = Math.ceil((LATENCY_INCLUDED * value.thresholdPercent) / 100);
        const sent = sentAt.get(value.customer)?.[n - 1];
        if (sent) alertLatencies.push(at - sent);
        const aggregated = aggregatedAt.get(`${value.customer}|${n}`);
        if (sent && aggregated !== undefined) hops.alerting.push(at - aggregated);
      }
    },
  });
  await new Promise((r) => setTimeout(r, 3000)); // let the group settle and the subscriptions land
  const batchesBefore = await scrapeBatches(metricsPorts);
  const total = Math.round(rate * LATENCY_SECONDS);
  let seq = 0;
  const events = (function* () {
    for (let i = 0; i < total; i++) {
      const customer = `lat-${i % LATENCY_CUSTOMERS}`;
      yield { specversion: '1.0', id: `lat-${i}`, source: 'bench-latency', type: 'api.call', subject: customer, time: '', data: { calls: 1, user: 'u' } };
    }
  })();
  const checks: number[] = [];
  let checking = true;
  const checker = (async () => {
    while (checking) {
      const started = performance.now();
      const res = await fetch(`http://127.0.0.1:${alertingPort}/api/v1/entitlements/lat-${seq++ % LATENCY_CUSTOMERS}/requests`, { headers: { authorization: `Bearer ${apiKey}` } });
      await res.arrayBuffer();
      if (res.status === 200) checks.push(performance.now() - started);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  await produceAll(producer, `${runId}.${TOPICS.usageEventsRaw}`, events, rate, (at, e) => {
    const list = sentAt.get(e.subject) ?? [];
    list.push(at);
    sentAt.set(e.subject, list);
  });
  await new Promise((r) => setTimeout(r, 5000));
  checking = false;
  await checker;
  await consumer.disconnect();
  // What each consumer's transactions looked like during the phase: how many, how big, how long.
  const batches = Object.fromEntries(
    [...(await scrapeBatches(metricsPorts))].flatMap(([key, after]) => {
      const before = batchesBefore.get(key) ?? { batches: 0, seconds: 0, messages: 0 };
      const n = after.batches - before.batches;
      if (n <= 0) return [];
      return [[key, { batches: n, meanMs: Math.round(((after.seconds - before.seconds) / n) * 10000) / 10, meanMessages: Math.round((after.messages - before.messages) / n) }]];
    }),
  );
  const round = (o: { p50: number; p95: number; p99: number }) => ({ p50: Math.round(o.p50 * 10) / 10, p95: Math.round(o.p95 * 10) / 10, p99: Math.round(o.p99 * 10) / 10 });
  return {
    aggregate: { offeredEventsPerSecond: rate, samples: aggregateLatencies.length, ...percentiles(aggregateLatencies) },
    alert: { samples: alertLatencies.length, ...percentiles(alertLatencies) },
    entitlement: { requests: checks.length, ...round(percentiles(checks)) },
    batches,
    hops: Object.fromEntries(Object.entries(hops).map(([hop, xs]) => [hop, { samples: xs.length, ...round(percentiles(xs)) }])),
  };
}

async function oneRun(run: number, kafka: Kafka, db: Client, pids: Record<string, number>): Promise<RunResult> {
  const runId = `bench${Date.now().toString(36)}`;
  say(`run ${run}: starting ingestion and aggregation (${runId})`);
  const pipeline = await startPipeline(runId);
  const { ingestion, aggregation, alerting, key } = pipeline;
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  try {
    await producer.connect();
    const expected: ExpectedTotals = { byCustomerMonth: new Map(), unique: 0, sent: 0 };
    const schema = `${runId}_aggregation`;
    const monitor = new ProcessMonitor(
      { ...pids, ...pipelinePids(pipeline) },
      { postgres: postgresBackends(db, runId) },
    );
    await monitor.start();
    const machineCpu = machineCpuSeconds();
    const generatorCpu = process.cpuUsage();
    const started = Date.now();
    say(`run ${run}: producing ${EVENTS} events (+1 % duplicates, 1 % late) for ${CUSTOMERS} customers`);
    const sent = await produceAll(
      producer,
      `${runId}.${TOPICS.usageEventsRaw}`,
      generateEvents({ events: EVENTS, customers: CUSTOMERS, duplicateRate: 0.01, lateRate: 0.01, seed: 42 + run, now: new Date() }, expected),
    );
    const produced = Date.now();
    while ((await count(db, `SELECT count(*) AS n FROM "${schema}".event_ids`)) < expected.unique) await new Promise((r) => setTimeout(r, 200));
    const done = Date.now();
    const seconds = (done - started) / 1000;
    const machineCpuPerEventMicros = Math.round(((machineCpuSeconds() - machineCpu) * 1e6) / expected.unique);
    const processes: RunResult['processes'] = await monitor.stop(seconds);
    const generatorUsed = process.cpuUsage(generatorCpu);
    const cpuPerEventMicros = cpuPerEvent(processes, (generatorUsed.user + generatorUsed.system) / 1e6, seconds, expected.unique);
    const mismatches = await verify(db, schema, expected);
    // Each aggregate written costs an outbox row, a relay pass, a Kafka record and threshold-alerting's work.
    const aggregatesPerEvent = Math.round((await count(db, `SELECT count(*) AS n FROM "${schema}".outbox`)) / expected.unique * 1000) / 1000;
    const throughput = Math.round(expected.unique / seconds);
    say(`run ${run}: ${expected.unique} events in ${seconds.toFixed(1)} s = ${throughput} events/s end to end; exact: ${mismatches.length === 0}`);
    if (LATENCY_SECONDS > 0) say(`run ${run}: downstream drained ${((await waitIdle(kafka, db, runId)) / 1000).toFixed(1)} s after the last event was committed`);
    const latency = LATENCY_SECONDS > 0 ? await measureLatency(kafka, producer, runId, Math.max(100, Math.round(throughput * LATENCY_LOAD)), alerting.port, key, { aggregation: aggregation.port, 'threshold-alerting': alerting.port }) : undefined;
    const latencyMs = latency?.aggregate;
    if (latency) {
      say(`run ${run}: at ${latency.aggregate.offeredEventsPerSecond} events/s: event->aggregate p50 ${latency.aggregate.p50} / p99 ${latency.aggregate.p99} ms; ` +
        `event->alert p50 ${latency.alert.p50} / p99 ${latency.alert.p99} ms (${latency.alert.samples} alerts); entitlement check p50 ${latency.entitlement.p50} / p99 ${latency.entitlement.p99} ms; ` +
        `hops p50/p99: ${Object.entries(latency.hops).map(([hop, h]) => `${hop} ${h.p50}/${h.p99}`).join(', ')} ms; ` +
        `transactions: ${Object.entries(latency.batches).map(([k, b]) => `${k} ${b.batches} x ${b.meanMessages} msgs, ${b.meanMs} ms`).join('; ')}`);
    }
    const http = HTTP_EVENTS > 0 ? await httpScenario(db, ingestion.port, schema, run) : undefined;
    if (http) say(`run ${run}: HTTP batches: ${http.events} events in ${http.seconds.toFixed(1)} s = ${http.throughputEventsPerSecond} events/s end to end; exact: ${http.exact}`);
    await stopPipeline(pipeline);
    const naive = NAIVE_EVENTS > 0 ? await runNaiveBaseline(kafka, db, `${runId}.${TOPICS.usageEvents}`, `${runId}_naive`, Math.min(NAIVE_EVENTS, expected.unique)) : 0;
    say(`run ${run}: naive baseline (one INSERT and one transaction per event): ${naive} events/s`);
    return {
      run,
      events: expected.unique,
      sent,
      produceSeconds: (produced - started) / 1000,
      endToEndSeconds: seconds,
      throughputEventsPerSecond: throughput,
      exact: mismatches.length === 0 && (http?.exact ?? true),
      http,
      mismatches: mismatches.slice(0, 20),
      processes,
      cpuPerEventMicros,
      machineCpuPerEventMicros,
      servicesPeakRssMiB: servicesPeakRssMiB(processes),
      aggregatesPerEvent,
      latencyMs,
      alertLatencyMs: latency?.alert,
      latencyHopsMs: latency?.hops,
      latencyBatches: latency?.batches,
      entitlementCheckMs: latency?.entitlement,
      naiveEventsPerSecond: naive,
    };
  } finally {
    await stopPipeline(pipeline, true);
    await producer.disconnect().catch(() => undefined);
    await dropRun(db, kafka, runId, ['ingestion', 'aggregation', 'threshold_alerting', 'naive']);
  }
}

/**
 * The entitlement check alone (bench/entitlement-check.ts, in its own process: threshold-alerting in-process
 * on a private prefix and schema): single and batch checks from 4 connections, without and with 500
 * aggregates/s flowing into the same process. Undefined if it fails (reported, the run goes on).
 */
type EntitlementBenchReport = import('./entitlement-check').EntitlementBenchReport;
function entitlementCheckAlone(): { quiet: EntitlementBenchReport; loaded: EntitlementBenchReport } | undefined {
  const one = (extra: string[]): EntitlementBenchReport | undefined => {
    const args = ['-r', './tools/register.js', 'bench/entitlement-check.ts', `--seconds=${ENTITLEMENT_SECONDS}`, '--connections=4', '--customers=2000', '--batch=100', '--compact', ...extra];
    const out = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    if (out.status !== 0) {
      say(`entitlement check bench failed (${out.status}): ${out.stderr.slice(-500)}`);
      return undefined;
    }
    const line = out.stdout.split('\n').reverse().find((l) => l.startsWith('{"node":'));
    return line ? (JSON.parse(line) as EntitlementBenchReport) : undefined;
  };
  const quiet = one([]);
  const loaded = one(['--with-load', '--load-rate=500']);
  return quiet && loaded ? { quiet, loaded } : undefined;
}

async function main(): Promise<void> {
  const infra = await openBenchInfra();
  const { db, kafka, pids } = infra;
  const results: RunResult[] = [];
  let entitlementAlone: ReturnType<typeof entitlementCheckAlone>;
  try {
    for (let run = 1; run <= RUNS; run++) results.push(await oneRun(run, kafka, db, pids));
    if (ENTITLEMENT_SECONDS > 0) entitlementAlone = entitlementCheckAlone();
  } finally {
    await infra.close();
  }
  const throughputs = results.map((r) => r.throughputEventsPerSecond);
  const naive = results.map((r) => r.naiveEventsPerSecond).filter((n) => n > 0);
  const summary = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    config: { servicesRoot: SERVICES_ROOT === ROOT ? undefined : SERVICES_ROOT, events: EVENTS, customers: CUSTOMERS, runs: RUNS, duplicateRate: 0.01, lateRate: 0.01, naiveEvents: NAIVE_EVENTS, latencySeconds: LATENCY_SECONDS, latencyLoad: LATENCY_LOAD, singleProcess: SINGLE_PROCESS, producerClient: env.KAFKA_PRODUCER_CLIENT ?? 'kafkajs', consumerClient: 'kafkajs' },
    throughput: { median: median(throughputs), min: Math.min(...throughputs), max: Math.max(...throughputs) },
    naiveBaseline: { median: median(naive), ratio: Math.round((median(throughputs) / median(naive)) * 10) / 10 },
    httpThroughput: { median: median(results.flatMap((r) => (r.http ? [r.http.throughputEventsPerSecond] : []))) },
    latencyP99Ms: { median: median(results.flatMap((r) => (r.latencyMs ? [r.latencyMs.p99] : []))) },
    alertLatencyP99Ms: { median: median(results.flatMap((r) => (r.alertLatencyMs ? [r.alertLatencyMs.p99] : []))) },
    entitlementCheckMs: {
      p50: median(results.flatMap((r) => (r.entitlementCheckMs ? [r.entitlementCheckMs.p50] : []))),
      p99: median(results.flatMap((r) => (r.entitlementCheckMs ? [r.entitlementCheckMs.p99] : []))),
    },
    cpuPerEventMicros: {
      pipeline: median(results.map((r) => r.cpuPerEventMicros.pipeline)),
      services: median(results.map((r) => r.cpuPerEventMicros.services)),
      machine: median(results.map((r) => r.machineCpuPerEventMicros)),
    },
    servicesPeakRssMiB: { median: median(results.map((r) => r.servicesPeakRssMiB)) },
    allExact: results.every((r) => r.exact),
    entitlementCheckAlone: entitlementAlone,
    runs: results,
  };
  const dir = path.join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // BENCH_OUT names the results files instead of the date (e.g. for a comparison run beside the day's main one).
  const stamp = env.BENCH_OUT ?? summary.date.slice(0, 10);
  writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  const md = [
    `# Benchmark ${summary.date}`,
    '',
    `Machine: ${summary.machine.cpus} cores (${summary.machine.cpuModel}), ${summary.machine.memoryGiB} GiB, Node ${summary.machine.node}; broker, Postgres, services and generator on the same machine.`,
    `Load: ${EVENTS} unique events, ${CUSTOMERS} Zipf-skewed customers, meters SUM/COUNT/UNIQUE_COUNT, 1 % duplicates, 1 % late; ${RUNS} runs.`,
    ...(SERVICES_ROOT === ROOT ? [] : [`Services started from ${SERVICES_ROOT}.`]),
    SINGLE_PROCESS
      ? 'Services: ingestion, aggregation and threshold-alerting as worker threads of ONE process (BENCH_SINGLE_PROCESS=1, tools/single-process.js).'
      : 'Services: ingestion, aggregation and threshold-alerting, a process each.',
    `Kafka clients: services' producers ${summary.config.producerClient}, consumers and load generator kafkajs.`,
    '',
    '| metric | median | spread |',
    '|---|---|---|',
    `| end-to-end throughput (raw Kafka -> ingestion -> aggregation committed) | ${summary.throughput.median} events/s | ${summary.throughput.min}–${summary.throughput.max} |`,
    ...(HTTP_EVENTS > 0
      ? [`| HTTP batches of 500 -> ingestion -> aggregation committed (${HTTP_EVENTS} events) | ${summary.httpThroughput.median} events/s | per run: ${results.map((r) => r.http?.throughputEventsPerSecond).join(', ')} |`]
      : []),
    `| naive baseline (one INSERT + one transaction per event, aggregation step only) | ${summary.naiveBaseline.median} events/s | ratio ${summary.naiveBaseline.ratio}× |`,
    `| event->aggregate latency p99 at ${LATENCY_LOAD === 0.5 ? 'half' : `${LATENCY_LOAD} x`} the measured maximum | ${summary.latencyP99Ms.median} ms | per run: ${results.map((r) => r.latencyMs?.p99).join(', ')} |`,
    `| event->alert latency p99 at the same load | ${summary.alertLatencyP99Ms.median} ms | per run: ${results.map((r) => r.alertLatencyMs?.p99).join(', ')} |`,
    `| hops p50 / p99: generator -> usage.events (ingestion), -> usage.aggregates (aggregation), -> alert (threshold-alerting) | ${['ingestion', 'aggregation', 'alerting'].map((hop) => `${median(results.flatMap((r) => (r.latencyHopsMs?.[hop] ? [r.latencyHopsMs[hop].p50] : [])))} / ${median(results.flatMap((r) => (r.latencyHopsMs?.[hop] ? [r.latencyHopsMs[hop].p99] : [])))}`).join(' · ')} ms | medians over runs |`,
    `| entitlement check p50 / p99 under that load | ${summary.entitlementCheckMs.p50} / ${summary.entitlementCheckMs.p99} ms | per run p99: ${results.map((r) => r.entitlementCheckMs?.p99).join(', ')} |`,
    `| exact totals in every run | ${summary.allExact ? 'yes' : 'NO'} | |`,
    `| CPU µs per event: services (${SERVICE_PROCESSES.join(' + ')}) / pipeline / whole machine | ${summary.cpuPerEventMicros.services} / ${summary.cpuPerEventMicros.pipeline} / ${summary.cpuPerEventMicros.machine} | machine per run: ${results.map((r) => r.machineCpuPerEventMicros).join(', ')} |`,
    `| services' peak RSS, summed over their processes | ${summary.servicesPeakRssMiB.median} MiB | per run: ${results.map((r) => r.servicesPeakRssMiB).join(', ')} |`,
    '',
    `CPU per event: user + system CPU time of each process (from /proc) during the throughput phase, divided by the unique events; postgres = the bench database's client backends; pipeline = ${PIPELINE_PROCESSES.join(' + ')} (the broker is shared with anything else running on the machine); the generator is the load, reported apart.`,
    '',
    `| run | events/s | exact | CPU % of a core (${CPU_COLUMNS.join(' / ')}) | CPU µs per event (${CPU_COLUMNS.join(' / ')}) | pipeline µs per event | aggregates per event | peak RSS MiB (${CPU_COLUMNS.join(' / ')}) |`,
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.run} | ${r.throughputEventsPerSecond} | ${r.exact} | ${CPU_COLUMNS.map((c) => r.processes[c]?.cpuPercent ?? '-').join(' / ')} | ${CPU_COLUMNS.map((c) => r.cpuPerEventMicros[c] ?? '-').join(' / ')} | ${r.cpuPerEventMicros.pipeline} | ${r.aggregatesPerEvent} | ${CPU_COLUMNS.map((c) => r.processes[c]?.peakRssMiB ?? '-').join(' / ')} |`,
    ),
    `| median | ${summary.throughput.median} | | | ${CPU_COLUMNS.map((c) => median(results.map((r) => r.cpuPerEventMicros[c] ?? NaN))).join(' / ')} | ${summary.cpuPerEventMicros.pipeline} | ${median(results.map((r) => r.aggregatesPerEvent))} | |`,
    '',
    ...(entitlementAlone
      ? [
          `Entitlement check alone (bench/entitlement-check.ts: threshold-alerting in one process, 2,000 customers, 4 connections, ${ENTITLEMENT_SECONDS} s per phase; batch = 100 pairs; "with aggregates" = 500 aggregates/s consumed by the same process meanwhile; CPU = main thread per request).`,
          '',
          '| check | p50 / p99 ms | requests/s | event-loop delay p99 ms | CPU µs per request |',
          '|---|---|---|---|---|',
          ...(['quiet', 'loaded'] as const).flatMap((mode) =>
            (['single', 'batch'] as const).map((kind) => {
              const r = entitlementAlone![mode][kind];
              return `| ${kind}${mode === 'loaded' ? ', with aggregates' : ''} | ${r.p50} / ${r.p99} | ${r.perSecond} | ${r.loopDelayMs.p99} | ${r.cpuUsPerRequest.mainThread} |`;
            }),
          ),
          '',
        ]
      : []),
  ].join('\n');
  writeFileSync(path.join(dir, `${stamp}.md`), md);
  say(`wrote bench/results/${stamp}.json and .md`);
  process.stdout.write(`${md}\n`);
  if (!summary.allExact) {
    say('a run was not exact: failing');
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
