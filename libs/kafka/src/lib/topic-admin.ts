import type { Admin, Kafka } from 'kafkajs';
import { COMPACTED_TOPICS } from '@tally/contracts';
import type { JsonLogger } from '@tally/telemetry';
import { logicalTopic, type KafkaSettings } from './kafka-settings';
import { retryAtStartup } from './startup-retry';

/**
 * The configuration of a topic Tally creates: an explicit replication factor and `min.insync.replicas` (so an
 * acks=all write is refused, not silently kept on too few brokers), compaction for "latest state" topics.
 */
export function topicSpec(settings: KafkaSettings, physical: string): { topic: string; numPartitions: number; replicationFactor: number; configEntries: Array<{ name: string; value: string }> } {
  const configEntries = [{ name: 'min.insync.replicas', value: String(settings.minInsyncReplicas ?? 1) }];
  if (COMPACTED_TOPICS.has(logicalTopic(settings, physical))) configEntries.push({ name: 'cleanup.policy', value: 'compact' });
  return { topic: physical, numPartitions: settings.defaultPartitions, replicationFactor: settings.replicationFactor ?? 1, configEntries };
}

/**
 * Creates the (physical) topics that are missing. Idempotent; safe when several services race. Transient
 * broker errors (a broker still starting, a coordinator loading) are waited out, so a service started before
 * its broker comes up once the broker does.
 */
export async function ensureTopics(kafka: Kafka, settings: KafkaSettings, physicalTopics: string[], logger?: JsonLogger): Promise<void> {
  await retryAtStartup('creating topics', () => createMissingTopics(kafka, settings, physicalTopics), { logger });
}

async function createMissingTopics(kafka: Kafka, settings: KafkaSettings, physicalTopics: string[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = [...new Set(physicalTopics)].filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin
      .createTopics({
        // kafkajs' own leader wait gives up on UNKNOWN_TOPIC_OR_PARTITION, which a KRaft broker answers
        // while new metadata propagates; waitForLeaders below retries through it.
        waitForLeaders: false,
        topics: missing.map((topic) => topicSpec(settings, topic)),
      })
      .catch((e: Error & { errors?: Array<{ topic?: string; type?: string; message?: string }> }) => {
        // kafkajs says only "Topic creation errors"; the reasons (e.g. a replication factor above the number of
        // brokers) are in its `errors`. Kept as `cause`, so the start-up retry still sees each one's type.
        if (!Array.isArray(e.errors) || e.errors.length === 0) throw e;
        const reasons = e.errors.map((t) => `${t.topic ?? '?'}: ${t.type ?? ''} ${t.message ?? ''}`.trim());
        throw Object.assign(new Error(`creating topics (replication factor ${settings.replicationFactor ?? 1}, min.insync.replicas ${settings.minInsyncReplicas ?? 1}) failed: ${reasons.join('; ')}`), { cause: e });
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
