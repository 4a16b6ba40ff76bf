import type { Admin, Kafka } from 'kafkajs';
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
      // kafkajs' own leader wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers
      // while new metadata propagates; waitForLeaders below retries through it.
      waitForLeaders: false,
      topics: missing.map((topic) => ({
        topic,
        numPartitions: settings.defaultPartitions,
        configEntries: COMPACTED_TOPICS.has(logicalTopic(settings, topic))
          ? [{ name: 'cleanup.policy', value: 'compact' }]
          : [],
      })),
    });
    await waitForLeaders(admin, missing);
  } finally {
    await admin.disconnect();
  }
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: metadata } = await admin.fetchTopicMetadata({ topics });
      if (metadata.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
    }
    if (Date.now() > deadline) throw new Error(`topics without leaders after ${timeoutMs} ms: ${topics.join(', ')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
