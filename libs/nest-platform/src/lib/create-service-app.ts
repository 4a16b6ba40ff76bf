import 'reflect-metadata';
import { Module, type DynamicModule, type INestApplication, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { MigrationInterface } from 'typeorm';
import { json, type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import { DataSource } from 'typeorm';
import { KAFKA_PLUMBING_MIGRATIONS, createConsumerClientFactory, createEventProducer, DEFAULT_DEAD_LETTER_LIMITS, createKafka, OutboxRelay, platformaticSecurityOptions, platformaticTopicIdReader, retryAtStartup, type ConsumerFaultHooks } from '@tally/kafka';
import { openReadDataSource, openServiceDataSource } from '@tally/postgres';
import { JsonLogger, stopTelemetry } from '@tally/telemetry';
import { ExactlyOnceKafkaTransport } from './exactly-once-transport';
import { HealthController } from './health.controller';
import { httpMetricsMiddleware } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { NestJsonLogger } from './nest-json-logger';
import { OutboxPublisher } from './outbox-publisher';
import { ProblemDetailsFilter } from './problem-details';
import { READINESS_CHECKS, type ReadinessCheck } from './readiness';
import { loadServiceConfig, redactUrl, type ServiceConfig } from './service-config';
import { EVENT_PRODUCER, KAFKA_CLIENT, READ_DATA_SOURCE, SERVICE_CONFIG } from './tokens';

/** What a service tells the platform about itself; everything else is shared plumbing. */
export interface ServiceDefinition {
  name: string;
  defaultPort: number;
  rootModule: Type<unknown>;
  migrations: Array<new () => MigrationInterface>;
  /** The service's own env vars (secrets, limits), validated at boot together with the common ones. */
  configSchema?: z.ZodObject<z.ZodRawShape>;
  /** Routes that read their body themselves (size limits, content types); the JSON parser skips them. */
  rawBodyPaths?: string[];
}

export interface ServiceAppOptions {
  hooks?: ConsumerFaultHooks;
}

export interface ServiceApp {
  app: INestApplication;
  config: ServiceConfig;
  logger: JsonLogger;
  transport: ExactlyOnceKafkaTransport;
}

/**
 * Builds a hybrid Nest app (HTTP API + exactly-once Kafka transport) for a service: its schema is
 * migrated, the outbox relay and consumers are started, /health and /metrics are mounted.
 * The caller decides where HTTP listens (tests use port 0).
 */
export async function createServiceApp(definition: ServiceDefinition, config: ServiceConfig, options: ServiceAppOptions = {}): Promise<ServiceApp> {
  const logger = new JsonLogger(definition.name);
  const dataSource = await openServiceDataSource({
    url: config.databaseUrl,
    schema: config.dbSchema,
    migrations: [...KAFKA_PLUMBING_MIGRATIONS, ...definition.migrations],
    // The schema in the name lets an operator (or the chaos run) tell instances apart in pg_stat_activity.
    applicationName: `tally-${definition.name}:${config.dbSchema}`.slice(0, 63),
  });
  const readDataSource = await openReadDataSource({
    url: config.databaseUrl,
    schema: config.dbSchema,
    poolSize: config.api.poolSize,
    statementTimeoutMs: config.api.statementTimeoutMs,
    acquireTimeoutMs: config.api.acquireTimeoutMs,
    applicationName: `tally-${definition.name}-api:${config.dbSchema}`.slice(0, 63),
  });
  const kafka = createKafka(config.kafka, logger);
  const producer = createEventProducer(kafka, config.kafka.brokers, config.kafka.clientId, process.env, config.kafka.compression, config.kafka.security);
  // A broker still starting (or not reachable yet) is waited for; wrong credentials stop the service here.
  await retryAtStartup('connecting the producer', () => producer.connect(), { logger });
  const relay = new OutboxRelay(dataSource, producer, logger.child('outbox-relay'));
  const topicIds = platformaticTopicIdReader({ brokers: config.kafka.brokers, clientId: config.kafka.clientId, connection: platformaticSecurityOptions(config.kafka.security) });
  const transport = new ExactlyOnceKafkaTransport({
    topicIds,
    client: createConsumerClientFactory({ kafka, brokers: config.kafka.brokers, clientId: config.kafka.clientId, security: config.kafka.security, logger }),
    kafka,
    settings: config.kafka,
    dataSource,
    groupId: config.consumerGroup,
    relay,
    producer,
    logger,
    hooks: options.hooks,
    concurrency: config.consumerConcurrency,
    sessionTimeoutMs: config.consumerSessionTimeoutMs,
    fetchMinBytes: config.consumerFetchMinBytes,
    fetchMaxWaitMs: config.consumerFetchMaxWaitMs,
    maxAttempts: config.consumerMaxAttempts,
    deadLetterLimits: { ...DEFAULT_DEAD_LETTER_LIMITS, maxValueBytes: config.deadLetterMaxValueBytes },
  });
  const readiness: ReadinessCheck[] = [{ name: 'kafka', isReady: () => transport.isHealthy() }];

  @Module({})
  class ServiceRootModule {}
  const platform: DynamicModule = {
    module: ServiceRootModule,
    global: true,
    imports: [definition.rootModule],
    controllers: [HealthController, MetricsController],
    providers: [
      { provide: SERVICE_CONFIG, useValue: config },
      { provide: DataSource, useValue: dataSource },
      { provide: READ_DATA_SOURCE, useValue: readDataSource },
      { provide: JsonLogger, useValue: logger },
      { provide: OutboxRelay, useValue: relay },
      { provide: EVENT_PRODUCER, useValue: producer },
      { provide: KAFKA_CLIENT, useValue: kafka },
      { provide: READINESS_CHECKS, useValue: readiness },
      OutboxPublisher,
    ],
    exports: [SERVICE_CONFIG, DataSource, READ_DATA_SOURCE, JsonLogger, OutboxRelay, EVENT_PRODUCER, KAFKA_CLIENT, OutboxPublisher],
  };
  const app = await NestFactory.create(platform, { logger: new NestJsonLogger(logger.child('nest')), abortOnError: false, bodyParser: false });
  // First, so refusals by the body parser, guards and filters are counted with the rest.
  app.use(httpMetricsMiddleware);
  const parseJson = json({ limit: '1mb' });
  const raw = definition.rawBodyPaths ?? [];
  app.use((req: Request, res: Response, next: NextFunction) => (raw.includes(req.path) ? next() : parseJson(req, res, next)));
  app.useGlobalFilters(new ProblemDetailsFilter(logger.child('http')));
  app.connectMicroservice({ strategy: transport }, { inheritAppConfig: true });
  await app.startAllMicroservices();
  // Closing order matters: Nest closes the transport (consumer, relay) first, then we drop the producer and pool.
  const close = app.close.bind(app);
  app.close = async () => {
    await close();
    await producer.disconnect().catch(() => undefined);
    await topicIds.close();
    await readDataSource.destroy().catch(() => undefined);
    await dataSource.destroy().catch(() => undefined);
  };
  return { app, config, logger, transport };
}

/** `main.ts` of every service: validated config, the app, HTTP, and a clean stop on SIGINT/SIGTERM. */
export async function runService(definition: ServiceDefinition): Promise<void> {
  let config: ServiceConfig;
  try {
    config = loadServiceConfig(definition.name, { port: definition.defaultPort }, process.env, definition.configSchema);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const logger = new JsonLogger(definition.name);
  let app: INestApplication;
  try {
    ({ app } = await createServiceApp(definition, config));
    await app.listen(config.port, '0.0.0.0');
  } catch (e) {
    // One clear line instead of a stack trace from deep inside a driver (e.g. the database is missing).
    logger.error(`${definition.name} could not start: ${(e as Error).message}`, { error: e as Error, database: redactUrl(config.databaseUrl), brokers: config.kafka.brokers });
    process.exit(1);
  }
  logger.info('ready', {
    port: config.port,
    url: `http://127.0.0.1:${config.port}`,
    schema: config.dbSchema,
    database: redactUrl(config.databaseUrl),
    brokers: config.kafka.brokers,
    topicPrefix: config.kafka.topicPrefix,
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    await app.close();
    await stopTelemetry();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
