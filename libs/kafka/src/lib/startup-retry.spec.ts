import { KafkaJSConnectionError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError, KafkaJSSASLAuthenticationError } from 'kafkajs';
import { isTransientStartupError, retryAtStartup, startupBackoffMs } from './startup-retry';

// kafkajs builds protocol errors from the broker's error code; these are the codes a starting broker answers.
const protocolError = (type: string, message: string, retriable: boolean) => Object.assign(new KafkaJSProtocolError(message), { type, retriable });
// The typings declare no constructor arguments; the class takes a message like every kafkajs error.
const saslError = (message: string) => new (KafkaJSSASLAuthenticationError as unknown as new (m: string) => Error)(message);
const coordinatorLoading = protocolError('COORDINATOR_LOAD_IN_PROGRESS', "The coordinator is loading and hence can't process requests", true);

describe('isTransientStartupError', () => {
  it.each([
    ['the coordinator loading (a fresh broker)', coordinatorLoading],
    ['no leader yet for a new topic', protocolError('LEADER_NOT_AVAILABLE', 'There is no leader for this topic-partition as we are in the middle of a leadership election', true)],
    ['an unknown topic while metadata propagates', protocolError('UNKNOWN_TOPIC_OR_PARTITION', 'This server does not host this topic-partition', true)],
    ['the broker not listening yet', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:9092')],
    ['kafkajs giving up its own retries of a loading coordinator', new KafkaJSNumberOfRetriesExceeded(coordinatorLoading, { retryCount: 10, retryTime: 5000 })],
    ['a @platformatic/kafka aggregate of network errors', Object.assign(new Error('Cannot connect to any broker.'), { errors: [Object.assign(new Error('Connection failed'), { code: 'ECONNREFUSED' })] })],
    ['a @platformatic/kafka protocol error by id', Object.assign(new Error('Received response with error while executing API'), { apiId: 'NOT_COORDINATOR' })],
    ['DNS not resolving yet (a broker pod being scheduled)', Object.assign(new Error('getaddrinfo ENOTFOUND kafka-0.kafka'), { code: 'ENOTFOUND' })],
  ])('waits out %s', (_, error) => {
    expect(isTransientStartupError(error)).toBe(true);
  });

  it.each([
    ['wrong SASL credentials', saslError('SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512')],
    ['wrong credentials, after kafkajs retried', new KafkaJSNumberOfRetriesExceeded(saslError('SASL PLAIN authentication failed'), { retryCount: 1, retryTime: 10 })],
    ['a missing ACL', protocolError('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics: [Topic authorization failed]', false)],
    ['an untrusted broker certificate', Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' })],
    ['TLS spoken to a plaintext port', Object.assign(new Error('write EPROTO ...:error:0A00010B:SSL routines:ssl3_get_record:wrong version number'), { code: 'EPROTO' })],
    ['a replication factor the cluster cannot meet', protocolError('INVALID_REPLICATION_FACTOR', 'Replication-factor is invalid', false)],
    ['a programming error', new TypeError("Cannot read properties of undefined (reading 'x')")],
  ])('fails at once on %s', (_, error) => {
    expect(isTransientStartupError(error)).toBe(false);
  });
});

describe('retryAtStartup', () => {
  it('retries transient errors with growing delays until the step succeeds', async () => {
    const delays: number[] = [];
    let calls = 0;
    const result = await retryAtStartup(
      'joining',
      async () => {
        if (++calls < 5) throw coordinatorLoading;
        return 'joined';
      },
      { sleep: async (ms) => void delays.push(ms), initialDelayMs: 100, maxDelayMs: 1_000 },
    );
    expect(result).toBe('joined');
    expect(calls).toBe(5);
    expect(delays).toHaveLength(4);
    expect(delays[1]).toBeGreaterThan(delays[0]);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1_000 * 1.2);
  });

  it('throws a fatal error on the first attempt', async () => {
    let calls = 0;
    const denied = saslError('SASL PLAIN authentication failed');
    await expect(retryAtStartup('connecting', async () => {
      calls++;
      throw denied;
    }, { sleep: async () => undefined })).rejects.toBe(denied);
    expect(calls).toBe(1);
  });

  it('gives up on a transient error only past its timeout', async () => {
    let now = 0;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      await expect(retryAtStartup('connecting', async () => {
        throw coordinatorLoading;
      }, { timeoutMs: 10_000, sleep: async (ms) => void (now += ms) })).rejects.toBe(coordinatorLoading);
      expect(now).toBeGreaterThanOrEqual(10_000);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('startupBackoffMs', () => {
  it('doubles from the initial delay up to the cap, with jitter within +-20 %', () => {
    expect([0, 1, 2, 3, 10, 100].map((a) => startupBackoffMs(a, 250, 5_000, () => 0.5))).toEqual([250, 500, 1_000, 2_000, 5_000, 5_000]);
    expect(startupBackoffMs(0, 250, 5_000, () => 0)).toBe(200);
    expect(startupBackoffMs(0, 250, 5_000, () => 1)).toBe(300);
  });
});
