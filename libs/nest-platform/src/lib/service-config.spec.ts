import { z } from 'zod';
import { DEFAULT_DATABASE_URL, DEFAULT_KAFKA_BROKERS, loadServiceConfig, redactUrl } from './service-config';

const load = (env: NodeJS.ProcessEnv, service = 'threshold-alerting') => loadServiceConfig(service, { port: 3003 }, env);

/** The message of the error `fn` throws. */
const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error');
};

describe('loadServiceConfig', () => {
  it('has working defaults for local development', () => {
    expect(DEFAULT_DATABASE_URL).toBe('postgres://postgres@127.0.0.1:5432/tally');
    expect(DEFAULT_KAFKA_BROKERS).toBe('127.0.0.1:9092');
    expect(load({})).toEqual({
      service: 'threshold-alerting',
      port: 3003,
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/tally',
      dbSchema: 'threshold_alerting',
      consumerGroup: 'tally-threshold-alerting',
      consumerConcurrency: 4,
      consumerSessionTimeoutMs: 30000,
      consumerFetchMinBytes: 16384,
      consumerFetchMaxWaitMs: 40,
      consumerMaxAttempts: 3,
      deadLetterMaxValueBytes: 262144,
      api: { poolSize: 4, statementTimeoutMs: 5000, acquireTimeoutMs: 2000, readRatePerSecond: 20, readBurst: 40 },
      kafka: { brokers: ['127.0.0.1:9092'], clientId: 'tally-threshold-alerting', topicPrefix: '', defaultPartitions: 3, compression: 'lz4', replicationFactor: 1, minInsyncReplicas: 1, security: {} },
      extra: {},
    });
  });

  it('reads the replication of created topics, refusing a min.insync.replicas above the replication factor', () => {
    expect(load({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_INSYNC_REPLICAS: '2' }).kafka).toMatchObject({ replicationFactor: 3, minInsyncReplicas: 2 });
    expect(errorOf(() => load({ KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_INSYNC_REPLICAS: '3' }))).toContain('KAFKA_MIN_INSYNC_REPLICAS: must not exceed KAFKA_REPLICATION_FACTOR (2)');
    expect(errorOf(() => load({ KAFKA_REPLICATION_FACTOR: '0' }))).toContain('KAFKA_REPLICATION_FACTOR');
  });

  it('reports Kafka TLS/SASL problems with the other configuration errors, never echoing the password', () => {
    const message = errorOf(() => load({ PORT: 'x', KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_PASSWORD: 'hunter2', KAFKA_SSL_CA_FILE: '/nowhere.pem' }));
    expect(message).toContain('PORT');
    expect(message).toContain('KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=scram-sha-256');
    expect(message).toContain('KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not true');
    expect(message).not.toContain('hunter2');
    const ok = load({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'tally', KAFKA_SASL_PASSWORD: 'hunter2' });
    expect(ok.kafka.security?.sasl).toMatchObject({ mechanism: 'scram-sha-512', username: 'tally' });
    expect(JSON.stringify(ok)).not.toContain('hunter2');
  });

  it('reads the API read pool and read rate limit settings, and refuses nonsense', () => {
    expect(load({ API_DB_POOL_SIZE: '2', API_STATEMENT_TIMEOUT_MS: '250', API_DB_ACQUIRE_TIMEOUT_MS: '100', API_READ_RATE_LIMIT_PER_SECOND: '5', API_READ_RATE_LIMIT_BURST: '7' }).api).toEqual({
      poolSize: 2,
      statementTimeoutMs: 250,
      acquireTimeoutMs: 100,
      readRatePerSecond: 5,
      readBurst: 7,
    });
    expect(() => load({ API_DB_POOL_SIZE: '0' })).toThrow(/API_DB_POOL_SIZE/);
    expect(() => load({ API_STATEMENT_TIMEOUT_MS: 'soon' })).toThrow(/API_STATEMENT_TIMEOUT_MS/);
    expect(() => load({ API_READ_RATE_LIMIT_PER_SECOND: '-1' })).toThrow(/API_READ_RATE_LIMIT_PER_SECOND/);
  });

  it('reads the environment it is given, not process.env', () => {
    const before = process.env.PORT;
    process.env.PORT = '1234';
    try {
      expect(load({}).port).toBe(3003);
    } finally {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    }
  });

  describe('port', () => {
    it('takes PORT', () => {
      expect(load({ PORT: '4000' }).port).toBe(4000);
    });

    it('lets <SERVICE>_PORT override PORT', () => {
      expect(load({ PORT: '4000', THRESHOLD_ALERTING_PORT: '4100' }).port).toBe(4100);
      expect(load({ THRESHOLD_ALERTING_PORT: '4100' }).port).toBe(4100);
      expect(loadServiceConfig('billing', { port: 3004 }, { PORT: '4000', BILLING_PORT: '4200' }).port).toBe(4200);
    });

    it("ignores another service's port", () => {
      expect(load({ BILLING_PORT: '4200', INGESTION_PORT: '4300' }).port).toBe(3003);
    });

    it.each(['abc', '80.5', '-1', '65536'])('rejects PORT=%p', (port) => {
      expect(() => load({ PORT: port })).toThrow(/^invalid configuration for threshold-alerting:\n {2}- PORT: /);
    });

    it('accepts the bounds 0 and 65535', () => {
      expect(load({ PORT: '0' }).port).toBe(0);
      expect(load({ PORT: '65535' }).port).toBe(65535);
    });

    it('names <SERVICE>_PORT, not PORT, when the override is the bad value', () => {
      expect(errorOf(() => load({ PORT: '4000', THRESHOLD_ALERTING_PORT: 'abc' }))).toBe(
        'invalid configuration for threshold-alerting:\n  - THRESHOLD_ALERTING_PORT: Expected number, received nan',
      );
    });
  });

  describe('database', () => {
    it('takes DATABASE_URL, postgres:// or postgresql://', () => {
      expect(load({ DATABASE_URL: 'postgres://u:p@db:5432/x' }).databaseUrl).toBe('postgres://u:p@db:5432/x');
      expect(load({ DATABASE_URL: 'postgresql://db/x' }).databaseUrl).toBe('postgresql://db/x');
    });

    it('rejects a URL of another scheme', () => {
      expect(errorOf(() => load({ DATABASE_URL: 'mysql://u@db/x' }))).toBe(
        'invalid configuration for threshold-alerting:\n  - DATABASE_URL: must be a postgres:// URL',
      );
    });

    it('defaults the schema to the service name as an identifier, with DB_SCHEMA and <SERVICE>_DB_SCHEMA overriding it', () => {
      expect(load({}, 'health-scoring').dbSchema).toBe('health_scoring');
      expect(load({ DB_SCHEMA: 'shared' }).dbSchema).toBe('shared');
      expect(load({ DB_SCHEMA: 'shared', THRESHOLD_ALERTING_DB_SCHEMA: 'alerts_1' }).dbSchema).toBe('alerts_1');
    });

    it.each(['Alerts', 'alerts-1', '1alerts', 'a b', '', 'a'.repeat(64)])('rejects DB_SCHEMA=%p', (schema) => {
      expect(errorOf(() => load({ DB_SCHEMA: schema }))).toBe(
        'invalid configuration for threshold-alerting:\n  - DB_SCHEMA: must be a lower-case SQL identifier',
      );
    });

    it('names <SERVICE>_DB_SCHEMA, not DB_SCHEMA, when the override is the bad value', () => {
      expect(errorOf(() => load({ DB_SCHEMA: 'shared', THRESHOLD_ALERTING_DB_SCHEMA: 'Alerts' }))).toBe(
        'invalid configuration for threshold-alerting:\n  - THRESHOLD_ALERTING_DB_SCHEMA: must be a lower-case SQL identifier',
      );
    });

    it('accepts a 63-character schema name', () => {
      expect(load({ DB_SCHEMA: 'a'.repeat(63) }).dbSchema).toBe('a'.repeat(63));
    });
  });

  describe('kafka', () => {
    it('splits KAFKA_BROKERS on commas, trimming and skipping empty entries', () => {
      expect(load({ KAFKA_BROKERS: 'k1:9092, k2:9093 ,,k3.internal:19092,' }).kafka.brokers).toEqual([
        'k1:9092',
        'k2:9093',
        'k3.internal:19092',
      ]);
    });

    it.each(['localhost', 'k1:9092,k2', 'k1:port', ' , ', 'k 1:9092'])('rejects KAFKA_BROKERS=%p', (brokers) => {
      expect(errorOf(() => load({ KAFKA_BROKERS: brokers }))).toBe(
        'invalid configuration for threshold-alerting:\n  - KAFKA_BROKERS: must be host:port[,host:port...]',
      );
    });

    it('puts KAFKA_TOPIC_PREFIX in front of the default consumer group', () => {
      const c = load({ KAFKA_TOPIC_PREFIX: 'test-7.' });
      expect(c.kafka.topicPrefix).toBe('test-7.');
      expect(c.consumerGroup).toBe('test-7.tally-threshold-alerting');
    });

    it('rejects a topic prefix with other characters', () => {
      expect(errorOf(() => load({ KAFKA_TOPIC_PREFIX: 'a/b' }))).toBe(
        'invalid configuration for threshold-alerting:\n  - KAFKA_TOPIC_PREFIX: letters, digits, . _ - only',
      );
    });

    it('takes KAFKA_CLIENT_ID and KAFKA_PARTITIONS', () => {
      const c = load({ KAFKA_CLIENT_ID: 'alerts-pod-1', KAFKA_PARTITIONS: '12' });
      expect(c.kafka.clientId).toBe('alerts-pod-1');
      expect(c.kafka.defaultPartitions).toBe(12);
    });

    it.each(['0', '1001', 'many'])('rejects KAFKA_PARTITIONS=%p', (partitions) => {
      expect(errorOf(() => load({ KAFKA_PARTITIONS: partitions }))).toMatch(/^invalid configuration for threshold-alerting:\n {2}- KAFKA_PARTITIONS: /);
    });

    it('takes the consumer group from CONSUMER_GROUP or <SERVICE>_CONSUMER_GROUP, ignoring the prefix', () => {
      expect(load({ CONSUMER_GROUP: 'g1', KAFKA_TOPIC_PREFIX: 'p.' }).consumerGroup).toBe('g1');
      expect(load({ CONSUMER_GROUP: 'g1', THRESHOLD_ALERTING_CONSUMER_GROUP: 'g2' }).consumerGroup).toBe('g2');
    });

    it('rejects an empty consumer group, naming the variable that was set', () => {
      expect(errorOf(() => load({ CONSUMER_GROUP: '' }))).toMatch(/^invalid configuration for threshold-alerting:\n {2}- CONSUMER_GROUP: /);
      expect(errorOf(() => load({ CONSUMER_GROUP: 'g1', THRESHOLD_ALERTING_CONSUMER_GROUP: '' }))).toMatch(
        /^invalid configuration for threshold-alerting:\n {2}- THRESHOLD_ALERTING_CONSUMER_GROUP: /,
      );
    });
  });

  it('reports every bad variable in one error', () => {
    expect(errorOf(() => load({ PORT: 'abc', DB_SCHEMA: 'Bad-Schema', KAFKA_BROKERS: 'localhost' }))).toBe(
      [
        'invalid configuration for threshold-alerting:',
        '  - PORT: Expected number, received nan',
        '  - DB_SCHEMA: must be a lower-case SQL identifier',
        '  - KAFKA_BROKERS: must be host:port[,host:port...]',
      ].join('\n'),
    );
  });

  describe('service-specific settings', () => {
    const extraSchema = z.object({ STRIPE_KEY: z.string().min(1, 'required'), RETENTION_DAYS: z.coerce.number().int().default(90) });

    it('validates them with the service schema and returns them as extra', () => {
      const c = loadServiceConfig('billing', { port: 3004 }, { STRIPE_KEY: 'sk_test', OTHER: 'x' }, extraSchema);
      expect(c.extra).toEqual({ STRIPE_KEY: 'sk_test', RETENTION_DAYS: 90 });
    });

    it('reports their problems in the same single error as the base variables', () => {
      expect(errorOf(() => loadServiceConfig('billing', { port: 3004 }, { PORT: 'x', STRIPE_KEY: '', RETENTION_DAYS: '1.5' }, extraSchema))).toBe(
        [
          'invalid configuration for billing:',
          '  - PORT: Expected number, received nan',
          '  - STRIPE_KEY: required',
          '  - RETENTION_DAYS: Expected integer, received float',
        ].join('\n'),
      );
    });
  });
});

describe('redactUrl', () => {
  it('masks the password', () => {
    expect(redactUrl('postgres://tally:s3cret@db.internal:5432/tally')).toBe('postgres://tally:***@db.internal:5432/tally');
  });

  it('keeps the query string and masks a percent-encoded password', () => {
    expect(redactUrl('postgresql://app:p%40ss@db:5432/x?sslmode=require')).toBe('postgresql://app:***@db:5432/x?sslmode=require');
  });

  it('leaves a URL without a password as it is', () => {
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/tally')).toBe('postgres://postgres@127.0.0.1:5432/tally');
    expect(redactUrl('postgres://db:5432/tally')).toBe('postgres://db:5432/tally');
  });

  it('never echoes an unparseable URL', () => {
    expect(redactUrl('not a url with s3cret')).toBe('<unparseable url>');
    expect(redactUrl('')).toBe('<unparseable url>');
  });
});
