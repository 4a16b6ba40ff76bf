import type { Producer } from '@platformatic/kafka';
import { CoalescingSendQueue } from './coalescing-send-queue';
import { compressionUnavailableReason, DEFAULT_KAFKA_COMPRESSION, type KafkaCompression } from './compression';
import { importEsm } from './esm-import';
import { platformaticSecurityOptions, type KafkaSecurity } from './kafka-security';
import { isTransientStartupError, startupErrorSummary } from './startup-retry';
import { PRODUCE_REQUEST_LIMITS, type EventProducer, type ProducedRecord } from './event-producer';

type PlatformaticKafka = typeof import('@platformatic/kafka');
type RecordProducer = Producer<string, string | Buffer, string, string>;

/** @platformatic/kafka is ESM-only while Tally is CommonJS: see importEsm. */
let loaded: Promise<PlatformaticKafka> | undefined;
const loadPlatformaticKafka = (): Promise<PlatformaticKafka> => (loaded ??= importEsm<PlatformaticKafka>('@platformatic/kafka'));

export interface PlatformaticEventProducerOptions {
  brokers: string[];
  clientId: string;
  /** Produce request / connection timeout (the library's default is 5 s; kafkajs waits 30 s). */
  timeoutMs?: number;
  /** Retries of one request before `send` rejects (the relay then re-sends the rows later); at least 2. */
  retries?: number;
  /**
   * Codec of the batches sent (default DEFAULT_KAFKA_COMPRESSION), compressed by the library itself: gzip
   * and zstd with Node's zlib (zstd needs Node >= 22.15), snappy (raw) and lz4 in WASM.
   */
  compression?: KafkaCompression;
  /** TLS and SASL, as every other client of the service gets them. */
  security?: KafkaSecurity;
}

const toBuffer = (value?: string | Buffer): Buffer | undefined => (value === undefined ? undefined : typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
const stringToBuffer = (value?: string): Buffer | undefined => (value === undefined ? undefined : Buffer.from(value, 'utf8'));

/**
 * The alternative producer behind `EventProducer`, with the guarantees of `KafkajsEventProducer`:
 * idempotent, acks = all, one request in flight per broker (so order per key is kept), `send` resolves
 * only after every record is acknowledged.
 */
export class PlatformaticEventProducer implements EventProducer {
  private producer?: RecordProducer;
  /** Sends run one after another (what queues meanwhile goes in one request), as with kafkajs. */
  private readonly queue = new CoalescingSendQueue<ProducedRecord>((records) => this.sendNow(records), PRODUCE_REQUEST_LIMITS);
  /** After a failed send the broker may or may not hold some of it: the next send starts a new producer id. */
  private resetProducerId = false;

  constructor(private readonly options: PlatformaticEventProducerOptions) {}

  async connect(): Promise<void> {
    if (this.producer) return;
    const compression = this.options.compression ?? DEFAULT_KAFKA_COMPRESSION;
    const unavailable = compressionUnavailableReason(compression);
    if (unavailable) throw new Error(unavailable);
    const { Producer, Admin, compatibilityPartitioner } = await loadPlatformaticKafka();
    await failFastOnDeniedConnection(Admin, this.options);
    let roundRobin = 0;
    const producer: RecordProducer = new Producer<string, string | Buffer, string, string>({
      clientId: this.options.clientId,
      bootstrapBrokers: this.options.brokers,
      ...platformaticSecurityOptions(this.options.security),
      // Also forces acks = all and one in-flight request per connection.
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
      compression,
      timeout: this.options.timeoutMs ?? 30_000,
      // Idempotent mode would otherwise retry forever, holding the relay's database transaction open; and
      // the library turns `retries` of 0 or 1 into "forever" too, so 2 is the least that means "few".
      retries: Math.max(2, this.options.retries ?? 10),
      retryDelay: (_client, _operation, attempt) => Math.min(200 * 2 ** Math.max(0, attempt - 1), 5_000),
      // The library's default partitioner (`murmur2 >>> 0`) puts about half the keys on another partition
      // than kafkajs and the Java client (`murmur2 & 0x7fffffff`); this one keeps every key where it was.
      partitioner: (message, key) => (key ? compatibilityPartitioner(message, key) : (roundRobin = (roundRobin + 1) % 0x40000000)),
      serializers: { key: stringToBuffer, value: toBuffer, headerKey: stringToBuffer, headerValue: stringToBuffer },
    });
    // Like kafkajs' connect(): reach the cluster and get a producer id now, so a bad broker list fails at boot.
    try {
      await producer.initIdempotentProducer({});
    } catch (e) {
      await producer.close().catch(() => undefined);
      throw e;
    }
    this.producer = producer;
  }

  send(records: ProducedRecord[]): Promise<void> {
    return this.queue.send(records);
  }

  async disconnect(): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await producer?.close();
  }

  private async sendNow(records: ProducedRecord[]): Promise<void> {
    const producer = this.producer;
    if (!producer) throw new Error('PlatformaticEventProducer is not connected: call connect() first');
    if (this.resetProducerId) {
      // Fresh id, sequences from 0: a re-sent batch can never be taken for a duplicate of a different
      // batch with the same sequence numbers (it may be written twice; consumers dedupe by event id).
      await producer.initIdempotentProducer({});
      this.resetProducerId = false;
    }
    try {
      await producer.send({
        acks: -1,
        messages: records.map((r) => ({ topic: r.topic, key: r.key ?? undefined, value: r.value, headers: r.headers })),
      });
    } catch (e) {
      this.resetProducerId = true;
      throw e;
    }
  }
}

/**
 * The idempotent producer retries `initProducerId` through every error, wrong credentials and refused
 * certificates included (about 35 s with our retry settings) and then reports only "failed 11 times". One
 * metadata request without retries first turns such a misconfiguration into an immediate, named error;
 * a broker that is merely not up yet is left to the producer's (and the start-up's) retries.
 */
async function failFastOnDeniedConnection(Admin: PlatformaticKafka['Admin'], options: PlatformaticEventProducerOptions): Promise<void> {
  const probe = new Admin({ clientId: `${options.clientId}-probe`, bootstrapBrokers: options.brokers, ...platformaticSecurityOptions(options.security), retries: 0, timeout: options.timeoutMs ?? 30_000 });
  try {
    await probe.metadata({ topics: [] });
  } catch (e) {
    if (!isTransientStartupError(e)) throw Object.assign(new Error(`cannot use the Kafka brokers ${options.brokers.join(',')}: ${startupErrorSummary(e)}`), { cause: e });
  } finally {
    await probe.close().catch(() => undefined);
  }
}
