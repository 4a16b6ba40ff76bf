import { z } from 'zod';
import { parseKafkaCompression, readKafkaSecurity, type KafkaSettings } from '@tally/kafka';

export interface ServiceConfig {
  service: string;
  port: number;
  databaseUrl: string;
  dbSchema: string;
  consumerGroup: string;
  /** Partitions whose batches are applied at the same time (each in its own transaction). */
  consumerConcurrency: number;
  /** How long the group waits for a member that stopped heartbeating (e.g. SIGKILLed) before rebalancing. */
  consumerSessionTimeoutMs: number;
  /** A fetch waits for this many bytes, or for `consumerFetchMaxWaitMs`: fewer, larger batches. */
  consumerFetchMinBytes: number;
  consumerFetchMaxWaitMs: number;
  /** Attempts of a failing batch (then of each message in it) before the message that keeps failing is dead-lettered. */
  consumerMaxAttempts: number;
  /** Original bytes a dead letter keeps (the rest is cut, with the full size and SHA-256 recorded). */
  deadLetterMaxValueBytes: number;
  /** The HTTP API's own small read pool (see openReadDataSource) and its per-tenant read rate limit. */
  api: { poolSize: number; statementTimeoutMs: number; acquireTimeoutMs: number; readRatePerSecond: number; readBurst: number };
  kafka: KafkaSettings;
  /** Secrets and other service-specific settings, validated by the service's own schema. */
  extra: Record<string, unknown>;
}

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier');

const baseSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535),
  DATABASE_URL: z.string().url('must be a postgres:// URL').refine((u) => /^postgres(ql)?:\/\//.test(u), 'must be a postgres:// URL'),
  DB_SCHEMA: identifier,
  KAFKA_BROKERS: z
    .string()
    .min(1)
    .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((b) => /^[^:\s]+:\d+$/.test(b)), 'must be host:port[,host:port...]'),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ - only').default(''),
  KAFKA_CLIENT_ID: z.string().min(1).optional(),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(3),
  // 1 fits only a single local broker; a cluster wants 3 and 2 (README "Security settings").
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(32).default(1),
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(32).default(1),
  KAFKA_COMPRESSION: z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        return parseKafkaCompression(value);
      } catch (e) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
        return z.NEVER;
      }
    }),
  CONSUMER_GROUP: z.string().min(1).optional(),
  CONSUMER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  CONSUMER_SESSION_TIMEOUT_MS: z.coerce.number().int().min(6000, 'must be at least 6000 (the broker minimum)').default(30_000),
  CONSUMER_FETCH_MIN_BYTES: z.coerce.number().int().min(1).max(64 * 1024 * 1024).default(16_384),
  CONSUMER_FETCH_MAX_WAIT_MS: z.coerce.number().int().min(1).max(10_000).default(40),
  CONSUMER_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(3),
  // Below the broker's default 1 MiB message.max.bytes with room for the base64 copy and the envelope.
  DLQ_MAX_VALUE_BYTES: z.coerce.number().int().min(1024).max(700_000).default(256 * 1024),
  API_DB_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(4),
  API_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(5_000),
  API_DB_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(1).max(60_000).default(2_000),
  API_READ_RATE_LIMIT_PER_SECOND: z.coerce.number().positive().default(20),
  API_READ_RATE_LIMIT_BURST: z.coerce.number().positive().optional(),
});

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/tally';
export const DEFAULT_KAFKA_BROKERS = '127.0.0.1:9092';

/**
 * Reads and validates a service's configuration from the environment. Anything wrong stops the service
 * at boot with one message naming every bad variable. `<SERVICE>_PORT` (e.g. BILLING_PORT) overrides
 * PORT so one shell can start all five.
 */
export function loadServiceConfig<E extends z.ZodRawShape>(
  service: string,
  defaults: { port: number },
  env: NodeJS.ProcessEnv = process.env,
  extraSchema?: z.ZodObject<E>,
): ServiceConfig {
  const envPrefix = service.toUpperCase().replace(/-/g, '_');
  const input = {
    PORT: env[`${envPrefix}_PORT`] ?? env.PORT ?? String(defaults.port),
    DATABASE_URL: env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
    DB_SCHEMA: env[`${envPrefix}_DB_SCHEMA`] ?? env.DB_SCHEMA ?? service.replace(/-/g, '_'),
    KAFKA_BROKERS: env.KAFKA_BROKERS ?? DEFAULT_KAFKA_BROKERS,
    KAFKA_TOPIC_PREFIX: env.KAFKA_TOPIC_PREFIX,
    KAFKA_CLIENT_ID: env.KAFKA_CLIENT_ID,
    KAFKA_PARTITIONS: env.KAFKA_PARTITIONS,
    KAFKA_COMPRESSION: env.KAFKA_COMPRESSION,
    KAFKA_REPLICATION_FACTOR: env.KAFKA_REPLICATION_FACTOR,
    KAFKA_MIN_INSYNC_REPLICAS: env.KAFKA_MIN_INSYNC_REPLICAS,
    CONSUMER_GROUP: env[`${envPrefix}_CONSUMER_GROUP`] ?? env.CONSUMER_GROUP,
    CONSUMER_CONCURRENCY: env.CONSUMER_CONCURRENCY,
    CONSUMER_SESSION_TIMEOUT_MS: env.CONSUMER_SESSION_TIMEOUT_MS,
    CONSUMER_FETCH_MIN_BYTES: env.CONSUMER_FETCH_MIN_BYTES,
    CONSUMER_FETCH_MAX_WAIT_MS: env.CONSUMER_FETCH_MAX_WAIT_MS,
    CONSUMER_MAX_ATTEMPTS: env.CONSUMER_MAX_ATTEMPTS,
    DLQ_MAX_VALUE_BYTES: env.DLQ_MAX_VALUE_BYTES,
    API_DB_POOL_SIZE: env.API_DB_POOL_SIZE,
    API_STATEMENT_TIMEOUT_MS: env.API_STATEMENT_TIMEOUT_MS,
    API_DB_ACQUIRE_TIMEOUT_MS: env.API_DB_ACQUIRE_TIMEOUT_MS,
    API_READ_RATE_LIMIT_PER_SECOND: env.API_READ_RATE_LIMIT_PER_SECOND,
    API_READ_RATE_LIMIT_BURST: env.API_READ_RATE_LIMIT_BURST,
  };
  // Name the variable actually read, so a bad THRESHOLD_ALERTING_PORT is not reported as PORT.
  const readFrom = (key: string) => (env[`${envPrefix}_${key}`] !== undefined ? `${envPrefix}_${key}` : key);
  const variables: Record<string, string> = { PORT: readFrom('PORT'), DB_SCHEMA: readFrom('DB_SCHEMA'), CONSUMER_GROUP: readFrom('CONSUMER_GROUP') };
  const base = baseSchema.safeParse(input);
  const extra = extraSchema ? extraSchema.safeParse(env) : ({ success: true, data: {} } as const);
  const security = readKafkaSecurity(env);
  const replicas = base.success && base.data.KAFKA_MIN_INSYNC_REPLICAS > base.data.KAFKA_REPLICATION_FACTOR
    ? [{ path: ['KAFKA_MIN_INSYNC_REPLICAS'], message: `must not exceed KAFKA_REPLICATION_FACTOR (${base.data.KAFKA_REPLICATION_FACTOR}): no write with acks=all could succeed` }]
    : [];
  const issues = [
    ...(base.success ? [] : base.error.issues.map((i) => ({ ...i, path: [variables[String(i.path[0])] ?? i.path[0], ...i.path.slice(1)] }))),
    ...(extra.success ? [] : extra.error.issues),
    ...security.problems.map((p) => ({ path: [p.variable], message: p.message })),
    ...replicas,
  ];
  if (!base.success || !extra.success || issues.length > 0) {
    const lines = issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid configuration for ${service}:\n${lines.join('\n')}`);
  }
  const c = base.data;
  return {
    service,
    port: c.PORT,
    databaseUrl: c.DATABASE_URL,
    dbSchema: c.DB_SCHEMA,
    consumerGroup: c.CONSUMER_GROUP ?? `${c.KAFKA_TOPIC_PREFIX}tally-${service}`,
    consumerConcurrency: c.CONSUMER_CONCURRENCY,
    consumerSessionTimeoutMs: c.CONSUMER_SESSION_TIMEOUT_MS,
    consumerFetchMinBytes: c.CONSUMER_FETCH_MIN_BYTES,
    consumerFetchMaxWaitMs: c.CONSUMER_FETCH_MAX_WAIT_MS,
    consumerMaxAttempts: c.CONSUMER_MAX_ATTEMPTS,
    deadLetterMaxValueBytes: c.DLQ_MAX_VALUE_BYTES,
    api: {
      poolSize: c.API_DB_POOL_SIZE,
      statementTimeoutMs: c.API_STATEMENT_TIMEOUT_MS,
      acquireTimeoutMs: c.API_DB_ACQUIRE_TIMEOUT_MS,
      readRatePerSecond: c.API_READ_RATE_LIMIT_PER_SECOND,
      readBurst: c.API_READ_RATE_LIMIT_BURST ?? c.API_READ_RATE_LIMIT_PER_SECOND * 2,
    },
    kafka: {
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID ?? `tally-${service}`,
      topicPrefix: c.KAFKA_TOPIC_PREFIX,
      defaultPartitions: c.KAFKA_PARTITIONS,
      compression: c.KAFKA_COMPRESSION,
      replicationFactor: c.KAFKA_REPLICATION_FACTOR,
      minInsyncReplicas: c.KAFKA_MIN_INSYNC_REPLICAS,
      security: security.security,
    },
    extra: extra.data as Record<string, unknown>,
  };
}

/** The database URL with its password masked, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}
