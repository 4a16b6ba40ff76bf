import { randomBytes } from 'node:crypto';
import { JsonLogger } from '@tally/telemetry';
import { createSecureBroker, SECURE_BROKER_USERS, type SecureBroker } from '@tally/testing';
import { KafkajsEventProducer, type EventProducer } from './event-producer';
import { createKafka, type KafkaSettings } from './kafka-settings';
import { readKafkaSecurity } from './kafka-security';
import { PlatformaticEventProducer } from './platformatic-event-producer';
import { isTransientStartupError, retryAtStartup } from './startup-retry';
import { ensureTopics } from './topic-admin';

/**
 * TLS and SASL against a real broker: a private single-node broker (createSecureBroker) with PLAINTEXT,
 * SASL_PLAINTEXT and SASL_SSL listeners, PLAIN and SCRAM users. Every client is configured the way a service
 * is, from the KAFKA_SSL* / KAFKA_SASL_* variables.
 */
describe('Kafka TLS and SASL (a private broker with SASL_PLAINTEXT and SASL_SSL listeners)', () => {
  const logger = new JsonLogger('kafka-security-test');
  let broker: SecureBroker;
  const id = `sec${randomBytes(3).toString('hex')}`;
  const earlyTopic = `${id}.started-before-the-broker`;
  let startedEarly: Promise<number>;

  const settingsFor = (brokers: string, env: NodeJS.ProcessEnv, extra: Partial<KafkaSettings> = {}): KafkaSettings => {
    const { security, problems } = readKafkaSecurity(env);
    expect(problems).toEqual([]);
    return { brokers: [brokers], clientId: id, topicPrefix: '', defaultPartitions: 1, security, ...extra };
  };
  const scram = (mechanism: string, password: string = SECURE_BROKER_USERS.scram.password) => ({
    KAFKA_SASL_MECHANISM: mechanism,
    KAFKA_SASL_USERNAME: SECURE_BROKER_USERS.scram.username,
    KAFKA_SASL_PASSWORD: password,
  });
  const plain = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: SECURE_BROKER_USERS.plain.username, KAFKA_SASL_PASSWORD: SECURE_BROKER_USERS.plain.password };
  const tls = () => ({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: broker.caFile });

  /** Creates a topic, produces one record with `producer` and returns how many records the topic then holds. */
  async function roundTrip(settings: KafkaSettings, producerOf: (settings: KafkaSettings) => EventProducer): Promise<number> {
    const kafka = createKafka(settings, logger);
    const topic = `${id}.${randomBytes(3).toString('hex')}`;
    await ensureTopics(kafka, settings, [topic]);
    const producer = producerOf(settings);
    await producer.connect();
    try {
      await producer.send([{ topic, key: 'k', value: JSON.stringify({ ok: true }), headers: {} }]);
    } finally {
      await producer.disconnect();
    }
    const admin = kafka.admin();
    await admin.connect();
    try {
      return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high), 0);
    } finally {
      await admin.disconnect();
    }
  }
  const kafkajsProducer = (s: KafkaSettings) => new KafkajsEventProducer(createKafka(s, logger));
  const platformaticProducer = (s: KafkaSettings) => new PlatformaticEventProducer({ brokers: s.brokers, clientId: s.clientId, security: s.security, timeoutMs: 10_000 });

  beforeAll(async () => {
    broker = await createSecureBroker();
    // A service starting before its broker: topic creation is waited out, then succeeds once the broker is up.
    const settings = settingsFor(broker.plaintext, {});
    startedEarly = (async () => {
      const t0 = Date.now();
      await ensureTopics(createKafka(settings, logger), settings, [earlyTopic], logger);
      return Date.now() - t0;
    })();
    await new Promise((r) => setTimeout(r, 2_000));
    await broker.start();
  }, 150_000);

  afterAll(async () => {
    await broker?.stop();
  });

  it('waits for a broker that is not up yet, and creates its topics with the explicit replication settings', async () => {
    expect(await startedEarly).toBeGreaterThanOrEqual(2_000);
    const kafka = createKafka(settingsFor(broker.plaintext, {}), logger);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [resource] = (await admin.describeConfigs({ resources: [{ type: 2, name: earlyTopic, configNames: ['min.insync.replicas'] }], includeSynonyms: false })).resources;
      expect(resource.configEntries.find((e) => e.configName === 'min.insync.replicas')?.configValue).toBe('1');
    } finally {
      await admin.disconnect();
    }
  });

  it('fails at once, with the broker reason, when the replication factor cannot be met', async () => {
    const settings = settingsFor(broker.plaintext, {}, { replicationFactor: 3, minInsyncReplicas: 2 });
    const t0 = Date.now();
    await expect(ensureTopics(createKafka(settings, logger), settings, [`${id}.rf3`], logger)).rejects.toThrow(/INVALID_REPLICATION_FACTOR/);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it.each([
    ['PLAIN', () => plain],
    ['SCRAM-SHA-256', () => scram('scram-sha-256')],
    ['SCRAM-SHA-512', () => scram('scram-sha-512')],
  ])('SASL_PLAINTEXT with %s: kafkajs admin, consumer settings and producer, and the @platformatic/kafka producer', async (_, env) => {
    const settings = settingsFor(broker.saslPlaintext, env());
    expect(await roundTrip(settings, kafkajsProducer)).toBe(1);
    expect(await roundTrip(settings, platformaticProducer)).toBe(1);
  });

  it('SASL_SSL (SCRAM-SHA-512 over TLS, the broker certificate verified against KAFKA_SSL_CA_FILE) with both clients', async () => {
    const settings = settingsFor(broker.saslSsl, { ...tls(), ...scram('scram-sha-512') });
    expect(await roundTrip(settings, kafkajsProducer)).toBe(1);
    expect(await roundTrip(settings, platformaticProducer)).toBe(1);
  });

  it.each([
    ['a wrong SCRAM password', () => broker.saslPlaintext, () => scram('scram-sha-512', 'wrong-password')],
    ['a wrong PLAIN password', () => broker.saslPlaintext, () => ({ ...plain, KAFKA_SASL_PASSWORD: 'wrong-password' })],
    ['an unknown user', () => broker.saslPlaintext, () => ({ ...scram('scram-sha-256'), KAFKA_SASL_USERNAME: 'nobody' })],
    ['a broker certificate not signed by a trusted CA (no KAFKA_SSL_CA_FILE)', () => broker.saslSsl, () => ({ KAFKA_SSL: 'true', ...scram('scram-sha-512') })],
  ])('%s fails clearly at start, within seconds, on both clients (not retried, not a hang)', async (_, brokers, env) => {
    const settings = settingsFor(brokers(), env());
    const t0 = Date.now();
    const kafkajsError = await ensureTopics(createKafka(settings, logger), settings, [`${id}.denied`], logger).then(() => undefined, (e: Error) => e);
    const kafkajsMs = Date.now() - t0;
    expect(kafkajsError).toBeInstanceOf(Error);
    expect(isTransientStartupError(kafkajsError)).toBe(false);
    expect(String(kafkajsError)).toMatch(/authentication|certificate/i);
    const producer = platformaticProducer(settings);
    const t1 = Date.now();
    // @platformatic/kafka is loaded in the main context (see esm-import), so its errors are not this realm's Error.
    const platformaticError = await retryAtStartup('connecting', () => producer.connect(), { logger }).then(() => undefined, (e: { message: string }) => e);
    const platformaticMs = Date.now() - t1;
    expect(platformaticError?.message).toEqual(expect.any(String));
    expect(isTransientStartupError(platformaticError)).toBe(false);
    expect(platformaticError?.message).toMatch(/authentication failed|certificate/i);
    expect(kafkajsMs).toBeLessThan(15_000);
    expect(platformaticMs).toBeLessThan(15_000);
  });
});
