// `npm run db:migrate [service...]`: creates the database (local set-up) and migrates each service's schema.
import { KAFKA_PLUMBING_MIGRATIONS } from '@tally/kafka';
import { DEFAULT_DATABASE_URL, loadServiceConfig, redactUrl } from '@tally/nest-platform';
import { ensureDatabase, openServiceDataSource } from '@tally/postgres';
import { SERVICES } from './services';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  await ensureDatabase(url);
  for (const service of SERVICES.filter((s) => only.length === 0 || only.includes(s.name))) {
    const config = loadServiceConfig(service.name, { port: service.defaultPort });
    const ds = await openServiceDataSource({
      url: config.databaseUrl,
      schema: config.dbSchema,
      migrations: [...KAFKA_PLUMBING_MIGRATIONS, ...service.migrations],
    });
    await ds.destroy();
    process.stdout.write(`[setup] ${redactUrl(config.databaseUrl)} schema ${config.dbSchema}: migrated\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`[setup] database: ${(e as Error).message}\n`);
  process.exit(1);
});
