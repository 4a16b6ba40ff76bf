import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { JsonLogger } from '@tally/telemetry';
import { registerKafkajsCodecs, type KafkaCompression } from './compression';
import { kafkaSecurityWarnings, kafkajsSecurityOptions, type KafkaSecurity } from './kafka-security';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Prepended to every logical topic name: lets test suites (or environments) share one broker. */
  topicPrefix: string;
  /** Partitions for topics this service creates when they are missing. */
  defaultPartitions: number;
  /** How Tally's producers compress what they send (`KAFKA_COMPRESSION`); consumers read every codec. */
  compression?: KafkaCompression;
  /**
   * Replication of the topics this service creates (`KAFKA_REPLICATION_FACTOR`, `KAFKA_MIN_INSYNC_REPLICAS`):
   * explicit, never the broker's default; 1/1 fits only a single local broker.
   */
  replicationFactor?: number;
  minInsyncReplicas?: number;
  /** TLS and SASL of every client (`KAFKA_SSL*`, `KAFKA_SASL_*`); none when absent. */
  security?: KafkaSecurity;
}

export const physicalTopic = (settings: Pick<KafkaSettings, 'topicPrefix'>, logical: string): string =>
  `${settings.topicPrefix}${logical}`;

export const logicalTopic = (settings: Pick<KafkaSettings, 'topicPrefix'>, physical: string): string =>
  physical.startsWith(settings.topicPrefix) ? physical.slice(settings.topicPrefix.length) : physical;

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

export function createKafka(settings: KafkaSettings, logger: JsonLogger): Kafka {
  // Tally sets keys on every message, so the partitioner change of kafkajs 2 does not matter to it.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  // kafkajs only knows gzip: without these a snappy, lz4 or zstd batch would stop the partition.
  registerKafkajsCodecs();
  const kafkaLogger = logger.child('kafkajs');
  for (const warning of kafkaSecurityWarnings(settings.security)) kafkaLogger.warn(warning);
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ...kafkajsSecurityOptions(settings.security),
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        kafkaLogger[quieted(LEVELS[level] ?? 'info', message, rest.error)](message, rest);
      },
  });
}

/**
 * Transient coordinator errors while a group forms are retried by kafkajs; and the idempotent producer's
 * "limited retries" warning does not apply: the outbox re-sends whatever a failed send did not publish.
 */
function quieted(level: 'error' | 'warn' | 'info' | 'debug', message: string, error: unknown): 'error' | 'warn' | 'info' | 'debug' {
  // Also the leadership errors of freshly created topics, which kafkajs retries after a metadata refresh.
  if (level === 'error' && /coordinator|not the leader|leader not available|does not host this topic-partition/i.test(String(error))) return 'debug';
  if (level === 'warn' && message.startsWith('Limiting retries for the idempotent producer')) return 'debug';
  return level;
}

