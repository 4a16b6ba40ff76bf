export * from './lib/charge-model';
export * from './lib/charges';
export * from './lib/invoice';
