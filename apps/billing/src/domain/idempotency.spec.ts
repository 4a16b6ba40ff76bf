import { canonicalJson, idempotencyDecision, isRememberedStatus, parseIdempotencyKey, requestFingerprint } from './idempotency';

describe('parseIdempotencyKey', () => {
  it('takes a UUID or any visible ASCII token up to 255 characters', () => {
    expect(parseIdempotencyKey('6f1c7a52-5a7e-4f43-9a0e-1f6a2b0c9d11')).toEqual({ key: '6f1c7a52-5a7e-4f43-9a0e-1f6a2b0c9d11' });
    expect(parseIdempotencyKey('x'.repeat(255))).toEqual({ key: 'x'.repeat(255) });
    expect(parseIdempotencyKey(undefined)).toEqual({});
  });

  it.each([[''], ['x'.repeat(256)], ['a b'], ['a, b'], ['naïve'], ['nul\u0000'], ['tab\there']])('refuses %j', (header) => {
    expect(parseIdempotencyKey(header).error).toMatch(/Idempotency-Key must be/);
  });

  it('refuses the header sent twice', () => {
    expect(parseIdempotencyKey(['a', 'b']).error).toBeDefined();
  });
});

describe('requestFingerprint', () => {
  it('is the same for the same request in another key order', () => {
    expect(requestFingerprint({ customer: 'c', body: { amount: '30', currency: 'EUR' } })).toBe(requestFingerprint({ body: { currency: 'EUR', amount: '30' }, customer: 'c' }));
  });

  it('differs for another amount, another customer, or a value of another type', () => {
    const base = requestFingerprint({ customer: 'c', body: { amount: '30' } });
    expect(requestFingerprint({ customer: 'c', body: { amount: '31' } })).not.toBe(base);
    expect(requestFingerprint({ customer: 'd', body: { amount: '30' } })).not.toBe(base);
    expect(requestFingerprint({ customer: 'c', body: { amount: 30 } })).not.toBe(base);
  });

  it('canonicalizes nested arrays and objects, dropping undefined members like JSON does', () => {
    expect(canonicalJson({ b: [{ y: 1, x: null }], a: undefined, c: 'é' })).toBe('{"b":[{"x":null,"y":1}],"c":"é"}');
  });
});

describe('idempotencyDecision', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const later = new Date(now.getTime() + 1);
  it('executes a new key, or one whose record expired (at the instant included)', () => {
    expect(idempotencyDecision(null, 'f', now)).toBe('execute');
    expect(idempotencyDecision({ fingerprint: 'f', status: 201, expiresAt: now }, 'f', now)).toBe('execute');
    expect(idempotencyDecision({ fingerprint: 'other', status: null, expiresAt: now }, 'f', now)).toBe('execute');
  });

  it('replays the answer of the same request, and says when it is still running', () => {
    expect(idempotencyDecision({ fingerprint: 'f', status: 201, expiresAt: later }, 'f', now)).toBe('replay');
    expect(idempotencyDecision({ fingerprint: 'f', status: 200, expiresAt: later }, 'f', now)).toBe('replay');
    expect(idempotencyDecision({ fingerprint: 'f', status: null, expiresAt: later }, 'f', now)).toBe('in-progress');
  });

  it('refuses the key for another request, finished or not', () => {
    expect(idempotencyDecision({ fingerprint: 'g', status: 201, expiresAt: later }, 'f', now)).toBe('mismatch');
    expect(idempotencyDecision({ fingerprint: 'g', status: null, expiresAt: later }, 'f', now)).toBe('mismatch');
  });

  it('remembers only successful answers', () => {
    expect([199, 200, 201, 204, 299, 300, 400, 404, 409, 422, 500].filter(isRememberedStatus)).toEqual([200, 201, 204, 299]);
  });

  it('fingerprints method and path with the body: the same body on another route is another request', () => {
    const body = { atPeriodEnd: true };
    expect(requestFingerprint({ method: 'POST', url: '/api/v1/subscriptions/a/cancel', body })).not.toBe(requestFingerprint({ method: 'POST', url: '/api/v1/subscriptions/b/cancel', body }));
  });
});
