import { mintPortalToken, parseMintRequest, portalKey, verifyPortalToken, PORTAL_TOKEN_PREFIX } from './portal-token';

const key = portalKey('a-portal-secret-of-at-least-32-characters');
const now = 1_800_000_000;
const claims = { apiKey: 'tly_secretkey', customer: 'c-1', expiresAt: now + 600 };

describe('portal tokens', () => {
  it('round-trips its claims and does not show the API key', () => {
    const token = mintPortalToken(key, claims);
    expect(token.startsWith(PORTAL_TOKEN_PREFIX)).toBe(true);
    expect(token).not.toContain('tly_secretkey');
    expect(Buffer.from(token.slice(4), 'base64url').toString('latin1')).not.toContain('secretkey');
    expect(verifyPortalToken(key, token, now)).toEqual({ ok: true, claims });
  });

  it('is expired at and after its expiry second', () => {
    const token = mintPortalToken(key, claims);
    expect(verifyPortalToken(key, token, now + 599).ok).toBe(true);
    expect(verifyPortalToken(key, token, now + 600)).toEqual({ ok: false, reason: 'expired' });
    expect(verifyPortalToken(key, token, now + 10_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses every single changed character (tampering)', () => {
    const token = mintPortalToken(key, claims);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = PORTAL_TOKEN_PREFIX.length; i < token.length; i++) {
      const swapped = alphabet[(alphabet.indexOf(token[i]) + 1) % alphabet.length];
      const tampered = token.slice(0, i) + swapped + token.slice(i + 1);
      expect(verifyPortalToken(key, tampered, now).ok).toBe(false);
    }
  });

  it('refuses a token of another secret, truncated, padded or not a token at all', () => {
    const token = mintPortalToken(key, claims);
    expect(verifyPortalToken(portalKey('another-portal-secret-of-32-characters!'), token, now)).toEqual({ ok: false, reason: 'invalid' });
    expect(verifyPortalToken(key, token.slice(0, 20), now).ok).toBe(false);
    expect(verifyPortalToken(key, `${token}AAAA`, now).ok).toBe(false);
    // One more character decodes to the same bytes; it is still not the token that was minted.
    expect(verifyPortalToken(key, `${token}x`, now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPortalToken(key, 'tly_abc', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPortalToken(key, 'tpt_', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPortalToken(key, 'tpt_a.b+c', now)).toEqual({ ok: false, reason: 'malformed' });
    expect(verifyPortalToken(key, `tpt_${'A'.repeat(5000)}`, now)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('validates mint requests', () => {
    expect(parseMintRequest({ customer: 'c-1' })).toEqual({ ok: true, customer: 'c-1', ttlSeconds: 3600 });
    expect(parseMintRequest({ customer: 'c-1', ttlSeconds: 60 })).toEqual({ ok: true, customer: 'c-1', ttlSeconds: 60 });
    expect(parseMintRequest({ customer: 'c-1', ttlSeconds: 86_400 }).ok).toBe(true);
    for (const bad of [null, [], 'c-1', {}, { customer: '' }, { customer: 'x'.repeat(201) }, { customer: 7 }, { customer: 'c-1', ttlSeconds: 59 }, { customer: 'c-1', ttlSeconds: 86_401 }, { customer: 'c-1', ttlSeconds: 1.5 }, { customer: 'c-1', ttlSeconds: '60' }, { customer: 'c-1', tenant: 'other' }]) {
      expect(parseMintRequest(bad).ok).toBe(false);
    }
  });
});
