import type { DataSource } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import { JsonLogger } from '@tally/telemetry';
import type { EventProducer } from '../lib/event-producer';
import { createKafka, type KafkaSettings } from '../lib/kafka-settings';
import { ExactlyOnceConsumer, type ConsumerFaultHooks } from '../lib/exactly-once-consumer';
import { createConsumerClientFactory } from '../lib/consumer-client-factory';

export const TEST_TOPIC = 'plumbing.test.v1';
export const CRASH_TEST_TOPIC = 'plumbing.crash.v1';
export const DIRECT_TEST_TOPIC = 'plumbing.direct.v1';

/** An ExactlyOnceConsumer whose handler records every applied message and echoes it to a derived topic. */
export function recordingConsumer(
  dataSource: DataSource,
  settings: KafkaSettings,
  groupId: string,
  hooks?: ConsumerFaultHooks,
  topic = TEST_TOPIC,
  /** Given: derived events and dead letters are produced with it directly instead of through the outbox. */
  directProducer?: EventProducer,
  /** How long a SIGKILLed member keeps its partitions; the broker's minimum is 6 s. */
  sessionTimeoutMs = 6_000,
): ExactlyOnceConsumer {
  const logger = new JsonLogger('plumbing-test', undefined, 'warn');
  const kafka = createKafka(settings, logger);
  return new ExactlyOnceConsumer({
    kafka,
    // KAFKA_CONSUMER_CLIENT picks the Kafka client, so the same tests run on each (also in crash-consumer.process).
    client: createConsumerClientFactory({ kafka, brokers: settings.brokers, clientId: settings.clientId, logger }),
    settings,
    dataSource,
    groupId,
    logger,
    hooks,
    producer: directProducer,
    sessionTimeoutMs,
    subscriptions: [
      {
        topic,
        delivery: directProducer ? 'direct' : 'outbox',
        handler: async (messages, batch) => {
          await batch.manager.query(
            `INSERT INTO ${schemaOf(dataSource)}.applied_messages (partition, "offset", body)
             SELECT * FROM unnest($1::int[], $2::bigint[], $3::text[])`,
            [messages.map((m) => m.partition), messages.map((m) => m.offset), messages.map((m) => JSON.stringify(m.value))],
          );
          for (const m of messages) {
            if ((m.value as { poison?: boolean }).poison) batch.deadLetter(m, 'poison pill');
            else batch.emit({ topic: 'plumbing.derived.v1', key: m.key, value: { eventId: `derived-${m.partition}-${m.offset}`, source: m.value }, causedBy: m });
          }
        },
      },
    ],
  });
}
