import { Client } from 'pg';
import { DataSource, type MigrationInterface } from 'typeorm';

export interface ServiceDatabaseOptions {
  url: string;
  /** The service's own schema; no service reads another's. */
  schema: string;
  migrations: Array<new () => MigrationInterface>;
  entities?: Array<string | (new () => unknown)>;
  poolSize?: number;
  applicationName?: string;
}

export const MIGRATIONS_TABLE = 'tally_migrations';

export function assertSafeIdentifier(name: string, what: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`${what} "${name}" must be a lower-case SQL identifier ([a-z_][a-z0-9_]*, at most 63 chars)`);
  }
  return name;
}

/** Creates the database named in `url` when it does not exist (the local one-machine set-up). */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  assertSafeIdentifier(name, 'database name');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } catch (e) {
        // Two processes may race to create it; the loser finds it there.
        if ((e as { code?: string }).code !== '42P04') throw e;
      }
    }
  } finally {
    await client.end();
  }
}

/**
 * One TypeORM DataSource per service schema: the schema is created if missing, `synchronize` is off,
 * and the service's explicit migrations run (tracked in `<schema>.tally_migrations`).
 */
export async function openServiceDataSource(options: ServiceDatabaseOptions): Promise<DataSource> {
  const schema = assertSafeIdentifier(options.schema, 'schema');
  const bootstrap = new Client({ connectionString: options.url });
  await bootstrap.connect();
  try {
    await bootstrap.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (e) {
    if ((e as { code?: string }).code !== '23505') throw e; // concurrent CREATE SCHEMA
  } finally {
    await bootstrap.end();
  }
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    synchronize: false,
    migrationsRun: false,
    migrations: options.migrations,
    migrationsTableName: MIGRATIONS_TABLE,
    migrationsTransactionMode: 'each',
    entities: options.entities ?? [],
    poolSize: options.poolSize ?? 10,
    applicationName: options.applicationName ?? `tally-${schema}`,
    extra: { options: `-c search_path="${schema}",public` },
  });
  await dataSource.initialize();
  await runMigrationsExclusively(dataSource, schema);
  return dataSource;
}

/** Several instances of a service may start at once; an advisory lock makes one of them migrate. */
async function runMigrationsExclusively(dataSource: DataSource, schema: string): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`tally-migrate:${schema}`]);
    await dataSource.runMigrations({ transaction: 'each' });
  } finally {
    await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`tally-migrate:${schema}`]).catch(() => undefined);
    await runner.release();
  }
}

/** The schema a DataSource was opened on, quoted for SQL. */
export function schemaOf(dataSource: DataSource): string {
  const schema = (dataSource.options as { schema?: string }).schema;
  if (!schema) throw new Error('DataSource has no schema: open it with openServiceDataSource');
  return `"${assertSafeIdentifier(schema, 'schema')}"`;
}

export interface ReadDatabaseOptions {
  url: string;
  /** The service's schema, already created and migrated by its main DataSource. */
  schema: string;
  /** Small on purpose: API reads queue (or fail fast) here instead of taking the consumers' connections. */
  poolSize: number;
  /** Postgres cancels an API statement running longer (SQLSTATE 57014). */
  statementTimeoutMs: number;
  /** How long a request waits for a free connection of this pool before it fails. */
  acquireTimeoutMs: number;
  applicationName?: string;
}

/**
 * A second, small pool for the HTTP API's reads: its own connections (a flood of reads cannot starve the
 * exactly-once consumers of theirs), a `statement_timeout` on every statement (a heavy query cannot hold a
 * connection for minutes), and read-only transactions (a read path cannot write by mistake).
 */
export async function openReadDataSource(options: ReadDatabaseOptions): Promise<DataSource> {
  const schema = assertSafeIdentifier(options.schema, 'schema');
  const timeout = Math.max(1, Math.floor(options.statementTimeoutMs));
  const dataSource = new DataSource({
    type: 'postgres',
    url: options.url,
    schema,
    synchronize: false,
    migrationsRun: false,
    entities: [],
    poolSize: options.poolSize,
    connectTimeoutMS: options.acquireTimeoutMs,
    applicationName: options.applicationName ?? `tally-${schema}-api`,
    extra: {
      options: `-c search_path="${schema}",public -c statement_timeout=${timeout} -c idle_in_transaction_session_timeout=${timeout} -c default_transaction_read_only=on`,
    },
  });
  await dataSource.initialize();
  return dataSource;
}

/** SQLSTATE 57014: the statement was canceled, here by `statement_timeout`. */
export function isStatementTimeout(error: unknown): boolean {
  const e = error as { code?: string; driverError?: { code?: string } };
  return e?.code === '57014' || e?.driverError?.code === '57014';
}

/** pg-pool's error when no connection of a pool became free within its acquire timeout. */
export function isPoolExhausted(error: unknown): boolean {
  return error instanceof Error && /timeout exceeded when trying to connect/i.test(error.message);
}
