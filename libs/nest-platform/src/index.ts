export * from './lib/service-config';
export * from './lib/tokens';
export * from './lib/outbox-publisher';
export * from './lib/exactly-once-transport';
export * from './lib/create-service-app';
export * from './lib/readiness';
export * from './lib/nest-json-logger';
