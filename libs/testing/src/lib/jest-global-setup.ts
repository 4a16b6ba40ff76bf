import { startTestInfra, type TestInfra } from './test-infra';

declare global {
  var __tallyTestInfra: TestInfra | undefined;
}

/** Jest globalSetup of the integration project: one Kafka and one Postgres for the whole run. */
export default async function globalSetup(): Promise<void> {
  // Services started inside tests log only what matters unless asked otherwise.
  process.env.LOG_LEVEL ??= 'warn';
  const infra = await startTestInfra();
  globalThis.__tallyTestInfra = infra;
  // Workers are forked after this, so they inherit these.
  process.env.KAFKA_BROKERS = infra.kafkaBrokers;
  process.env.DATABASE_URL = infra.databaseUrl;
  process.stdout.write(`\n[test-infra] ${infra.describe}\n`);
}
