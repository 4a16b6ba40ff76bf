import { canonicalJson, parseIdempotencyKey, requestFingerprint } from './idempotency';

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
