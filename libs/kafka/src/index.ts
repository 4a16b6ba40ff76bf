export * from './lib/kafka-settings';
export * from './lib/event-producer';
export * from './lib/topic-admin';
export * from './lib/plumbing-migration';
export * from './lib/outbox';
export * from './lib/outbox-relay';
export * from './lib/exactly-once-consumer';
export * from './lib/kafka-metrics';
