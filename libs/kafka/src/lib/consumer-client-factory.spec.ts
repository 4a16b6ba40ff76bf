import { Kafka } from 'kafkajs';
import { JsonLogger } from '@tally/telemetry';
import { consumerClientName, createConsumerClientFactory } from './consumer-client-factory';
import { KafkajsConsumerClient } from './kafkajs-consumer-client';
import { PlatformaticConsumerClient } from './platformatic-consumer-client';

describe('KAFKA_CONSUMER_CLIENT', () => {
  it('defaults to kafkajs when unset or blank', () => {
    expect(consumerClientName({})).toBe('kafkajs');
    expect(consumerClientName({ KAFKA_CONSUMER_CLIENT: '  ' })).toBe('kafkajs');
  });

  it('accepts the two client names, trimmed', () => {
    expect(consumerClientName({ KAFKA_CONSUMER_CLIENT: 'platformatic' })).toBe('platformatic');
    expect(consumerClientName({ KAFKA_CONSUMER_CLIENT: ' kafkajs ' })).toBe('kafkajs');
  });

  it('refuses anything else with the allowed values, at factory creation (boot), not at the first consumer', () => {
    for (const bad of ['Platformatic', 'rdkafka', 'kafkajs,platformatic', '__proto__']) {
      expect(() => consumerClientName({ KAFKA_CONSUMER_CLIENT: bad })).toThrow(`KAFKA_CONSUMER_CLIENT must be one of kafkajs, platformatic (got "${bad}")`);
    }
    const deps = { kafka: new Kafka({ brokers: ['127.0.0.1:1'] }), brokers: ['127.0.0.1:1'], clientId: 'c', logger: new JsonLogger('test', undefined, 'error') };
    expect(() => createConsumerClientFactory(deps, { KAFKA_CONSUMER_CLIENT: 'nope' })).toThrow(/KAFKA_CONSUMER_CLIENT/);
  });

  it('builds the chosen client', () => {
    const deps = { kafka: new Kafka({ brokers: ['127.0.0.1:1'] }), brokers: ['127.0.0.1:1'], clientId: 'c', logger: new JsonLogger('test', undefined, 'error') };
    const options = { groupId: 'g', topics: ['t'], sessionTimeoutMs: 30_000, heartbeatIntervalMs: 3_000, fetchMinBytes: 1, fetchMaxWaitMs: 100, maxBytesPerPartition: 1_048_576, partitionsConsumedConcurrently: 1 };
    expect(createConsumerClientFactory(deps, {})(options)).toBeInstanceOf(KafkajsConsumerClient);
    expect(createConsumerClientFactory(deps, { KAFKA_CONSUMER_CLIENT: 'platformatic' })(options)).toBeInstanceOf(PlatformaticConsumerClient);
  });
});
