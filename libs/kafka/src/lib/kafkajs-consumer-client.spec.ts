import { toFetchedRecord } from './kafkajs-consumer-client';

describe('toFetchedRecord', () => {
  it('decodes header values to UTF-8 strings, a missing value as "" and repeated headers joined', () => {
    const record = toFetchedRecord({
      offset: '7',
      key: Buffer.from('acme:c1'),
      value: Buffer.from('{}'),
      timestamp: '1700000000000',
      attributes: 0,
      headers: { a: Buffer.from('é'), empty: null as unknown as Buffer, many: [Buffer.from('x'), Buffer.from('y')], gone: undefined },
    } as never);
    expect(record).toEqual({ offset: '7', key: Buffer.from('acme:c1'), value: Buffer.from('{}'), timestamp: '1700000000000', headers: { a: 'é', empty: '', many: 'x,y' } });
  });
});
