// Kafka compression codecs compared on Tally's own produce and consume path (KafkajsEventProducer, the
// kafkajs consumer that createKafka configures), to choose KAFKA_COMPRESSION's default (docs/adr/0004).
//   node -r ./tools/register.js bench/kafka-compression.ts     (a broker must answer: `node tools/kafka.js ensure`)
//   COMPRESSION_BENCH_RECORDS (100000)  COMPRESSION_BENCH_ROUNDS (3)  COMPRESSION_BENCH_CODECS (every codec this Node can compress)
// Each round produces the same records once per codec, the codec order rotating every round, to a fresh
// 3-partition topic: in batches of the outbox relay's size, awaiting acks like the relay (idempotent,
// acks = all); then reads them back from the start with a fresh consumer group. Bytes are the sizes of the
// partitions' log segments on the local broker (it keeps batches as the producer compressed them), which
// is what crossed the wire, record-batch headers included.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Kafka, logLevel } from 'kafkajs';
import { HEADERS } from '@tally/contracts';
import { createKafka, ensureTopics, KAFKA_COMPRESSIONS, KAFKAJS_CODECS, KafkajsEventProducer, nodeCanCompress, type KafkaCompression, type KafkaSettings, type ProducedRecord } from '@tally/kafka';
import { JsonLogger } from '@tally/telemetry';
import { median } from './stats';

const localPaths = require('../tools/local-paths') as { kafkaData: string };
const ROOT = path.resolve(__dirname, '..');
const env = process.env;
const RECORDS = Number(env.COMPRESSION_BENCH_RECORDS ?? 100_000);
const ROUNDS = Number(env.COMPRESSION_BENCH_ROUNDS ?? 3);
const CODECS = (env.COMPRESSION_BENCH_CODECS?.split(',') as KafkaCompression[] | undefined) ?? KAFKA_COMPRESSIONS.filter(nodeCanCompress);
const BROKERS = (env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
const BATCH_SIZE = 2000; // the outbox relay's batch size
const PARTITIONS = 3;
const say = (msg: string) => process.stdout.write(`[compression-bench] ${msg}\n`);
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Raw CloudEvents usage events as product services send them (~330 bytes of JSON), keyed by customer. */
function buildRecords(topic: string, round: number): ProducedRecord[] {
  const start = Date.parse('2026-11-24T12:00:00Z');
  const meters = ['api_calls', 'gb_stored', 'messages_sent', 'compute_seconds', 'seats'];
  return Array.from({ length: RECORDS }, (_, i) => {
    const h = Math.imul(i + 1, 2654435761) >>> 0;
    const customer = `cus_${String(h % 10_000).padStart(5, '0')}`;
    const meter = meters[h % meters.length];
    const value = JSON.stringify({
      specversion: '1.0',
      id: `${randomBytes(8).toString('hex')}-${round}-${i}`,
      source: `//checkout.acme.example/${meter}`,
      type: `com.acme.usage.${meter}`,
      subject: customer,
      time: new Date(start + i * 37).toISOString(),
      datacontenttype: 'application/json',
      data: { value: h % 5000, region: ['eu-west-1', 'us-east-1', 'ap-south-1'][h % 3], endpoint: `/v1/orders/${h % 1000}`, status: h % 11 ? 200 : 429 },
    });
    return { topic, key: `acme:${customer}`, value, headers: { [HEADERS.tenant]: 'acme', traceparent: `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01` } };
  });
}

interface Measurement {
  round: number;
  codec: KafkaCompression;
  produceRecordsPerSecond: number;
  produceCpuMicrosPerRecord: number;
  consumeRecordsPerSecond: number;
  consumeCpuMicrosPerRecord: number;
  /** Log segment bytes per record (null when the broker is not the local one). */
  bytesPerRecord: number | null;
}

function logBytes(topic: string): number | null {
  let total = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const dir = path.join(localPaths.kafkaData, `${topic}-${p}`);
    if (!existsSync(dir)) return null;
    for (const f of readdirSync(dir)) if (f.endsWith('.log')) total += statSync(path.join(dir, f)).size;
  }
  return total;
}

async function consumeAll(kafka: Kafka, topic: string, groupId: string, expected: number): Promise<{ seconds: number; cpuMicros: number }> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let count = 0;
  // Measured from run(): the group join is in it, the same for every codec (and mostly waiting, not CPU).
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  try {
    return await new Promise((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            count += batch.messages.length;
            if (count >= expected) {
              const cpu = process.cpuUsage(cpu0);
              resolve({ seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuMicros: cpu.user + cpu.system });
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

async function measure(codec: KafkaCompression, round: number, kafka: Kafka, settings: KafkaSettings): Promise<Measurement> {
  const topic = `${settings.topicPrefix}${codec}.r${round}`;
  await ensureTopics(kafka, settings, [topic]);
  const records = buildRecords(topic, round);
  const producer = new KafkajsEventProducer(kafka, { compression: codec });
  await producer.connect();
  let produce: { seconds: number; cpuMicros: number };
  try {
    const warmUp = buildRecords(topic, -1).slice(0, BATCH_SIZE); // connections, producer id, JIT
    await producer.send(warmUp);
    gc();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let b = 0; b < records.length; b += BATCH_SIZE) await producer.send(records.slice(b, b + BATCH_SIZE));
    const cpu = process.cpuUsage(cpu0);
    produce = { seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuMicros: cpu.user + cpu.system };
  } finally {
    await producer.disconnect();
  }
  const total = records.length + BATCH_SIZE;
  const bytes = logBytes(topic);
  gc();
  const consume = await consumeAll(kafka, topic, `${topic}.reader`, total);
  return {
    round,
    codec,
    produceRecordsPerSecond: Math.round(records.length / produce.seconds),
    produceCpuMicrosPerRecord: Math.round((produce.cpuMicros / records.length) * 100) / 100,
    consumeRecordsPerSecond: Math.round(total / consume.seconds),
    consumeCpuMicrosPerRecord: Math.round((consume.cpuMicros / total) * 100) / 100,
    bytesPerRecord: bytes === null ? null : Math.round((bytes / total) * 10) / 10,
  };
}

/**
 * The codecs alone, without Kafka: compress and decompress the records' values in chunks of the relay's
 * batch size, in one thread. Less exposed to the noise of a shared machine than the end-to-end figures.
 */
async function measureCodecsAlone(): Promise<Array<{ codec: KafkaCompression; compressMicrosPerRecord: number; decompressMicrosPerRecord: number; ratio: number }>> {
  const records = buildRecords('t', 0);
  const chunks: Buffer[] = [];
  for (let b = 0; b < records.length; b += BATCH_SIZE) chunks.push(Buffer.concat(records.slice(b, b + BATCH_SIZE).map((r) => Buffer.from(r.value))));
  const plainBytes = chunks.reduce((s, c) => s + c.length, 0);
  const runs: Record<string, { c: number[]; d: number[]; bytes: number }> = {};
  const codecs = CODECS.filter((c): c is Exclude<KafkaCompression, 'none'> => c !== 'none');
  for (let round = 0; round < 5; round++) {
    for (const codec of codecs.map((_, i) => codecs[(i + round) % codecs.length])) {
      const run = (runs[codec] ??= { c: [], d: [], bytes: 0 });
      gc();
      let t = process.cpuUsage();
      const compressed: Buffer[] = [];
      for (const chunk of chunks) compressed.push(await KAFKAJS_CODECS[codec].compress({ buffer: chunk }));
      run.c.push(cpuMicros(process.cpuUsage(t)) / records.length);
      t = process.cpuUsage();
      for (const chunk of compressed) await KAFKAJS_CODECS[codec].decompress(chunk);
      run.d.push(cpuMicros(process.cpuUsage(t)) / records.length);
      run.bytes = compressed.reduce((s, c) => s + c.length, 0);
    }
  }
  const r2 = (x: number) => Math.round(x * 100) / 100;
  return codecs.map((codec) => ({ codec, compressMicrosPerRecord: r2(median(runs[codec].c)), decompressMicrosPerRecord: r2(median(runs[codec].d)), ratio: r2(plainBytes / runs[codec].bytes) }));
}
const cpuMicros = (u: NodeJS.CpuUsage) => u.user + u.system;

async function main(): Promise<void> {
  const runId = `cbench${randomBytes(3).toString('hex')}`;
  const settings: KafkaSettings = { brokers: BROKERS, clientId: runId, topicPrefix: `${runId}.`, defaultPartitions: PARTITIONS };
  const kafka = createKafka(settings, new JsonLogger('compression-bench', undefined, 'error'));
  const sample = buildRecords('t', 0).slice(0, 1000);
  const avgValueBytes = Math.round(sample.reduce((s, r) => s + Buffer.byteLength(r.value), 0) / sample.length);
  say(`${RECORDS} records (values ~${avgValueBytes} B) x ${ROUNDS} rounds, codecs ${CODECS.join(',')}, Node ${process.version}`);
  const measurements: Measurement[] = [];
  const startedAt = new Date();
  const codecsAlone = await measureCodecsAlone();
  say(`codecs alone, medians of 5 (µs CPU per record): ${codecsAlone.map((c) => `${c.codec} compress ${c.compressMicrosPerRecord} decompress ${c.decompressMicrosPerRecord} ratio ${c.ratio}`).join(' | ')}`);
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const order = CODECS.map((_, i) => CODECS[(i + round - 1) % CODECS.length]);
      for (const codec of order) {
        const m = await measure(codec, round, kafka, settings);
        measurements.push(m);
        say(
          `round ${round} ${codec.padEnd(6)} produce ${m.produceRecordsPerSecond} rec/s ${m.produceCpuMicrosPerRecord} µs CPU/rec | ` +
            `consume ${m.consumeRecordsPerSecond} rec/s ${m.consumeCpuMicrosPerRecord} µs CPU/rec | ${m.bytesPerRecord} B/rec on disk`,
        );
      }
    }
  } finally {
    const admin = new Kafka({ clientId: `${runId}-admin`, brokers: BROKERS, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const mine = (await admin.listTopics()).filter((t) => t.startsWith(settings.topicPrefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  }
  const med = (codec: KafkaCompression, pick: (m: Measurement) => number | null) => {
    const xs = measurements.filter((m) => m.codec === codec).map(pick).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  const summary = CODECS.map((codec) => ({
    codec,
    produceRecordsPerSecond: med(codec, (m) => m.produceRecordsPerSecond),
    produceCpuMicrosPerRecord: med(codec, (m) => m.produceCpuMicrosPerRecord),
    consumeRecordsPerSecond: med(codec, (m) => m.consumeRecordsPerSecond),
    consumeCpuMicrosPerRecord: med(codec, (m) => m.consumeCpuMicrosPerRecord),
    bytesPerRecord: med(codec, (m) => m.bytesPerRecord),
  }));
  const lines = [
    `| codec | produce rec/s | produce µs CPU/rec | consume rec/s | consume µs CPU/rec | bytes/rec on the wire |`,
    `|---|---:|---:|---:|---:|---:|`,
    ...summary.map((s) => `| ${s.codec} | ${s.produceRecordsPerSecond} | ${s.produceCpuMicrosPerRecord} | ${s.consumeRecordsPerSecond} | ${s.consumeCpuMicrosPerRecord} | ${s.bytesPerRecord} |`),
  ];
  say(`medians of ${ROUNDS} rounds:\n${lines.join('\n')}`);
  const dir = path.join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `kafka-compression-node${process.versions.node.split('.')[0]}-${startedAt.toISOString().slice(0, 10)}.json`);
  const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version };
  writeFileSync(file, `${JSON.stringify({ startedAt, machine, records: RECORDS, rounds: ROUNDS, avgValueBytes, codecsAlone, summary, measurements }, null, 2)}\n`);
  say(`wrote ${path.relative(ROOT, file)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
