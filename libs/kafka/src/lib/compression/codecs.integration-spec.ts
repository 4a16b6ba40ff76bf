import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { TestSuite } from '@tally/testing';
import { JsonLogger } from '@tally/telemetry';
import { KafkajsEventProducer, type EventProducer } from '../event-producer';
import { PlatformaticEventProducer } from '../platformatic-event-producer';
import { createKafka } from '../kafka-settings';
import { ensureTopics } from '../topic-admin';
import { KAFKAJS_CODECS, nodeCanCompress, type KafkaCompression } from './kafka-compression';

// The Apache Kafka Java client from the jars `npm run setup` fetched: a producer and consumer that are
// not Tally's code path (see java/KafkaCompressionTool.java).
const { kafkaLibs } = require('../../../../../tools/local-paths') as { kafkaLibs: string };
const TOOL = resolve(__dirname, 'java/KafkaCompressionTool.java');

function runJava(args: string[], stdin: string): Promise<string> {
  if (!existsSync(kafkaLibs) || !readdirSync(kafkaLibs).some((f) => /^kafka-clients-.*\.jar$/.test(f))) {
    throw new Error(`the Kafka jars are missing from ${kafkaLibs}: run \`npm run setup\` (node tools/kafka.js fetch)`);
  }
  return new Promise((ok, fail) => {
    const java = spawn('java', ['-cp', join(kafkaLibs, '*'), TOOL, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    java.stdout.on('data', (d: Buffer) => (out += d.toString()));
    java.stderr.on('data', (d: Buffer) => (err += d.toString()));
    java.on('error', fail);
    java.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`java ${args[0]} exited ${code}: ${err.slice(-2000)}`))));
    java.stdin.end(stdin);
  });
}

interface TestRecord {
  codec: KafkaCompression;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

const b64 = (b: Buffer | null) => (b === null ? '-' : b.toString('base64'));
const unb64 = (s: string) => (s === '-' ? null : Buffer.from(s, 'base64'));
const line = (r: TestRecord) =>
  [r.codec, b64(r.key), b64(r.value), Object.keys(r.headers).length ? Object.entries(r.headers).map(([k, v]) => `${k}=${b64(v)}`).join(',') : '-'].join('\t');

/** What careless and hostile producers send: binary, empty, null, huge, odd text, binary headers. */
function recordsFor(codec: KafkaCompression, tag: string): TestRecord[] {
  const event = (i: number) =>
    Buffer.from(JSON.stringify({ specversion: '1.0', id: `${tag}-${codec}-${i}`, source: '//java', type: 'api.call', subject: 'cus_1', time: '2026-11-24T12:00:00Z', data: { calls: i } }));
  // Past 64 KiB LZ4 blocks, 32 KiB xerial snappy chunks and 128 KiB zstd blocks; compressible, not trivially.
  const large = Buffer.concat(Array.from({ length: 3000 }, (_, i) => Buffer.concat([event(i), randomBytes(8)])));
  return [
    { codec, key: Buffer.from('acme:cus_1'), value: event(1), headers: { traceparent: Buffer.from('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01') } },
    { codec, key: Buffer.from('acme:cus_2'), value: randomBytes(1500), headers: { binary: randomBytes(32) } },
    { codec, key: Buffer.from('acme:cus_3'), value: Buffer.alloc(0), headers: {} },
    { codec, key: Buffer.from('acme:cus_4'), value: null, headers: {} },
    { codec, key: null, value: event(5), headers: {} },
    { codec, key: Buffer.from([0, 0xff, 0xfe]), value: large, headers: {} },
    { codec, key: Buffer.from('ключ:😀'), value: Buffer.from('\u0000NUL é 😀 \uFFFD'.repeat(200), 'utf8'), headers: { 'ce_id': Buffer.from('x') } },
  ];
}

/** Reads `count` messages of a topic from the start with the kafkajs consumer that createKafka configures. */
async function readWithKafkajs(suite: TestSuite, topic: string, count: number): Promise<KafkaMessage[]> {
  const kafka = createKafka(suite.kafkaSettings, new JsonLogger('codecs-test', undefined, 'error'));
  const consumer = kafka.consumer({ groupId: `${suite.id}-${randomBytes(3).toString('hex')}`, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const seen: KafkaMessage[] = [];
  try {
    await new Promise<void>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`only ${seen.length} of ${count} messages arrived on ${topic}`)), 60_000);
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            seen.push(...batch.messages);
            if (seen.length >= count) {
              clearTimeout(timer);
              ok();
            }
          },
        })
        .catch(fail);
      consumer.on(consumer.events.CRASH, (e) => fail(e.payload.error));
    });
  } finally {
    await consumer.disconnect();
  }
  return seen.sort((a, b) => Number(a.offset) - Number(b.offset));
}

function expectIntact(received: { key: Buffer | null; value: Buffer | null; headers: Record<string, Buffer> }, sent: TestRecord, where: string): void {
  const show = (b: Buffer | null) => (b === null ? 'null' : `${b.length} bytes ${b.subarray(0, 12).toString('hex')}`);
  expect({ where, key: show(received.key), value: show(received.value) }).toEqual({ where, key: show(sent.key), value: show(sent.value) });
  expect(received.key === null ? null : received.key.equals(sent.key!)).toBe(sent.key === null ? null : true);
  expect(received.value === null ? null : received.value.equals(sent.value!)).toBe(sent.value === null ? null : true);
  expect(Object.keys(received.headers).sort()).toEqual(Object.keys(sent.headers).sort());
  for (const [name, value] of Object.entries(sent.headers)) expect(received.headers[name].equals(value)).toBe(true);
}

const kafkajsHeaders = (m: KafkaMessage): Record<string, Buffer> =>
  Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(String(v))]));

describe('every Kafka codec, between the Java client and Tally', () => {
  const suite = new TestSuite();
  const spies = (['gzip', 'snappy', 'lz4', 'zstd'] as const).map((codec) => [codec, jest.spyOn(KAFKAJS_CODECS[codec], 'decompress')] as const);

  beforeEach(() => spies.forEach(([, spy]) => spy.mockClear()));
  afterAll(async () => {
    jest.restoreAllMocks();
    await suite.cleanup();
  });

  it('reads every byte the Java producer wrote with gzip, snappy, lz4 and zstd, also batches of mixed codecs on one partition', async () => {
    const topic = suite.topic('compression.java.v1');
    await ensureTopics(suite.kafka, suite.kafkaSettings, [topic]);
    const perCodec = (['gzip', 'snappy', 'lz4', 'zstd'] as const).flatMap((codec) => recordsFor(codec, 'run'));
    // Then one small batch after another, each in another codec: one fetch brings them all together.
    const mixedOrder: KafkaCompression[] = ['none', 'zstd', 'gzip', 'lz4', 'snappy', 'zstd', 'none', 'snappy', 'lz4', 'gzip'];
    const mixed = mixedOrder.map((codec, i) => ({ ...recordsFor(codec, `mixed${i}`)[i % 2 ? 1 : 0] }));
    const sent = [...perCodec, ...mixed];

    const offsets = (await runJava(['produce', suite.kafkaBrokers, topic, '0'], sent.map(line).join('\n') + '\n')).trim().split('\n').map(Number);
    expect(offsets).toEqual(sent.map((_, i) => i));

    const received = await readWithKafkajs(suite, topic, sent.length);
    expect(received.map((m) => Number(m.offset))).toEqual(offsets);
    received.forEach((m, i) => expectIntact({ key: m.key, value: m.value, headers: kafkajsHeaders(m) }, sent[i], `offset ${i} (${sent[i].codec})`));
    // Each codec's decoder really ran: the Java producer compressed what it was told to.
    for (const [codec, spy] of spies) expect({ codec, called: spy.mock.calls.length > 0 }).toEqual({ codec, called: true });
  });

  it.each(['kafkajs', 'platformatic'] as const)('the Java consumer reads every byte the %s EventProducer compressed', async (client) => {
    const codecs = (['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const).filter(nodeCanCompress);
    const topic = suite.topic(`compression.${client}.v1`);
    await ensureTopics(suite.kafka, suite.kafkaSettings, [topic]);
    const sent: TestRecord[] = [];
    for (const codec of codecs) {
      const producer: EventProducer =
        client === 'kafkajs'
          ? new KafkajsEventProducer(suite.kafka, { compression: codec })
          : new PlatformaticEventProducer({ brokers: suite.kafkaBrokers.split(','), clientId: `${suite.id}-${codec}`, compression: codec });
      // EventProducer records carry a string key (a distinct one each here, to match them up) and string headers.
      const records = recordsFor(codec, client).map((r, i) => ({ ...r, key: Buffer.from(`${client}-${codec}-${i}`), value: r.value ?? Buffer.alloc(0), headers: { traceparent: Buffer.from(`tp-${codec}`) } }));
      await producer.connect();
      try {
        await producer.send(records.map((r) => ({ topic, key: r.key.toString(), value: r.value, headers: { traceparent: `tp-${codec}` } })));
      } finally {
        await producer.disconnect();
      }
      sent.push(...records);
    }

    const lines = (await runJava(['consume', suite.kafkaBrokers, topic, String(sent.length)], '')).trim().split('\n');
    expect(lines).toHaveLength(sent.length);
    const byKey = new Map(sent.map((r) => [r.key!.toString(), r]));
    for (const [partition, offset, key, value, headers] of lines.map((l) => l.split('\t'))) {
      const expected = byKey.get(unb64(key)!.toString());
      expect(expected).toBeDefined();
      const receivedHeaders = headers === '-' ? {} : Object.fromEntries(headers.split(',').map((h) => [h.slice(0, h.indexOf('=')), unb64(h.slice(h.indexOf('=') + 1))!]));
      expectIntact({ key: unb64(key), value: unb64(value), headers: receivedHeaders }, expected!, `partition ${partition} offset ${offset} (${expected!.codec})`);
    }

    // And the batches on the broker are in those codecs: Tally's own consumer decompresses each of them.
    await readWithKafkajs(suite, topic, sent.length);
    for (const [codec, spy] of spies) {
      if (codecs.includes(codec)) expect({ codec, called: spy.mock.calls.length > 0 }).toEqual({ codec, called: true });
    }
  });
});
