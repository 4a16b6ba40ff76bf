import { Webhook } from 'standardwebhooks';
import { formatSecret, secretKey, signature, verifyWebhook, webhookHeaders } from './webhook-signature';

const KEY = Buffer.alloc(32, 7);
const SECRET = formatSecret(KEY);
const BODY = '{"type":"alerts.usage-threshold.v1","timestamp":"2026-11-30T12:00:00.000Z","data":{"usage":"1000"}}';
const NOW = 1_764_504_000;

describe('Standard Webhooks signature', () => {
  it('matches the spec and the third-party standardwebhooks library, which verifies what we send', () => {
    const headers = webhookHeaders(KEY, 'msg_1', NOW, BODY);
    // The library signs the same bytes the same way.
    expect(headers['webhook-signature']).toBe(new Webhook(SECRET).sign('msg_1', new Date(NOW * 1000), BODY));
    jest.useFakeTimers({ now: NOW * 1000 });
    try {
      expect(new Webhook(SECRET).verify(BODY, { ...headers })).toEqual(JSON.parse(BODY));
      expect(() => new Webhook(SECRET).verify(`${BODY} `, { ...headers })).toThrow();
      expect(() => new Webhook(formatSecret(Buffer.alloc(32, 8))).verify(BODY, { ...headers })).toThrow();
    } finally {
      jest.useRealTimers();
    }
  });

  it('is the known answer for a fixed key, id, timestamp and body (HMAC-SHA256 over "id.timestamp.body", base64)', () => {
    // Computed with openssl: printf "msg_1.1764504000.{}" | openssl dgst -sha256 -mac HMAC -macopt hexkey:0707…07 (32 bytes) -binary | base64
    expect(signature(KEY, 'msg_1', NOW, '{}')).toBe('v1,0OiMZrHlFP4C35PYx78gn1uCA+Kzxa+B98oCV+vXrHw=');
  });

  it('signs each of id, timestamp and body (changing any changes the signature)', () => {
    const base = signature(KEY, 'msg_1', NOW, BODY);
    expect(signature(KEY, 'msg_2', NOW, BODY)).not.toBe(base);
    expect(signature(KEY, 'msg_1', NOW + 1, BODY)).not.toBe(base);
    expect(signature(KEY, 'msg_1', NOW, BODY.replace('1000', '1001'))).not.toBe(base);
    expect(signature(Buffer.alloc(32, 8), 'msg_1', NOW, BODY)).not.toBe(base);
  });

  it('verifies as a receiver: tolerance, tampering, missing headers, several signatures (rotation)', () => {
    const headers = webhookHeaders(KEY, 'msg_1', NOW, BODY);
    expect(verifyWebhook(SECRET, headers, BODY, NOW)).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, headers, BODY, NOW + 300)).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, headers, BODY, NOW + 301)).toMatchObject({ ok: false, reason: expect.stringContaining('tolerance') });
    expect(verifyWebhook(SECRET, headers, BODY, NOW - 301)).toMatchObject({ ok: false });
    expect(verifyWebhook(SECRET, headers, `${BODY}x`, NOW)).toMatchObject({ ok: false, reason: 'no matching signature' });
    expect(verifyWebhook(SECRET, { ...headers, 'webhook-id': 'msg_2' }, BODY, NOW)).toMatchObject({ ok: false });
    expect(verifyWebhook(SECRET, { 'webhook-id': 'msg_1', 'webhook-timestamp': String(NOW) }, BODY, NOW)).toMatchObject({ ok: false, reason: expect.stringContaining('missing') });
    expect(verifyWebhook(SECRET, { ...headers, 'webhook-timestamp': '1.5e9' }, BODY, NOW)).toMatchObject({ ok: false });
    const rotated = { ...headers, 'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')} ${headers['webhook-signature']}` };
    expect(verifyWebhook(SECRET, rotated, BODY, NOW)).toEqual({ ok: true });
    expect(verifyWebhook(SECRET, { ...headers, 'webhook-signature': headers['webhook-signature'].replace('v1,', 'v2,') }, BODY, NOW)).toMatchObject({ ok: false });
  });
});

describe('secrets', () => {
  it('formats key bytes as whsec_ + base64 and reads them back', () => {
    expect(SECRET).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    const parsed = secretKey(SECRET);
    expect('key' in parsed && parsed.key.equals(KEY)).toBe(true);
  });

  it.each([
    ['no prefix', Buffer.alloc(32).toString('base64'), 'must start with whsec_'],
    ['bad characters', 'whsec_abc$def', 'standard base64'],
    ['url-safe alphabet', `whsec_${Buffer.alloc(32, 0xfb).toString('base64url')}`, 'standard base64'],
    ['bad padding', 'whsec_AAAAA', 'standard base64'],
    ['too short', `whsec_${Buffer.alloc(23).toString('base64')}`, '24 to 64 bytes (got 23)'],
    ['too long', `whsec_${Buffer.alloc(65).toString('base64')}`, '24 to 64 bytes (got 65)'],
    ['empty', 'whsec_', 'standard base64'],
  ])('refuses a secret with %s', (_, secret, error) => {
    const parsed = secretKey(secret);
    expect('error' in parsed && parsed.error).toContain(error);
  });

  it('accepts the bounds (24 and 64 bytes) and refuses to format outside them', () => {
    expect('key' in secretKey(formatSecret(Buffer.alloc(24)))).toBe(true);
    expect('key' in secretKey(formatSecret(Buffer.alloc(64)))).toBe(true);
    expect(() => formatSecret(Buffer.alloc(16))).toThrow();
  });
});
