export * from './lib/start-telemetry';
export * from './lib/trace-headers';
export * from './lib/json-logger';
