import { CompressionTypes, type Kafka, type Producer } from 'kafkajs';

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

export class KafkajsEventProducer implements EventProducer {
  private readonly producer: Producer;

  constructor(kafka: Kafka) {
    // Idempotent producer: a retried send is written once; one request in flight keeps order per key.
    this.producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: ProducedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, ProducedRecord[]>();
    for (const r of records) {
      const list = byTopic.get(r.topic) ?? [];
      list.push(r);
      byTopic.set(r.topic, list);
    }
    await this.producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
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
