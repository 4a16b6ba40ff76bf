// A consumer in its own process, so a test can SIGKILL it at a chosen point of a batch:
//   CRASH_AT=beforeCommit  inside the transaction, after the handler wrote (Postgres rolls back)
//   CRASH_AT=afterCommit   after the Postgres commit, before the Kafka offset commit
// with CRASH_ON_BATCH=N (1-based). Without CRASH_AT it consumes until SIGTERM. SESSION_TIMEOUT_MS: the group session (6 s).
import { KAFKA_PLUMBING_MIGRATIONS } from '../lib/plumbing-migration';
import { openServiceDataSource } from '@tally/postgres';
import { CreateAppliedMessages1732400009000 } from './applied-messages.migration';
import { CRASH_TEST_TOPIC, recordingConsumer } from './recording-consumer';

async function main(): Promise<void> {
  const env = process.env;
  const dataSource = await openServiceDataSource({
    url: env.DATABASE_URL!,
    schema: env.TEST_SCHEMA!,
    migrations: [...KAFKA_PLUMBING_MIGRATIONS, CreateAppliedMessages1732400009000],
  });
  let batches = 0;
  const crashOn = Number(env.CRASH_ON_BATCH ?? 1);
  const die = (point: string) => {
    if (env.CRASH_AT !== point) return;
    batches += 1;
    if (batches === crashOn) {
      process.stdout.write(`crashing at ${point} of batch ${batches}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
  const consumer = recordingConsumer(
    dataSource,
    { brokers: env.KAFKA_BROKERS!.split(','), clientId: 'crash-consumer', topicPrefix: env.TEST_PREFIX!, defaultPartitions: 2 },
    env.TEST_GROUP!,
    { beforeCommit: () => die('beforeCommit'), afterCommit: () => die('afterCommit') },
    CRASH_TEST_TOPIC,
    undefined,
    env.SESSION_TIMEOUT_MS ? Number(env.SESSION_TIMEOUT_MS) : undefined,
  );
  await consumer.start();
  process.stdout.write('consuming\n');
  process.on('SIGTERM', async () => {
    await consumer.stop();
    await dataSource.destroy();
    process.exit(0);
  });
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
