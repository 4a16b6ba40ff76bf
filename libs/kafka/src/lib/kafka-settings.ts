import { Kafka, logLevel, type LogEntry } from 'kafkajs';
import { JsonLogger } from '@tally/telemetry';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  /** Prepended to every logical topic name: lets test suites (or environments) share one broker. */
  topicPrefix: string;
  /** Partitions for topics this service creates when they are missing. */
  defaultPartitions: number;
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
  const kafkaLogger = logger.child('kafkajs');
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10 },
    logCreator:
      () =>
      ({ level, log }: LogEntry) => {
        const { message, ...rest } = log;
        // Transient coordinator errors while a group forms are retried by kafkajs; they are not ours to shout about.
        const lvl = LEVELS[level] === 'error' && /coordinator/i.test(String(rest.error)) ? 'debug' : LEVELS[level];
        kafkaLogger[lvl ?? 'info'](message, rest);
      },
  });
}
