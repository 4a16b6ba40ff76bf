import { HEADERS, type ApiKeyChanged } from '@tally/contracts';
import type { ServiceConfig } from '../service-config';
import { apiKeyChangeSignatureProblem, canonicalApiKeyChange, catalogSigningConfigSchema, catalogSigningSecret, signApiKeyChange } from './catalog-signature';

const SECRET = 'a-secret-of-thirty-two-bytes-xyz';
const value: ApiKeyChanged = {
  eventId: 'e-1',
  occurredAt: '2025-01-01T00:00:00.000Z',
  tenant: 'acme',
  keyId: 'k-1',
  keyHash: 'a'.repeat(64),
  revoked: false,
};
const signed = (v: ApiKeyChanged = value, key: string | null = 'k-1', secret = SECRET) => ({ [HEADERS.signature]: signApiKeyChange(secret, key, v) });

describe('catalog message signatures', () => {
  it('accepts what it signed, whatever the field order of the payload', () => {
    const reordered = JSON.parse(JSON.stringify({ revoked: false, keyHash: value.keyHash, keyId: 'k-1', tenant: 'acme', occurredAt: value.occurredAt, eventId: 'e-1' }));
    expect(apiKeyChangeSignatureProblem(SECRET, 'k-1', reordered, signed())).toBeUndefined();
    expect(signed()[HEADERS.signature]).toMatch(/^v1=[0-9a-f]{64}$/);
  });

  it.each<[string, Partial<ApiKeyChanged>]>([
    ['tenant', { tenant: 'globex' }],
    ['key hash', { keyHash: 'b'.repeat(64) }],
    ['key id', { keyId: 'k-2' }],
    ['revoked flag', { revoked: true }],
    ['event id', { eventId: 'e-2' }],
    ['time', { occurredAt: '2025-01-01T00:00:01.000Z' }],
    ['correlation id', { correlationId: 'c-1' }],
    ['causation id', { causationId: 'c-1' }],
  ])('refuses a signed message whose %s was changed', (_, change) => {
    expect(apiKeyChangeSignatureProblem(SECRET, 'k-1', { ...value, ...change }, signed())).toMatch(/^invalid tally-signature/);
  });

  it('refuses a signature moved to another Kafka key, or to or from a null key', () => {
    expect(apiKeyChangeSignatureProblem(SECRET, 'k-2', value, signed())).toMatch(/^invalid/);
    expect(apiKeyChangeSignatureProblem(SECRET, null, value, signed())).toMatch(/^invalid/);
    expect(apiKeyChangeSignatureProblem(SECRET, 'null', value, signed(value, null))).toMatch(/^invalid/);
  });

  it('does not confuse a value that contains the separator of another field (canonical form is a JSON array)', () => {
    const a = { ...value, tenant: 'acme","k' };
    expect(canonicalApiKeyChange('x', a)).not.toBe(canonicalApiKeyChange('x","acme', { ...value, tenant: 'k' }));
  });

  it('refuses another secret, no header, and malformed headers', () => {
    expect(apiKeyChangeSignatureProblem(SECRET, 'k-1', value, signed(value, 'k-1', `${SECRET}!`))).toMatch(/^invalid/);
    expect(apiKeyChangeSignatureProblem(SECRET, 'k-1', value, {})).toBe('unsigned catalog message: no tally-signature header');
    const good = signed()[HEADERS.signature];
    for (const header of ['', 'v1=', good.toUpperCase(), good.replace('v1=', 'v2='), `${good}00`, good.slice(0, -2), ` ${good}`, good.slice(3)]) {
      expect(apiKeyChangeSignatureProblem(SECRET, 'k-1', value, { [HEADERS.signature]: header })).toMatch(/^malformed tally-signature header/);
    }
  });

  it('requires a secret of at least 32 bytes (counted in UTF-8) in the config', () => {
    expect(catalogSigningConfigSchema.safeParse({}).success).toBe(false);
    expect(catalogSigningConfigSchema.safeParse({ CATALOG_SIGNING_SECRET: 'x'.repeat(31) }).success).toBe(false);
    expect(catalogSigningConfigSchema.safeParse({ CATALOG_SIGNING_SECRET: 'x'.repeat(32) }).success).toBe(true);
    // 16 two-byte characters are 32 bytes.
    expect(catalogSigningConfigSchema.safeParse({ CATALOG_SIGNING_SECRET: 'é'.repeat(16) }).success).toBe(true);
    const issue = catalogSigningConfigSchema.safeParse({}).error!.issues[0];
    expect(issue.path).toEqual(['CATALOG_SIGNING_SECRET']);
    expect(issue.message).toMatch(/^is required/);
  });

  it('stops a service whose validated config lacks the secret', () => {
    expect(() => catalogSigningSecret({ service: 'x', extra: {} } as unknown as ServiceConfig)).toThrow(/CATALOG_SIGNING_SECRET is not part of/);
    expect(catalogSigningSecret({ service: 'x', extra: { CATALOG_SIGNING_SECRET: SECRET } } as unknown as ServiceConfig)).toBe(SECRET);
  });
});
