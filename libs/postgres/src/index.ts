export * from './lib/service-data-source';
export * from './lib/batched-retention';
export * from './lib/key-locks';
