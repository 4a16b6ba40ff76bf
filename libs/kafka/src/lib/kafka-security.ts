import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import type { KafkaConfig, SASLOptions } from 'kafkajs';

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/**
 * How every Kafka client of a service reaches the brokers: TLS (optionally mutual) and SASL. The secrets (SASL
 * password, private key and its passphrase) are non-enumerable properties, so logging or serializing the
 * settings never shows them.
 */
export interface KafkaSecurity {
  tls?: {
    /** PEM contents (not paths): read once at boot, so a missing file stops the service there. */
    ca?: string;
    cert?: string;
    key?: string;
    keyPassword?: string;
    rejectUnauthorized: boolean;
  };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface KafkaSecurityProblem {
  variable: string;
  message: string;
}

const BOOLEAN = /^(true|false|1|0)$/i;
const truthy = (v: string) => /^(true|1)$/i.test(v);

const hidden = <T extends object>(target: T, key: string, value: string | undefined): T => {
  if (value !== undefined) Object.defineProperty(target, key, { value, enumerable: false });
  return target;
};

/**
 * Reads `KAFKA_SSL*` and `KAFKA_SASL_*` (see README "Security settings"). Returns every problem at once, each
 * naming its variable, for the service's one boot-time configuration error.
 */
export function readKafkaSecurity(
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
): { security: KafkaSecurity; problems: KafkaSecurityProblem[] } {
  const problems: KafkaSecurityProblem[] = [];
  const problem = (variable: string, message: string) => problems.push({ variable, message });
  const value = (name: string) => {
    const v = env[name]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const security: KafkaSecurity = {};

  const ssl = value('KAFKA_SSL');
  if (ssl !== undefined && !BOOLEAN.test(ssl)) problem('KAFKA_SSL', 'must be true or false');
  const tlsOn = ssl !== undefined && truthy(ssl);
  const pem = (name: string): string | undefined => {
    const path = value(name);
    if (path === undefined) return undefined;
    if (!tlsOn) {
      problem(name, 'is set but KAFKA_SSL is not true');
      return undefined;
    }
    let text: string;
    try {
      text = readFile(path);
    } catch (e) {
      problem(name, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
    if (!text.includes('-----BEGIN ')) problem(name, `${path} holds no PEM block (-----BEGIN ...)`);
    return text;
  };
  const ca = pem('KAFKA_SSL_CA_FILE');
  const cert = pem('KAFKA_SSL_CERT_FILE');
  const key = pem('KAFKA_SSL_KEY_FILE');
  if (tlsOn && (value('KAFKA_SSL_CERT_FILE') === undefined) !== (value('KAFKA_SSL_KEY_FILE') === undefined)) {
    problem(value('KAFKA_SSL_CERT_FILE') ? 'KAFKA_SSL_KEY_FILE' : 'KAFKA_SSL_CERT_FILE', 'mutual TLS needs both KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE');
  }
  const keyPassword = env.KAFKA_SSL_KEY_PASSWORD || undefined;
  if (keyPassword !== undefined && value('KAFKA_SSL_KEY_FILE') === undefined) problem('KAFKA_SSL_KEY_PASSWORD', 'is set but KAFKA_SSL_KEY_FILE is not');
  const reject = value('KAFKA_SSL_REJECT_UNAUTHORIZED');
  if (reject !== undefined && !BOOLEAN.test(reject)) problem('KAFKA_SSL_REJECT_UNAUTHORIZED', 'must be true or false');
  else if (reject !== undefined && !tlsOn) problem('KAFKA_SSL_REJECT_UNAUTHORIZED', 'is set but KAFKA_SSL is not true');
  if (tlsOn) {
    security.tls = hidden(hidden({ ca, cert, rejectUnauthorized: reject === undefined || truthy(reject) }, 'key', key), 'keyPassword', keyPassword);
  }

  const mechanism = value('KAFKA_SASL_MECHANISM')?.toLowerCase();
  const username = value('KAFKA_SASL_USERNAME');
  // Not trimmed: a password may begin or end with a space.
  const password = env.KAFKA_SASL_PASSWORD || undefined;
  if (mechanism === undefined) {
    if (username !== undefined) problem('KAFKA_SASL_USERNAME', 'is set but KAFKA_SASL_MECHANISM is not');
    if (password !== undefined) problem('KAFKA_SASL_PASSWORD', 'is set but KAFKA_SASL_MECHANISM is not');
  } else if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
    problem('KAFKA_SASL_MECHANISM', `must be one of ${SASL_MECHANISMS.join(', ')}`);
  } else {
    if (username === undefined) problem('KAFKA_SASL_USERNAME', `is required with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (password === undefined) problem('KAFKA_SASL_PASSWORD', `is required with KAFKA_SASL_MECHANISM=${mechanism}`);
    if (username !== undefined && password !== undefined) {
      security.sasl = hidden({ mechanism: mechanism as SaslMechanism, username } as NonNullable<KafkaSecurity['sasl']>, 'password', password);
    }
  }
  return { security, problems };
}

/** What the logs may say about the security settings (never a secret). */
export function describeKafkaSecurity(security: KafkaSecurity | undefined): Record<string, unknown> {
  return {
    tls: security?.tls ? { mutual: security.tls.cert !== undefined, customCa: security.tls.ca !== undefined, rejectUnauthorized: security.tls.rejectUnauthorized } : false,
    sasl: security?.sasl ? { mechanism: security.sasl.mechanism, username: security.sasl.username } : false,
  };
}

/** Why these settings are risky, if they are (logged as a warning at boot). */
export function kafkaSecurityWarnings(security: KafkaSecurity | undefined): string[] {
  const warnings: string[] = [];
  if (security?.sasl?.mechanism === 'plain' && !security.tls) warnings.push('KAFKA_SASL_MECHANISM=plain without KAFKA_SSL=true sends the Kafka password in clear text');
  if (security?.tls && !security.tls.rejectUnauthorized) warnings.push('KAFKA_SSL_REJECT_UNAUTHORIZED=false: the broker certificate is not verified (tests only)');
  return warnings;
}

function tlsOptions(tls: NonNullable<KafkaSecurity['tls']>): TlsOptions {
  return {
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : {}),
    ...(tls.keyPassword !== undefined ? { passphrase: tls.keyPassword } : {}),
  };
}

/** The `ssl` and `sasl` options of a kafkajs client. */
export function kafkajsSecurityOptions(security: KafkaSecurity | undefined): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const options: Pick<KafkaConfig, 'ssl' | 'sasl'> = {};
  if (security?.tls) options.ssl = tlsOptions(security.tls);
  if (security?.sasl) options.sasl = { mechanism: security.sasl.mechanism, username: security.sasl.username, password: security.sasl.password } as SASLOptions;
  return options;
}

/** The `tls` and `sasl` connection options of a @platformatic/kafka client (producer, consumer, admin). */
export function platformaticSecurityOptions(security: KafkaSecurity | undefined): { tls?: TlsOptions; sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string } } {
  const options: ReturnType<typeof platformaticSecurityOptions> = {};
  if (security?.tls) options.tls = tlsOptions(security.tls);
  if (security?.sasl) {
    const mechanism = security.sasl.mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
    options.sasl = { mechanism, username: security.sasl.username, password: security.sasl.password };
  }
  return options;
}
