import { tracing } from '@opentelemetry/sdk-node';
import type { DataSource } from 'typeorm';
import { openServiceDataSource } from '@tally/postgres';
import { JsonLogger, startTelemetry, stopTelemetry } from '@tally/telemetry';
import { expectEventually, TestSuite } from '@tally/testing';
import { KafkajsEventProducer, type EventProducer, type ProducedRecord } from './event-producer';
import { writeOutbox } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { KAFKA_PLUMBING_MIGRATIONS } from './plumbing-migration';

/** A real producer that dies right after Kafka acknowledged, before the relay can mark the rows sent. */
class CrashAfterSend implements EventProducer {
  constructor(private readonly real: EventProducer) {}
  connect = () => this.real.connect();
  disconnect = () => this.real.disconnect();
  async send(records: ProducedRecord[]): Promise<void> {
    await this.real.send(records);
    throw new Error('relay crashed after the send, before marking rows published');
  }
}

describe('OutboxRelay (real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const logger = new JsonLogger('relay-test', undefined, 'error');
  let dataSource: DataSource;
  let producer: KafkajsEventProducer;

  const spans = new tracing.InMemorySpanExporter();

  beforeAll(async () => {
    startTelemetry({ serviceName: 'relay-test', spanProcessors: [new tracing.SimpleSpanProcessor(spans)] });
    dataSource = await openServiceDataSource({ url: suite.databaseUrl, schema: suite.schema('relay'), migrations: KAFKA_PLUMBING_MIGRATIONS });
    producer = new KafkajsEventProducer(suite.kafka);
    await producer.connect();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await dataSource?.destroy();
    await stopTelemetry();
    await suite.cleanup();
  });

  it('restores the trace context stored with a row: the record is sent under a PRODUCER span that is its child', async () => {
    const topic = 'relay.traced.v1';
    const collector = await suite.collect([topic]);
    const stored = { trace: '4bf92f3577b34da6a3ce929d0e0e4736', span: '00f067aa0ba902b7' };
    await dataSource.transaction((m) =>
      writeOutbox(m, [
        { topic: suite.topic(topic), key: 'k', value: JSON.stringify({ eventId: 'traced' }), headers: { traceparent: `00-${stored.trace}-${stored.span}-01`, tracestate: 'vendor=x', 'tally-tenant': 'acme' } },
        // Another event of the same cause: sent under the same span.
        { topic: suite.topic(topic), key: 'k', value: JSON.stringify({ eventId: 'traced-too' }), headers: { traceparent: `00-${stored.trace}-${stored.span}-01`, tracestate: 'vendor=x', 'tally-tenant': 'acme' } },
        // No context stored (written outside any trace), and a malformed one: both sent as stored, no span.
        { topic: suite.topic(topic), key: 'k', value: JSON.stringify({ eventId: 'untraced' }), headers: { 'tally-tenant': 'acme' } },
        { topic: suite.topic(topic), key: 'k', value: JSON.stringify({ eventId: 'garbage' }), headers: { traceparent: 'not-a-traceparent' } },
      ]),
    );
    spans.reset();
    const relay = new OutboxRelay(dataSource, producer, logger);
    while ((await relay.publishOnce()) > 0);

    const got = await expectEventually(() => {
      const list = collector.on<{ eventId: string }>(topic);
      expect(list.map((m) => m.value.eventId)).toEqual(['traced', 'traced-too', 'untraced', 'garbage']);
      return list;
    });
    const sends = spans.getFinishedSpans().filter((s) => s.name === `send ${suite.topic(topic)}`);
    expect(sends).toHaveLength(1);
    const [send] = sends;
    expect(send.spanContext().traceId).toBe(stored.trace);
    expect(send.parentSpanContext?.spanId).toBe(stored.span);
    // The consumer sees the send span as the record's parent, in the stored trace, with the stored tracestate.
    expect(got[0].headers.traceparent).toBe(`00-${stored.trace}-${send.spanContext().spanId}-01`);
    expect(got[0].headers.tracestate).toBe('vendor=x');
    expect(got[0].headers['tally-tenant']).toBe('acme');
    expect(got[1].headers.traceparent).toBe(got[0].headers.traceparent);
    expect(got[2].headers.traceparent).toBeUndefined();
    expect(got[3].headers.traceparent).toBe('not-a-traceparent');
  });

  it('loses nothing when it crashes between publishing and marking: the rows are published again, in order per key', async () => {
    const topic = 'relay.test.v1';
    const collector = await suite.collect([topic]);
    await dataSource.transaction((m) =>
      writeOutbox(
        m,
        Array.from({ length: 60 }, (_, i) => ({ topic: suite.topic(topic), key: `k${i % 3}`, value: JSON.stringify({ eventId: `e${i}`, seq: i }) })),
      ),
    );

    const crashing = new OutboxRelay(dataSource, new CrashAfterSend(producer), logger, { batchSize: 25 });
    await expect(crashing.publishOnce()).rejects.toThrow('relay crashed');
    const [{ pending }] = await dataSource.query(`SELECT count(*)::int AS pending FROM "${suite.schema('relay')}".outbox WHERE published_at IS NULL`);
    expect(pending).toBe(60);

    const relay = new OutboxRelay(dataSource, producer, logger, { batchSize: 25 });
    while ((await relay.publishOnce()) > 0);

    await expectEventually(() => expect(new Set(collector.on(topic).map((m) => m.value.eventId)).size).toBe(60));
    const all = collector.on<{ eventId: string; seq: number }>(topic);
    // The first 25 went out twice (at-least-once); consumers dedupe them by event id.
    expect(all).toHaveLength(85);
    for (const key of ['k0', 'k1', 'k2']) {
      const seqs = all.filter((m) => m.key === key).map((m) => m.value.seq);
      const firstPass = seqs.slice(0, seqs.findIndex((s, i) => i > 0 && s < seqs[i - 1]));
      // Within each pass a key's events arrive in the order they were written.
      expect(firstPass).toEqual([...firstPass].sort((a, b) => a - b));
      expect(new Set(seqs)).toEqual(new Set(Array.from({ length: 20 }, (_, i) => i * 3 + Number(key[1]))));
    }
    const [{ left }] = await dataSource.query(`SELECT count(*)::int AS left FROM "${suite.schema('relay')}".outbox WHERE published_at IS NULL`);
    expect(left).toBe(0);
  });
});
