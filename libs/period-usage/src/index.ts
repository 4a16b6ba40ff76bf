export * from './lib/period-usage';
