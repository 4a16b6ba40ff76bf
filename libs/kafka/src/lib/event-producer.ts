import type { Kafka, Producer } from 'kafkajs';
import { DEFAULT_KAFKA_COMPRESSION, KAFKAJS_COMPRESSION_TYPES, registerKafkajsCodecs, type KafkaCompression } from './compression';
import { CoalescingSendQueue } from './coalescing-send-queue';

export interface ProducedRecord {
  topic: string;
  key: string | null;
  value: string | Buffer;
  headers?: Record<string, string>;
}

/**
 * The project's own small producer interface: the rest of Tally never touches the client library, so
 * another Kafka client can be swapped in (and benchmarked) behind it.
 */
export interface EventProducer {
  connect(): Promise<void>;
  /** Resolves once every record is acknowledged by all in-sync replicas; order per key is kept. */
  send(records: ProducedRecord[]): Promise<void>;
  disconnect(): Promise<void>;
}

/** Rough wire size of a record, to keep each produce request well under the broker's 1 MiB batch limit. */
export function producedRecordSize(r: ProducedRecord): number {
  let size = 70 + Buffer.byteLength(r.value) + (r.key ? Buffer.byteLength(r.key) : 0);
  for (const [name, value] of Object.entries(r.headers ?? {})) size += Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
  return size;
}

/** Shared by both producers: merged sends, cut into requests of at most 512 KiB. */
export const PRODUCE_REQUEST_LIMITS = { maxRecords: 5000, maxBytes: 512 * 1024, sizeOf: producedRecordSize };

export interface KafkajsEventProducerOptions {
  /** Codec of the batches sent (default DEFAULT_KAFKA_COMPRESSION); the broker keeps them as sent. */
  compression?: KafkaCompression;
}

export class KafkajsEventProducer implements EventProducer {
  private readonly producer: Producer;
  readonly compression: KafkaCompression;

  constructor(kafka: Kafka, options: KafkajsEventProducerOptions = {}) {
    this.compression = options.compression ?? DEFAULT_KAFKA_COMPRESSION;
    registerKafkajsCodecs(); // also for a Kafka client not made by createKafka
    // Idempotent producer: a retried send is written once; one request in flight keeps order per key.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** kafkajs' idempotent producer must not have two sends in flight (see CoalescingSendQueue). */
  private readonly queue = new CoalescingSendQueue<ProducedRecord>((records) => this.sendNow(records), PRODUCE_REQUEST_LIMITS);

  send(records: ProducedRecord[]): Promise<void> {
    return this.queue.send(records);
  }

  private async sendNow(records: ProducedRecord[]): Promise<void> {
    const byTopic = new Map<string, ProducedRecord[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(r);
      byTopic.set(r.topic, list);
    }
    await this.producer.sendBatch({
      acks: -1,
      compression: KAFKAJS_COMPRESSION_TYPES[this.compression],
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((r) => ({ key: r.key, value: r.value, headers: r.headers })),
      })),
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
