import type { Admin } from '@platformatic/kafka';
import { importEsm } from './esm-import';

type PlatformaticKafka = typeof import('@platformatic/kafka');

/** Answers the broker's id of each named (physical) topic; topics it does not know are left out. */
export type TopicIdReader = (physicalTopics: string[]) => Promise<Map<string, string>>;

export interface TopicIdReaderOptions {
  brokers: string[];
  clientId: string;
  /** Further connection options of @platformatic/kafka (TLS, SASL), as the producer gets them. */
  connection?: Record<string, unknown>;
}

/**
 * Topic ids (Kafka >= 2.8) name one incarnation of a topic: a topic deleted and created again under the same
 * name gets a new id. kafkajs' metadata request is too old to carry them, so they are read with
 * @platformatic/kafka's admin client (metadata v10+), connected once and kept.
 */
export function platformaticTopicIdReader(options: TopicIdReaderOptions): TopicIdReader & { close(): Promise<void> } {
  let admin: Promise<Admin> | undefined;
  let closed = false;
  const connect = () =>
    (admin ??= importEsm<PlatformaticKafka>('@platformatic/kafka').then(
      ({ Admin }) => new Admin({ clientId: `${options.clientId}-topic-ids`, bootstrapBrokers: options.brokers, retries: 3, ...(options.connection ?? {}) }),
    ));
  const read = async (physicalTopics: string[]): Promise<Map<string, string>> => {
    const ids = new Map<string, string>();
    if (physicalTopics.length === 0) return ids;
    // A rebalance callback may still ask after close(): a new admin client then would never be closed.
    if (closed) throw new Error('topic id reader is closed');
    const client = await connect();
    const metadata = await client.metadata({ topics: physicalTopics, forceUpdate: true });
    for (const [name, topic] of metadata.topics) {
      // The all-zero id is what a broker without topic ids answers: no id, no check.
      if (topic.id && !/^[0-]+$/.test(topic.id) && physicalTopics.includes(name)) ids.set(name, topic.id);
    }
    return ids;
  };
  return Object.assign(read, {
    close: async () => {
      closed = true;
      const client = await admin?.catch(() => undefined);
      admin = undefined;
      await client?.close().catch(() => undefined);
    },
  });
}
