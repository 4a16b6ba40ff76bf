import { rawEventTenant } from './raw-event-tenant';

describe('rawEventTenant', () => {
  it('takes the header, or the attribute when there is no header', () => {
    expect(rawEventTenant('acme', undefined)).toEqual({ ok: true, tenant: 'acme' });
    expect(rawEventTenant(undefined, 'acme')).toEqual({ ok: true, tenant: 'acme' });
    expect(rawEventTenant('', 'acme')).toEqual({ ok: true, tenant: 'acme' });
  });

  it('accepts both when they agree', () => {
    expect(rawEventTenant('acme', 'acme')).toEqual({ ok: true, tenant: 'acme' });
  });

  it('refuses a header and an attribute that differ, naming both', () => {
    expect(rawEventTenant('acme', 'globex')).toEqual({
      ok: false,
      reason: 'tenant: the tally-tenant header ("acme") and the tenant attribute ("globex") differ',
    });
  });

  it('refuses a missing tenant', () => {
    expect(rawEventTenant(undefined, undefined)).toEqual({ ok: false, reason: 'tenant: missing (set the tally-tenant header or the "tenant" attribute)' });
    expect(rawEventTenant('', undefined)).toMatchObject({ ok: false });
  });

  it('refuses a header whose bytes were not UTF-8 (decoded with U+FFFD)', () => {
    expect(rawEventTenant('ac\uFFFDme', undefined)).toEqual({ ok: false, reason: 'tenant: the tally-tenant header is not valid UTF-8' });
  });
});
