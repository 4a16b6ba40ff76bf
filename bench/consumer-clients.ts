// Consumer client comparison: kafkajs (the default) vs @platformatic/kafka, both behind Tally's
// BatchConsumerClient, on the same pre-produced topic, alternating which goes first each round.
// Writes bench/results/consumer-clients-<date>.{json,md}.
//   node -r ./tools/register.js bench/consumer-clients.ts      (a broker must answer: `node tools/kafka.js ensure`)
//   CONSUMER_BENCH_RECORDS (200000)  CONSUMER_BENCH_ROUNDS (3)  KAFKA_COMPRESSION (the producers' default)  KAFKA_BROKERS (127.0.0.1:9092)
// Consume-only: each run joins a fresh group and reads the topic from the start with the exactly-once core's
// fetch settings (16 KiB / 40 ms, 1 MiB per partition) and the services' default concurrency (4), through a
// trivial handler that checks order and counts. Postgres is left out, so the figures are the client's alone.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { HEADERS } from '@tally/contracts';
import {
  createKafka,
  ensureTopics,
  KafkajsConsumerClient,
  KafkajsEventProducer,
  parseKafkaCompression,
  PlatformaticConsumerClient,
  type BatchConsumerClient,
  type BatchConsumerClientOptions,
  type KafkaSettings,
  type ProducedRecord,
} from '@tally/kafka';
import { JsonLogger } from '@tally/telemetry';
import type { Kafka } from 'kafkajs';
import { median } from './stats';

const ROOT = path.resolve(__dirname, '..');
const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const RECORDS = num('CONSUMER_BENCH_RECORDS', 200_000);
const ROUNDS = num('CONSUMER_BENCH_ROUNDS', 3);
const COMPRESSION = parseKafkaCompression(env.KAFKA_COMPRESSION);
const BROKERS = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const PARTITIONS = 3;
const CUSTOMERS = 10_000;
/** The relay publishes in sends of up to 2000 records, so the topic holds batches of that shape. */
const SEND_SIZE = 2000;
const WARM_UP_RECORDS = 10_000;
const CLIENTS = ['kafkajs', 'platformatic'] as const;
type Client = (typeof CLIENTS)[number];
const say = (msg: string) => process.stdout.write(`[consumer-bench] ${msg}\n`);
const logger = new JsonLogger('consumer-bench', undefined, 'error');

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Measurement {
  round: number;
  client: Client;
  order: number;
  records: number;
  batches: number;
  /** start() until the first batch: group join and the first fetch. */
  firstBatchSeconds: number;
  /** First batch until the last record: the steady consuming rate. */
  seconds: number;
  recordsPerSecond: number;
  /** Process CPU (user + system) from start() to the last record, per record. */
  cpuMicrosPerRecord: number;
  peakRssMiB: number;
}

/** Like the canonical usage events the relay publishes: ~250 bytes of JSON, keyed by customer, with trace headers. */
function buildRecords(topic: string, from: number, count: number): ProducedRecord[] {
  const now = Date.parse('2026-11-24T12:00:00Z');
  return Array.from({ length: count }, (_, j) => {
    const i = from + j;
    const customer = `cus_${String((Math.imul(i + 1, 2654435761) >>> 0) % CUSTOMERS).padStart(5, '0')}`;
    const value = JSON.stringify({
      eventId: `evt_${String(i).padStart(9, '0')}`,
      tenant: 'acme',
      customerId: customer,
      type: 'api.call',
      time: new Date(now + i).toISOString(),
      data: { calls: (i % 7) + 1, user: `u${i % 97}` },
      receivedAt: new Date(now + i + 3).toISOString(),
    });
    return { topic, key: customer, value, headers: { [HEADERS.tenant]: 'acme', traceparent: `00-${'0'.repeat(31)}${i % 10}-${'0'.repeat(15)}1-01` } };
  });
}

async function produceAll(kafka: Kafka, topic: string, records: number): Promise<void> {
  const producer = new KafkajsEventProducer(kafka, { compression: COMPRESSION });
  await producer.connect();
  try {
    for (let from = 0; from < records; from += SEND_SIZE) await producer.send(buildRecords(topic, from, Math.min(SEND_SIZE, records - from)));
  } finally {
    await producer.disconnect();
  }
}

function clientFor(client: Client, kafka: Kafka, options: BatchConsumerClientOptions, clientId: string): BatchConsumerClient {
  return client === 'kafkajs' ? new KafkajsConsumerClient(kafka, options, logger) : new PlatformaticConsumerClient({ brokers: BROKERS, clientId }, options, logger);
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

async function measure(client: Client, round: number, order: number, kafka: Kafka, topic: string, runId: string, records = RECORDS): Promise<Measurement> {
  const options: BatchConsumerClientOptions = {
    groupId: `${runId}-${client}-r${round}`,
    topics: [topic],
    sessionTimeoutMs: 30_000,
    heartbeatIntervalMs: 3_000,
    fetchMinBytes: 16_384,
    fetchMaxWaitMs: 40,
    maxBytesPerPartition: 1_048_576,
    partitionsConsumedConcurrently: 4,
  };
  const consumer = clientFor(client, kafka, options, `${runId}-${client}-${round}`);
  const next = new Map<number, bigint>();
  let received = 0;
  let batches = 0;
  let firstBatchAt = 0n;
  let peakRss = rssMiB();
  let done!: () => void;
  let failed!: (e: Error) => void;
  const finished = new Promise<void>((resolve, reject) => ((done = resolve), (failed = reject)));
  gc();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await consumer.start({
    startOffsets: async () => new Map(),
    onBatch: async (batch) => {
      if (batches++ === 0) firstBatchAt = process.hrtime.bigint();
      // The trivial handler still checks what it is given: contiguous offsets per partition, values present.
      let expected = next.get(batch.partition) ?? 0n;
      for (const r of batch.records) {
        if (BigInt(r.offset) < expected) continue; // kafkajs may re-deliver after its seek; count once
        if (BigInt(r.offset) !== expected || !r.value) failed(new Error(`${client}: partition ${batch.partition} gave offset ${r.offset}, expected ${expected}`));
        expected = BigInt(r.offset) + 1n;
        received++;
      }
      next.set(batch.partition, expected);
      if (batches % 20 === 0) peakRss = Math.max(peakRss, rssMiB());
      if (received >= records) done();
      return expected.toString();
    },
  });
  try {
    await finished;
  } finally {
    await consumer.stop();
  }
  const end = process.hrtime.bigint();
  const cpu = process.cpuUsage(cpu0);
  const seconds = Number(end - firstBatchAt) / 1e9;
  return {
    round,
    client,
    order,
    records: received,
    batches,
    firstBatchSeconds: r2(Number(firstBatchAt - t0) / 1e9),
    seconds: r2(seconds),
    recordsPerSecond: Math.round(received / seconds),
    cpuMicrosPerRecord: r2((cpu.user + cpu.system) / received),
    peakRssMiB: Math.round(Math.max(peakRss, rssMiB())),
  };
}

interface Summary {
  median: number;
  min: number;
  max: number;
}
const summarize = (xs: number[], round: (x: number) => number): Summary => ({ median: round(median(xs)), min: round(Math.min(...xs)), max: round(Math.max(...xs)) });

function summarizeClient(ms: Measurement[]) {
  return {
    recordsPerSecond: summarize(ms.map((m) => m.recordsPerSecond), Math.round),
    cpuMicrosPerRecord: summarize(ms.map((m) => m.cpuMicrosPerRecord), r2),
    firstBatchSeconds: summarize(ms.map((m) => m.firstBatchSeconds), r2),
    recordsPerBatch: summarize(ms.map((m) => m.records / m.batches), Math.round),
    peakRssMiB: summarize(ms.map((m) => m.peakRssMiB), Math.round),
  };
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const runId = `cbench${randomBytes(3).toString('hex')}`;
  const settings: KafkaSettings = { brokers: BROKERS, clientId: runId, topicPrefix: `${runId}.`, defaultPartitions: PARTITIONS };
  const kafka = createKafka(settings, logger);
  const topic = `${settings.topicPrefix}usage.events.v1`;
  const warmUpTopic = `${settings.topicPrefix}warm-up.v1`;
  say(`${RECORDS} records (${COMPRESSION}) on ${PARTITIONS} partitions, ${ROUNDS} rounds per client, brokers ${BROKERS.join(',')}`);
  const startedAt = new Date();
  const measurements: Measurement[] = [];
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(kafka, settings, [topic, warmUpTopic]);
    await produceAll(kafka, topic, RECORDS);
    await produceAll(kafka, warmUpTopic, WARM_UP_RECORDS);
    say(`produced in ${r2((Date.now() - startedAt.getTime()) / 1000)} s`);
    // Not measured: module loading (@platformatic/kafka is imported on first use), connections, a first JIT pass.
    for (const client of CLIENTS) await measure(client, 0, 0, kafka, warmUpTopic, runId, WARM_UP_RECORDS);
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Client[] = round % 2 === 1 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs'];
      for (const [i, client] of order.entries()) {
        const m = await measure(client, round, i + 1, kafka, topic, runId);
        measurements.push(m);
        say(`round ${round} ${client.padEnd(12)} ${m.recordsPerSecond} rec/s, ${m.cpuMicrosPerRecord} µs CPU/record, ${Math.round(m.records / m.batches)} records/batch, first batch after ${m.firstBatchSeconds} s, peak RSS ${m.peakRssMiB} MiB`);
      }
    }
  } finally {
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(runId));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    await admin.deleteTopics({ topics: [topic, warmUpTopic], timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  }

  const byClient = Object.fromEntries(CLIENTS.map((c) => [c, summarizeClient(measurements.filter((m) => m.client === c))])) as Record<Client, ReturnType<typeof summarizeClient>>;
  const ratio = (pick: (s: ReturnType<typeof summarizeClient>) => Summary) => r2(pick(byClient.platformatic).median / pick(byClient.kafkajs).median);
  const perRoundThroughputRatio = Array.from({ length: ROUNDS }, (_, i) => {
    const [k, p] = CLIENTS.map((c) => measurements.find((m) => m.round === i + 1 && m.client === c)!);
    return r2(p.recordsPerSecond / k.recordsPerSecond);
  });
  const result = {
    startedAt: startedAt.toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAverage: os.loadavg().map(r2) },
    clients: { kafkajs: packageVersion('kafkajs'), platformatic: packageVersion('@platformatic/kafka') },
    load: { records: RECORDS, rounds: ROUNDS, partitions: PARTITIONS, compression: COMPRESSION, sendSize: SEND_SIZE, customers: CUSTOMERS, avgValueBytes: Math.round(buildRecords('t', 0, 1000).reduce((s, r) => s + r.value.length, 0) / 1000) },
    summary: byClient,
    ratioPlatformaticToKafkajs: {
      recordsPerSecond: ratio((s) => s.recordsPerSecond),
      cpuMicrosPerRecord: ratio((s) => s.cpuMicrosPerRecord),
      perRoundThroughput: perRoundThroughputRatio,
    },
    measurements,
  };

  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `consumer-clients-${COMPRESSION}-${startedAt.toISOString().slice(0, 10)}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const row = (c: Client) => {
    const s = byClient[c];
    return `| ${c} ${result.clients[c]} | ${s.recordsPerSecond.median} (${s.recordsPerSecond.min}–${s.recordsPerSecond.max}) | ${s.cpuMicrosPerRecord.median} (${s.cpuMicrosPerRecord.min}–${s.cpuMicrosPerRecord.max}) | ${s.recordsPerBatch.median} | ${s.firstBatchSeconds.median} | ${s.peakRssMiB.median} |`;
  };
  const md = [
    `# Consumer clients, ${startedAt.toISOString()}`,
    '',
    `${RECORDS} records (${result.load.avgValueBytes} B JSON values, ${COMPRESSION}), ${PARTITIONS} partitions, ${ROUNDS} alternating rounds; ${result.machine.cpus} CPUs (${result.machine.cpuModel}), Node ${process.version}, load average at the end ${result.machine.loadAverage.join(' ')}.`,
    `Command: \`KAFKA_COMPRESSION=${COMPRESSION} CONSUMER_BENCH_RECORDS=${RECORDS} CONSUMER_BENCH_ROUNDS=${ROUNDS} node -r ./tools/register.js bench/consumer-clients.ts\``,
    '',
    '| client | records/s, median (min–max) | µs CPU per record, median (min–max) | records per batch | s to first batch | peak RSS MiB |',
    '|---|---|---|---|---|---|',
    row('kafkajs'),
    row('platformatic'),
    '',
    `platformatic / kafkajs: throughput ${result.ratioPlatformaticToKafkajs.recordsPerSecond}x (per round ${perRoundThroughputRatio.join(', ')}), CPU per record ${result.ratioPlatformaticToKafkajs.cpuMicrosPerRecord}x.`,
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  process.stdout.write(`${md}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
