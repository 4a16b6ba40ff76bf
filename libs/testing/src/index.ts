export * from './lib/test-infra';
export * from './lib/test-suite';
export * from './lib/expect-eventually';
export * from './lib/secure-broker';
export * from './lib/java-kafka-producer';
