// `npm run offsets:reset -- --service <name> --topic <topic>`: after a topic was deleted and created again,
// makes the service read the new topic from its beginning (see TopicRecreatedError). Stop the service first.
import { KAFKA_PLUMBING_MIGRATIONS, resetStoredOffsets } from '@tally/kafka';
import { loadServiceConfig, redactUrl } from '@tally/nest-platform';
import { openServiceDataSource } from '@tally/postgres';
import { SERVICES } from './services';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const name = arg('service');
  const topic = arg('topic');
  const service = SERVICES.find((s) => s.name === name);
  if (!service || !topic) {
    throw new Error(`usage: npm run offsets:reset -- --service <${SERVICES.map((s) => s.name).join('|')}> --topic <topic name as the error printed it>`);
  }
  const config = loadServiceConfig(service.name, { port: service.defaultPort });
  const ds = await openServiceDataSource({ url: config.databaseUrl, schema: config.dbSchema, migrations: [...KAFKA_PLUMBING_MIGRATIONS, ...service.migrations] });
  try {
    const deleted = await resetStoredOffsets(ds, topic);
    process.stdout.write(`${redactUrl(config.databaseUrl)} schema ${config.dbSchema}: forgot ${deleted} stored offset(s) of ${topic}; restart ${service.name} to read it from the beginning\n`);
  } finally {
    await ds.destroy();
  }
}

main().catch((e) => {
  process.stderr.write(`offsets:reset: ${(e as Error).message}\n`);
  process.exit(1);
});
