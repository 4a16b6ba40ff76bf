import type { Kafka } from 'kafkajs';
import { COMPACTED_TOPICS } from '@tally/contracts';
import { logicalTopic, type KafkaSettings } from './kafka-settings';

/** Creates the (physical) topics that are missing. Idempotent; safe when several services race. */
export async function ensureTopics(kafka: Kafka, settings: KafkaSettings, physicalTopics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(physicalTopics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: settings.defaultPartitions,
        configEntries: COMPACTED_TOPICS.has(logicalTopic(settings, topic))
          ? [{ name: 'cleanup.policy', value: 'compact' }]
          : [],
      })),
    });
  } finally {
    await admin.disconnect();
  }
}
