// Producer client comparison: kafkajs (the default) vs @platformatic/kafka, both behind Tally's EventProducer,
// in the same run, alternating which goes first each round. Writes bench/results/producer-clients-<date>.{json,md}.
//   node -r ./tools/register.js bench/producer-clients.ts      (a broker must answer: `node tools/kafka.js ensure`)
//   PRODUCER_BENCH_RECORDS (200000)  PRODUCER_BENCH_ROUNDS (5)  KAFKA_BROKERS (127.0.0.1:9092)
// Each client sends the same records, in batches of the outbox relay's batch size, one batch at a time and
// awaiting its acks like the relay does (idempotent, acks = all), to a fresh 3-partition topic.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { HEADERS } from '@tally/contracts';
import { createKafka, ensureTopics, KafkajsEventProducer, PlatformaticEventProducer, type EventProducer, type KafkaSettings, type ProducedRecord } from '@tally/kafka';
import { JsonLogger } from '@tally/telemetry';
import { median, percentile } from './stats';

const ROOT = path.resolve(__dirname, '..');
const env = process.env;
const num = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
const RECORDS = num('PRODUCER_BENCH_RECORDS', 200_000);
const ROUNDS = num('PRODUCER_BENCH_ROUNDS', 5);
const BROKERS = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
/** The outbox relay's default batch size (OutboxRelay: `options.batchSize ?? 2000`). */
const BATCH_SIZE = 2000;
const CUSTOMERS = 10_000;
const PARTITIONS = 3;
const CLIENTS = ['kafkajs', 'platformatic'] as const;
type Client = (typeof CLIENTS)[number];
const say = (msg: string) => process.stdout.write(`[producer-bench] ${msg}\n`);

// A full GC between measurements, so one client does not pay for the other's garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Measurement {
  round: number;
  client: Client;
  order: number;
  records: number;
  sends: number;
  seconds: number;
  recordsPerSecond: number;
  sendLatencyMs: { p50: number; p99: number; max: number };
  cpuMicrosPerRecord: number;
  /** Offsets the broker holds for the topic after the run: must equal records + warm-up. */
  brokerRecords: number;
}

/** Like the canonical usage events the relay publishes: ~200 bytes of JSON, keyed by customer. */
function buildRecords(topic: string, round: number): ProducedRecord[] {
  const now = Date.parse('2026-11-24T12:00:00Z');
  return Array.from({ length: RECORDS }, (_, i) => {
    const customer = `cus_${String((Math.imul(i + 1, 2654435761) >>> 0) % CUSTOMERS).padStart(5, '0')}`;
    const value = JSON.stringify({
      eventId: `evt_${round}_${String(i).padStart(9, '0')}`,
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

const r2 = (x: number) => Math.round(x * 100) / 100;

function producerFor(client: Client, kafka: Kafka, clientId: string): EventProducer {
  return client === 'kafkajs' ? new KafkajsEventProducer(kafka) : new PlatformaticEventProducer({ brokers: BROKERS, clientId });
}

async function brokerCount(kafka: Kafka, topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function measure(client: Client, round: number, order: number, kafka: Kafka, settings: KafkaSettings): Promise<Measurement> {
  const topic = `${settings.topicPrefix}${client}.r${round}`;
  await ensureTopics(kafka, settings, [topic]);
  const records = buildRecords(topic, round);
  const batches = Array.from({ length: Math.ceil(records.length / BATCH_SIZE) }, (_, b) => records.slice(b * BATCH_SIZE, (b + 1) * BATCH_SIZE));
  const producer = producerFor(client, kafka, `${settings.clientId}-${client}-${round}`);
  await producer.connect();
  try {
    // Warm-up (not measured): connections, metadata, producer id, and a first JIT pass over the send path.
    const warmUp = buildRecords(topic, -1).slice(0, BATCH_SIZE);
    await producer.send(warmUp);
    gc();
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const batch of batches) {
      const s = process.hrtime.bigint();
      await producer.send(batch);
      latencies.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    const brokerRecords = await brokerCount(kafka, topic);
    if (brokerRecords !== records.length + warmUp.length) throw new Error(`${client} round ${round}: broker holds ${brokerRecords} records, expected ${records.length + warmUp.length}`);
    return {
      round,
      client,
      order,
      records: records.length,
      sends: batches.length,
      seconds: r2(seconds),
      recordsPerSecond: Math.round(records.length / seconds),
      sendLatencyMs: { p50: r2(percentile(latencies, 50)), p99: r2(percentile(latencies, 99)), max: r2(latencies[latencies.length - 1]) },
      cpuMicrosPerRecord: r2((cpu.user + cpu.system) / records.length),
      brokerRecords,
    };
  } finally {
    await producer.disconnect();
  }
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
    sendLatencyP50Ms: summarize(ms.map((m) => m.sendLatencyMs.p50), r2),
    sendLatencyP99Ms: summarize(ms.map((m) => m.sendLatencyMs.p99), r2),
    cpuMicrosPerRecord: summarize(ms.map((m) => m.cpuMicrosPerRecord), r2),
  };
}

function packageVersion(name: string): string {
  return (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<void> {
  const runId = `pbench${randomBytes(3).toString('hex')}`;
  const settings: KafkaSettings = { brokers: BROKERS, clientId: runId, topicPrefix: `${runId}.`, defaultPartitions: PARTITIONS };
  // The services' own kafkajs configuration (retries, logging), as the outbox relay uses it.
  const kafka = createKafka(settings, new JsonLogger('producer-bench', undefined, 'error'));
  const admin = new Kafka({ clientId: `${runId}-admin`, brokers: BROKERS, logLevel: logLevel.NOTHING });
  say(`${RECORDS} records x ${ROUNDS} rounds per client, batches of ${BATCH_SIZE}, ${PARTITIONS} partitions, ${CUSTOMERS} customer keys, brokers ${BROKERS.join(',')}`);
  const startedAt = new Date();
  const measurements: Measurement[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order: Client[] = round % 2 === 1 ? ['kafkajs', 'platformatic'] : ['platformatic', 'kafkajs'];
      for (const [i, client] of order.entries()) {
        const m = await measure(client, round, i + 1, kafka, settings);
        measurements.push(m);
        say(`round ${round} ${client.padEnd(12)} ${m.recordsPerSecond} rec/s, send p50 ${m.sendLatencyMs.p50} ms p99 ${m.sendLatencyMs.p99} ms, ${m.cpuMicrosPerRecord} µs CPU/record`);
      }
    }
  } finally {
    const a = admin.admin();
    await a.connect();
    const mine = (await a.listTopics()).filter((t) => t.startsWith(settings.topicPrefix));
    if (mine.length > 0) await a.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
    await a.disconnect();
  }

  const byClient = Object.fromEntries(CLIENTS.map((c) => [c, summarizeClient(measurements.filter((m) => m.client === c))])) as Record<Client, ReturnType<typeof summarizeClient>>;
  const ratio = (pick: (s: ReturnType<typeof summarizeClient>) => Summary) => r2(pick(byClient.platformatic).median / pick(byClient.kafkajs).median);
  // Per round, the two clients ran back to back: the ratio within a round cancels some machine noise.
  const perRoundThroughputRatio = Array.from({ length: ROUNDS }, (_, i) => {
    const [k, p] = CLIENTS.map((c) => measurements.find((m) => m.round === i + 1 && m.client === c)!);
    return r2(p.recordsPerSecond / k.recordsPerSecond);
  });
  const result = {
    startedAt: startedAt.toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    clients: { kafkajs: packageVersion('kafkajs'), platformatic: packageVersion('@platformatic/kafka') },
    load: { records: RECORDS, rounds: ROUNDS, batchSize: BATCH_SIZE, partitions: PARTITIONS, customers: CUSTOMERS, avgValueBytes: Math.round(buildRecords('t', 0).slice(0, 1000).reduce((s, r) => s + r.value.length, 0) / 1000) },
    summary: byClient,
    ratioPlatformaticToKafkajs: {
      recordsPerSecond: ratio((s) => s.recordsPerSecond),
      sendLatencyP50Ms: ratio((s) => s.sendLatencyP50Ms),
      sendLatencyP99Ms: ratio((s) => s.sendLatencyP99Ms),
      cpuMicrosPerRecord: ratio((s) => s.cpuMicrosPerRecord),
      perRoundThroughput: perRoundThroughputRatio,
    },
    measurements,
  };

  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const base = path.join(dir, `producer-clients-${startedAt.toISOString().slice(0, 10)}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const fmt = (s: Summary, unit = '') => `${s.median}${unit} | ${s.min}–${s.max}`;
  const row = (label: string, pick: (s: ReturnType<typeof summarizeClient>) => Summary, unit: string, r: number) =>
    `| ${label} | ${fmt(pick(byClient.kafkajs), unit)} | ${fmt(pick(byClient.platformatic), unit)} | ${r} |`;
  const md = [
    `# Producer clients ${result.startedAt}`,
    '',
    `Machine: ${result.machine.cpus} cores (${result.machine.cpuModel}), ${result.machine.memGiB} GiB, Node ${result.machine.node}; broker on the same machine.`,
    `Clients: kafkajs ${result.clients.kafkajs}, @platformatic/kafka ${result.clients.platformatic}, both behind \`EventProducer\` (idempotent, acks = all).`,
    `Load: ${RECORDS} records per client per round (~${result.load.avgValueBytes}-byte JSON values, ${CUSTOMERS} customer keys, 2 headers), ` +
      `sent in batches of ${BATCH_SIZE} one at a time as the outbox relay does, to a fresh ${PARTITIONS}-partition topic; ` +
      `${ROUNDS} rounds, order alternating; a warm-up batch per run is not measured.`,
    '',
    '| metric | kafkajs median | spread | platformatic median | spread | ratio platformatic/kafkajs |',
    '|---|---|---|---|---|---|',
    row('throughput (records/s)', (s) => s.recordsPerSecond, '', result.ratioPlatformaticToKafkajs.recordsPerSecond),
    row('send latency p50 (ms per batch)', (s) => s.sendLatencyP50Ms, '', result.ratioPlatformaticToKafkajs.sendLatencyP50Ms),
    row('send latency p99 (ms per batch)', (s) => s.sendLatencyP99Ms, '', result.ratioPlatformaticToKafkajs.sendLatencyP99Ms),
    row('process CPU per record (µs)', (s) => s.cpuMicrosPerRecord, '', result.ratioPlatformaticToKafkajs.cpuMicrosPerRecord),
    '',
    `Throughput ratio within each round: ${perRoundThroughputRatio.join(', ')}.`,
    '',
    '| round | client | order | records/s | send p50 ms | send p99 ms | send max ms | CPU µs/record |',
    '|---|---|---|---|---|---|---|---|',
    ...measurements.map((m) => `| ${m.round} | ${m.client} | ${m.order} | ${m.recordsPerSecond} | ${m.sendLatencyMs.p50} | ${m.sendLatencyMs.p99} | ${m.sendLatencyMs.max} | ${m.cpuMicrosPerRecord} |`),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  process.stdout.write(`\n${md}\n`);
  say(`wrote ${path.relative(ROOT, base)}.{json,md}`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
