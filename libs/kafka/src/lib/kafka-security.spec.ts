import { inspect } from 'node:util';
import { describeKafkaSecurity, kafkaSecurityWarnings, kafkajsSecurityOptions, platformaticSecurityOptions, readKafkaSecurity } from './kafka-security';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nsecret-key-bytes\n-----END PRIVATE KEY-----\n';
const files: Record<string, string> = { '/ca.pem': PEM, '/client.pem': PEM, '/client.key': KEY, '/not-pem.txt': 'hello' };
const readFile = (path: string) => {
  if (!(path in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
  return files[path];
};
const read = (env: NodeJS.ProcessEnv) => readKafkaSecurity(env, readFile);
const problems = (env: NodeJS.ProcessEnv) => read(env).problems.map((p) => `${p.variable}: ${p.message}`);

describe('readKafkaSecurity', () => {
  it('is plaintext and unauthenticated when nothing is set', () => {
    expect(read({})).toEqual({ security: {}, problems: [] });
    expect(kafkajsSecurityOptions(read({}).security)).toEqual({});
    expect(platformaticSecurityOptions(read({}).security)).toEqual({});
  });

  it('reads TLS with a CA, mutual TLS and SCRAM, for both clients', () => {
    const { security, problems: found } = read({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: '/ca.pem',
      KAFKA_SSL_CERT_FILE: '/client.pem',
      KAFKA_SSL_KEY_FILE: '/client.key',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'tally',
      KAFKA_SASL_PASSWORD: ' pass word ',
    });
    expect(found).toEqual([]);
    expect(kafkajsSecurityOptions(security)).toEqual({
      ssl: { rejectUnauthorized: true, ca: PEM, cert: PEM, key: KEY },
      sasl: { mechanism: 'scram-sha-512', username: 'tally', password: ' pass word ' },
    });
    expect(platformaticSecurityOptions(security)).toEqual({
      tls: { rejectUnauthorized: true, ca: PEM, cert: PEM, key: KEY },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'tally', password: ' pass word ' },
    });
    expect(describeKafkaSecurity(security)).toEqual({ tls: { mutual: true, customCa: true, rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512', username: 'tally' } });
  });

  it('never shows the password or the private key when the settings are logged or serialized', () => {
    const { security } = read({ KAFKA_SSL: '1', KAFKA_SSL_CERT_FILE: '/client.pem', KAFKA_SSL_KEY_FILE: '/client.key', KAFKA_SSL_KEY_PASSWORD: 'key-pass', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'hunter2-secret' });
    for (const text of [JSON.stringify(security), inspect(security, { depth: 10 }), JSON.stringify(describeKafkaSecurity(security))]) {
      expect(text).not.toContain('hunter2-secret');
      expect(text).not.toContain('secret-key-bytes');
      expect(text).not.toContain('key-pass');
    }
    expect(security.sasl?.password).toBe('hunter2-secret');
    expect(kafkajsSecurityOptions(security).ssl).toMatchObject({ key: KEY, passphrase: 'key-pass' });
  });

  it('names every bad variable at once', () => {
    expect(problems({ KAFKA_SSL: 'yes', KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SSL_REJECT_UNAUTHORIZED: 'no' })).toEqual([
      'KAFKA_SSL: must be true or false',
      'KAFKA_SSL_REJECT_UNAUTHORIZED: must be true or false',
      'KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512',
    ]);
  });

  it('refuses TLS files without KAFKA_SSL, unreadable or non-PEM files, and half of a mutual TLS pair', () => {
    expect(problems({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toEqual(['KAFKA_SSL_CA_FILE: is set but KAFKA_SSL is not true']);
    expect(problems({ KAFKA_SSL: 'false', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })).toEqual(['KAFKA_SSL_REJECT_UNAUTHORIZED: is set but KAFKA_SSL is not true']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/missing.pem' })).toEqual(['KAFKA_SSL_CA_FILE: cannot read /missing.pem: ENOENT']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: '/not-pem.txt' })).toEqual(['KAFKA_SSL_CA_FILE: /not-pem.txt holds no PEM block (-----BEGIN ...)']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/client.pem' })).toEqual(['KAFKA_SSL_KEY_FILE: mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: '/client.key' })).toEqual(['KAFKA_SSL_CERT_FILE: mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE']);
    expect(problems({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_PASSWORD: 'x' })).toEqual(['KAFKA_SSL_KEY_PASSWORD: is set but KAFKA_SSL_KEY_FILE is not']);
  });

  it('requires user and password with a mechanism, and a mechanism with either', () => {
    expect(problems({ KAFKA_SASL_MECHANISM: 'plain' })).toEqual([
      'KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=plain',
      'KAFKA_SASL_PASSWORD: is required with KAFKA_SASL_MECHANISM=plain',
    ]);
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: '  ', KAFKA_SASL_PASSWORD: 'p' })).toEqual(['KAFKA_SASL_USERNAME: is required with KAFKA_SASL_MECHANISM=scram-sha-256']);
    expect(problems({ KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toEqual([
      'KAFKA_SASL_USERNAME: is set but KAFKA_SASL_MECHANISM is not',
      'KAFKA_SASL_PASSWORD: is set but KAFKA_SASL_MECHANISM is not',
    ]);
  });

  it('accepts TLS with the system CAs only, and unverified TLS with a warning', () => {
    expect(kafkajsSecurityOptions(read({ KAFKA_SSL: 'TRUE' }).security)).toEqual({ ssl: { rejectUnauthorized: true } });
    const unverified = read({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }).security;
    expect(kafkajsSecurityOptions(unverified)).toEqual({ ssl: { rejectUnauthorized: false } });
    expect(kafkaSecurityWarnings(unverified)).toEqual([expect.stringMatching(/not verified/)]);
  });

  it('warns that PLAIN without TLS sends the password in clear, but not SCRAM or PLAIN over TLS', () => {
    const sasl = { KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' };
    expect(kafkaSecurityWarnings(read({ ...sasl, KAFKA_SASL_MECHANISM: 'plain' }).security)).toEqual([expect.stringMatching(/clear text/)]);
    expect(kafkaSecurityWarnings(read({ ...sasl, KAFKA_SASL_MECHANISM: 'scram-sha-256' }).security)).toEqual([]);
    expect(kafkaSecurityWarnings(read({ ...sasl, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SSL: 'true' }).security)).toEqual([]);
  });
});
