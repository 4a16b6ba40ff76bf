import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ensureDatabase } from '@tally/postgres';

/**
 * Where integration tests find real Kafka and Postgres, in this order:
 *  1. KAFKA_BROKERS / DATABASE_URL when set (each on its own);
 *  2. testcontainers when a Docker engine answers (TALLY_TEST_DOCKER=0 skips the probe);
 *  3. the local broker from `npm run setup` (started here if it is not running) and the local Postgres.
 */
export interface TestInfra {
  kafkaBrokers: string;
  databaseUrl: string;
  describe: string;
  stop(): Promise<void>;
}

const REPO_ROOT = path.resolve(__dirname, '../../../..');

function localKafka(command: 'ensure' | 'stop'): string {
  const result = spawnSync(process.execPath, [path.join(REPO_ROOT, 'tools/kafka.js'), command, '--json'], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`tools/kafka.js ${command} failed: ${result.stderr || result.stdout}`);
  return result.stdout;
}

export const LOCAL_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tally_test';

async function dockerAnswers(): Promise<boolean> {
  if (process.env.TALLY_TEST_DOCKER === '0') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

export async function startTestInfra(): Promise<TestInfra> {
  const stops: Array<() => Promise<void>> = [];
  const described: string[] = [];
  let kafkaBrokers = process.env.KAFKA_BROKERS;
  let databaseUrl = process.env.DATABASE_URL;
  const docker = (!kafkaBrokers || !databaseUrl) && (await dockerAnswers());

  if (kafkaBrokers) {
    described.push(`Kafka from KAFKA_BROKERS (${kafkaBrokers})`);
  } else if (docker) {
    const { KafkaContainer } = await import('@testcontainers/kafka');
    // cp-kafka 8.0 is Apache Kafka 4.0 in KRaft mode, like the local broker.
    const kafka = await new KafkaContainer('confluentinc/cp-kafka:8.0.0').withKraft().start();
    kafkaBrokers = `${kafka.getHost()}:${kafka.getMappedPort(9093)}`;
    stops.push(async () => void (await kafka.stop()));
    described.push(`Kafka in a testcontainer (${kafkaBrokers})`);
  } else {
    // tools/kafka.js manages the broker that `npm run setup` fetched; it is a script, not a library.
    const { started } = JSON.parse(localKafka('ensure').split('\n').find((l) => l.startsWith('{')) ?? '{}') as { started?: boolean };
    kafkaBrokers = `127.0.0.1:${process.env.TALLY_KAFKA_PORT ?? 9092}`;
    if (started) stops.push(async () => void localKafka('stop'));
    described.push(`local Kafka (${kafkaBrokers}${started ? ', started for this run' : ''})`);
  }

  if (databaseUrl) {
    described.push('Postgres from DATABASE_URL');
  } else if (docker) {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const pg = await new PostgreSqlContainer('postgres:16-alpine').withDatabase('tally_test').start();
    databaseUrl = pg.getConnectionUri();
    stops.push(async () => void (await pg.stop()));
    described.push('Postgres in a testcontainer');
  } else {
    databaseUrl = LOCAL_TEST_DATABASE_URL;
    described.push(`local Postgres (${databaseUrl})`);
  }
  assertTestDatabase(databaseUrl);
  await ensureDatabase(databaseUrl);

  return {
    kafkaBrokers,
    databaseUrl,
    describe: described.join(', '),
    stop: async () => {
      for (const stop of stops.reverse()) await stop();
    },
  };
}

/** Tests create and drop schemas: refuse any database that is not plainly meant for tests. */
export function assertTestDatabase(url: string): void {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/test/i.test(name) && process.env.TALLY_ALLOW_ANY_TEST_DATABASE !== '1') {
    throw new Error(
      `refusing to run tests against database "${name}": its name must contain "test" ` +
        '(or set TALLY_ALLOW_ANY_TEST_DATABASE=1 if you really mean it)',
    );
  }
}
