import { DEFAULT_KAFKA_COMPRESSION, nodeCanCompress } from '@tally/kafka';
import { loadServiceConfig } from './service-config';

const load = (env: NodeJS.ProcessEnv) => loadServiceConfig('billing', { port: 3004 }, env);

describe('KAFKA_COMPRESSION', () => {
  it('defaults to the measured default and accepts each of Kafka\'s codec names', () => {
    expect(load({}).kafka.compression).toBe(DEFAULT_KAFKA_COMPRESSION);
    for (const codec of ['none', 'gzip', 'snappy', 'lz4'] as const) expect(load({ KAFKA_COMPRESSION: codec }).kafka.compression).toBe(codec);
  });

  it('stops the service at boot on an unknown codec, naming the variable and the choices', () => {
    expect(() => load({ KAFKA_COMPRESSION: 'brotli' })).toThrow(/KAFKA_COMPRESSION: must be one of none, gzip, snappy, lz4, zstd \(got "brotli"\)/);
  });

  it('accepts zstd where Node can compress it, and otherwise says which Node version can', () => {
    if (nodeCanCompress('zstd')) expect(load({ KAFKA_COMPRESSION: 'zstd' }).kafka.compression).toBe('zstd');
    else expect(() => load({ KAFKA_COMPRESSION: 'zstd' })).toThrow(/KAFKA_COMPRESSION: zstd compression needs Node\.js >= 22\.15/);
  });
});
