import { KafkaJSConnectionError, KafkaJSError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describeFailure, failureKind, isPermanentRecordFailure } from './failure-kind';

const pgError = (code: string, message = 'pg says no') => Object.assign(new Error(message), { code });
const protocol = (type: string, retriable: boolean) => new KafkaJSProtocolError({ message: type.toLowerCase(), type, code: 1, retriable } as never);

describe('failureKind', () => {
  it.each([
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['admin shutdown 57P01', pgError('57P01', 'terminating connection due to administrator command')],
    ['cannot connect now 57P03', pgError('57P03')],
    ['serialization failure', pgError('40001')],
    ['deadlock', pgError('40P01')],
    ['too many connections 53300', pgError('53300')],
    ['connection exception class 08', pgError('08006')],
    ['node-pg connection end', new Error('Connection terminated unexpectedly')],
    ['pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['kafkajs connection error', new KafkaJSConnectionError('Connection error: ECONNREFUSED')],
    ['kafkajs retriable protocol error', protocol('NOT_LEADER_OR_FOLLOWER', true)],
    ['kafkajs retries exceeded over a connection error', new KafkaJSNumberOfRetriesExceeded(new KafkaJSConnectionError('down'), { retryCount: 5, retryTime: 100 })],
    ['platformatic network error', Object.assign(new Error('socket closed'), { code: 'PLT_KFK_NETWORK' })],
    ['wrapped in a TypeORM error', Object.assign(new Error('query failed'), { driverError: pgError('57P01') })],
  ])('%s is transient', (_name, e) => expect(failureKind(e)).toBe('transient'));

  it.each([
    ['NUL in text 22021', pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['int out of range 22003', pgError('22003')],
    ['value too long 22001', pgError('22001')],
    ['check violation 23514', pgError('23514')],
    ['index row too large 54000', pgError('54000')],
    ['statement timeout 57014 (one input made the query too slow)', pgError('57014')],
    ['a handler bug', new TypeError("Cannot read properties of undefined (reading 'x')")],
    ['stack overflow', new RangeError('Maximum call stack size exceeded')],
    ['kafkajs non-retriable', new KafkaJSNonRetriableError(new KafkaJSError('out of order sequence number', { retriable: false }))],
    ['message too large, even when kafkajs calls it retriable', protocol('MESSAGE_TOO_LARGE', true)],
    ['not an error at all', 'a string'],
    ['undefined', undefined],
  ])('%s is deterministic', (_name, e) => expect(failureKind(e)).toBe('deterministic'));
});

describe('isPermanentRecordFailure', () => {
  it('recognises record-level broker refusals from either client, also inside aggregates', () => {
    expect(isPermanentRecordFailure(protocol('MESSAGE_TOO_LARGE', false))).toBe(true);
    expect(isPermanentRecordFailure(protocol('RECORD_LIST_TOO_LARGE', false))).toBe(true);
    expect(isPermanentRecordFailure(Object.assign(new AggregateError([Object.assign(new Error('x'), { apiId: 'INVALID_RECORD' })]), {}))).toBe(true);
    expect(isPermanentRecordFailure(protocol('NOT_LEADER_OR_FOLLOWER', true))).toBe(false);
    expect(isPermanentRecordFailure(new Error('plain'))).toBe(false);
  });
});

describe('describeFailure', () => {
  it('keeps the SQLSTATE or broker code and bounds the length', () => {
    expect(describeFailure(pgError('22003', 'integer out of range'))).toBe('integer out of range (22003)');
    expect(describeFailure(protocol('MESSAGE_TOO_LARGE', false))).toContain('MESSAGE_TOO_LARGE');
    expect(describeFailure(new Error('x'.repeat(5000)), 100)).toHaveLength(100);
  });

  it('walks causes without looping on a cycle', () => {
    const a: Error & { cause?: unknown } = new Error('outer');
    a.cause = a;
    expect(describeFailure(a)).toBe('outer');
  });
});
