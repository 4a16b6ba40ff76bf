/**
 * Entitlement check latency, alone: threshold-alerting in this process (real Kafka and Postgres, a private
 * topic prefix and schema, removed at the end), projections filled through Kafka, then a closed loop of
 * keep-alive requests from a worker thread (its own event loop, so the client does not queue behind the
 * server's) against the single check and the batch check, on loopback only, for a bounded time.
 *
 *   node -r ./tools/register.js bench/entitlement-check.ts [--seconds=10] [--connections=16] [--customers=2000] [--batch=100]
 *                                                          [--with-load] [--load-rate=500] [--floor] [--compact]
 *
 * --with-load: meanwhile another worker thread produces PERIOD aggregates of the same customers at a steady
 * rate (--load-rate per second) into usage.aggregates.v1, so the service's consumer (threshold evaluation,
 * Postgres transactions, projection updates) runs in the process serving the checks, as in production.
 *
 * --floor: a third phase, the same loop against a bare node:http server in this process (same event loop, same
 * load) answering a constant: the latency no handler could beat on this machine right now.
 *
 * Besides latency it reports, per phase, the server's event-loop delay (perf_hooks.monitorEventLoopDelay)
 * and CPU per request: of the main thread (the server and its consumer; the client and load workers
 * excluded, from /proc/self/task) and of the whole process.
 *
 * Needs the local broker and Postgres (`npm run setup`); KAFKA_BROKERS / DATABASE_URL override them.
 * `runEntitlementCheckBench` is the same for bench/run-bench.ts.
 */
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate } from '@tally/contracts';
import { createServiceApp, hashApiKey } from '@tally/nest-platform';
import { TestSuite } from '@tally/testing';
import { EntitlementProjection } from '../apps/threshold-alerting/src/entitlements/entitlement-projection';
import { thresholdAlertingService } from '../apps/threshold-alerting/src/threshold-alerting.service';

export interface EntitlementBenchOptions {
  seconds: number;
  connections: number;
  customers: number;
  batch: number;
  /** Aggregates per second produced meanwhile; 0: none. */
  loadRate: number;
  /** Also measure the floor: a bare node:http server in this process answering a constant, same loop and load. */
  floor?: boolean;
}

export interface PhaseReport {
  requests: number;
  perSecond: number;
  errors: number;
  p50: number;
  p99: number;
  /** Server event-loop delay during the phase (how late a timer ran), ms. */
  loopDelayMs: { p50: number; p99: number; max: number };
  /** CPU per request, µs: the main thread (server + consumer) and the whole process (also client and load workers). */
  cpuUsPerRequest: { mainThread: number; process: number };
}

export interface EntitlementBenchReport {
  node: string;
  seconds: number;
  connections: number;
  customers: number;
  batchSize: number;
  loadRate: number;
  /** Aggregates the load worker produced during the measured phases. */
  aggregatesProduced: number;
  single: PhaseReport;
  batch: PhaseReport;
  /** The same closed loop against a bare node:http server on the same event loop: what no handler can beat here. */
  floor?: PhaseReport;
}

const KEY = 'bench-entitlement-key';
const progress = (line: string) => process.stderr.write(`[entitlement-check] ${line}\n`);

/** The load loop, as plain JS for the worker: `connections` requests in flight, each starting when the last ended. */
const LOAD_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, key, seconds, connections, customers, batch, kind } = workerData;
async function run() {
  const latencies = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  let seq = 0;
  const one = async () => {
    while (Date.now() < end) {
      const n = seq++;
      const started = process.hrtime.bigint();
      const res = kind === 'floor'
        ? await fetch(url + '/floor')
        : kind === 'single'
        ? await fetch(url + '/api/v1/entitlements/c-' + (n % customers) + '/api-calls', { headers: { authorization: 'Bearer ' + key } })
        : await fetch(url + '/api/v1/entitlements/check', {
            method: 'POST',
            headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
            body: JSON.stringify({ checks: Array.from({ length: batch }, (_, i) => ({ customer: 'c-' + ((n * batch + i) % customers), meter: 'api-calls' })) }),
          });
      await res.arrayBuffer();
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (res.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
  return { latencies, errors };
}
run().then((r) => parentPort.postMessage(r));
`;

/**
 * The aggregate producer, as plain JS for its worker: every 100 ms a tenth of the rate, PERIOD aggregates of
 * random customers with rising versions and values that move around the included 1000 (so thresholds fire
 * and recover). Stops on a message; reports how many it sent.
 */
const AGGREGATE_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const { Kafka, logLevel } = require('kafkajs');
const { brokers, topic, rate, customers, periodStart, periodEnd } = workerData;
let stop = false;
let sent = 0;
parentPort.on('message', () => (stop = true));
(async () => {
  const producer = new Kafka({ clientId: 'bench-load', brokers, logLevel: logLevel.NOTHING }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  parentPort.postMessage({ started: true });
  let version = 1_000_000;
  const perTick = Math.max(1, Math.round(rate / 10));
  let next = Date.now();
  while (!stop) {
    const now = new Date().toISOString();
    const messages = Array.from({ length: perTick }, () => {
      const c = 'c-' + Math.floor(Math.random() * customers);
      return { key: 'acme:' + c + ':api-calls', value: JSON.stringify({ eventId: require('node:crypto').randomUUID(), occurredAt: now, tenant: 'acme', customer: c, meter: 'api-calls',
        windowKind: 'PERIOD', windowStart: periodStart, windowEnd: periodEnd, value: String(Math.floor(Math.random() * 1200)), eventCount: 1, lastEventTime: now, version: version++ }) };
    });
    await producer.send({ topic, acks: -1, messages });
    sent += perTick;
    next += 100;
    const wait = next - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await producer.disconnect();
  parentPort.postMessage({ sent });
})();
`;

interface LoopResult {
  latencies: number[];
  errors: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round2 = (n: number) => Math.round(n * 100) / 100;

const LOOP_RESOLUTION_MS = 5;
/** The histogram records the interval between its timer's ticks: the delay is what exceeds the resolution. */
const lateMs = (ns: number) => Math.max(0, round2(ns / 1e6 - LOOP_RESOLUTION_MS));

/** CPU seconds of this process's main thread (its tid is the pid), from /proc: the server and its consumer only. */
function mainThreadCpuSeconds(): number {
  const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function measurePhase(kind: 'single' | 'batch' | 'floor', url: string, o: EntitlementBenchOptions): Promise<PhaseReport> {
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const cpu0 = process.cpuUsage();
  const main0 = mainThreadCpuSeconds();
  loop.enable();
  const result = await new Promise<LoopResult>((resolve, reject) => {
    const worker = new Worker(LOAD_LOOP, { eval: true, workerData: { url, key: KEY, seconds: o.seconds, connections: o.connections, customers: o.customers, batch: o.batch, kind } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const mainCpu = mainThreadCpuSeconds() - main0;
  const sorted = [...result.latencies].sort((a, b) => a - b);
  const n = Math.max(1, sorted.length);
  return {
    requests: sorted.length,
    perSecond: Math.round(sorted.length / o.seconds),
    errors: result.errors,
    p50: round2(percentile(sorted, 50)),
    p99: round2(percentile(sorted, 99)),
    loopDelayMs: { p50: lateMs(loop.percentile(50)), p99: lateMs(loop.percentile(99)), max: lateMs(loop.max) },
    cpuUsPerRequest: { mainThread: Math.round((mainCpu * 1e6) / n), process: Math.round((cpu.user + cpu.system) / n) },
  };
}

/** The floor: a bare server on this process's loop, answering a check-sized constant body. */
async function measureFloor(o: EntitlementBenchOptions): Promise<PhaseReport> {
  const body = JSON.stringify({ customer: 'c-1', meter: 'api-calls', hasAccess: true, allowed: true, usage: '500', included: '1000', remaining: '500', hardLimit: true, periodStart: '2026-11-01T00:00:00.000Z', periodEnd: '2026-12-01T00:00:00.000Z', projected: '517.241379' });
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    return await measurePhase('floor', `http://127.0.0.1:${(server.address() as AddressInfo).port}`, o);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** Starts threshold-alerting in this process on a private prefix and schema, fills it, measures both checks, cleans up. */
export async function runEntitlementCheckBench(o: EntitlementBenchOptions): Promise<EntitlementBenchReport> {
  process.env.KAFKA_BROKERS ??= '127.0.0.1:9092';
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/tally_test';
  process.env.LOG_LEVEL ??= 'warn';
  const suite = new TestSuite();
  const periodStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString();
  try {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', keyId: randomUUID(), keyHash: hashApiKey(KEY), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    progress('starting threshold-alerting');
    const service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService, { API_READ_RATE_LIMIT_PER_SECOND: '1000000' }));
    try {
      await service.app.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
      const customers = Array.from({ length: o.customers }, (_, i) => `c-${i}`);
      for (let i = 0; i < customers.length; i += 500) {
        const slice = customers.slice(i, i + 500);
        await suite.produce(TOPICS.billingSubscriptions, slice.map((c) => ({
          key: subscriptionKey('acme', c, 'sub'),
          value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: c, subscriptionId: 'sub', plan: 'pro', status: 'active', periodStart, periodEnd,
            entitlements: [{ meter: 'api-calls', included: '1000', thresholds: [50, 75, 90, 100], hardLimit: true }] } satisfies SubscriptionChanged,
        })));
        await suite.produce(TOPICS.usageAggregates, slice.map((c, j) => ({
          key: customerMeterKey('acme', c, 'api-calls'),
          value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: c, meter: 'api-calls', windowKind: 'PERIOD', windowStart: periodStart, windowEnd: periodEnd,
            value: String((i + j) % 1200), eventCount: 1, lastEventTime: new Date().toISOString(), version: 1 } satisfies UsageAggregate,
        })));
      }
      progress(`${o.customers} subscriptions and aggregates produced; waiting for the projection`);
      const projection = service.app.get(EntitlementProjection);
      const deadline = Date.now() + 120_000;
      while (projection.size < o.customers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (projection.size < o.customers) throw new Error(`only ${projection.size} of ${o.customers} customer-meters projected after 120 s`);

      progress('projection filled');
      let load: Worker | undefined;
      if (o.loadRate > 0) {
        load = new Worker(AGGREGATE_LOOP, {
          eval: true,
          workerData: { brokers: suite.kafkaBrokers.split(','), topic: suite.topic(TOPICS.usageAggregates), rate: o.loadRate, customers: o.customers, periodStart, periodEnd },
        });
        await new Promise((resolve, reject) => (load!.once('message', resolve), load!.once('error', reject)));
        await new Promise((r) => setTimeout(r, 2000)); // the consumer reaches its steady state before measuring
      }
      try {
        progress(`measuring${o.loadRate ? ` with ${o.loadRate} aggregates/s` : ''}`);
        const single = await measurePhase('single', url, o);
        const batch = await measurePhase('batch', url, o);
        const floor = o.floor ? await measureFloor(o) : undefined;
        const aggregatesProduced = load ? await new Promise<number>((resolve, reject) => (load!.once('message', (m: { sent: number }) => resolve(m.sent)), load!.once('error', reject), load!.postMessage('stop'))) : 0;
        load = undefined;
        return { node: process.version, seconds: o.seconds, connections: o.connections, customers: o.customers, batchSize: o.batch, loadRate: o.loadRate, aggregatesProduced, single, batch, ...(floor ? { floor } : {}) };
      } finally {
        if (load) await load.terminate();
      }
    } finally {
      await service.app.close();
    }
  } finally {
    await suite.cleanup();
  }
}

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = found ? Number(found.split('=')[1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
};

if (require.main === module) {
  const options: EntitlementBenchOptions = {
    seconds: Math.min(arg('seconds', 10), 120),
    connections: Math.min(arg('connections', 16), 256),
    customers: Math.min(arg('customers', 2000), 100_000),
    batch: Math.min(arg('batch', 100), 1000),
    loadRate: process.argv.includes('--with-load') ? Math.min(arg('load-rate', 500), 50_000) : 0,
    floor: process.argv.includes('--floor'),
  };
  runEntitlementCheckBench(options).then(
    (report) => {
      // --compact: one line (bench/run-bench.ts picks it out of whatever else the service logged).
      process.stdout.write(`${process.argv.includes('--compact') ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`);
      // Exit rather than wait: the Kafka clients' sockets can keep the process alive after close.
      process.exit(report.single.errors + report.batch.errors > 0 ? 1 : 0);
    },
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}
