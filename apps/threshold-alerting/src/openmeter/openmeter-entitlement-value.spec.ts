import type { EntitlementCheck } from '../entitlements/entitlement-projection';
import { openMeterEntitlementValue } from './openmeter-entitlement-value';

const check = (over: Partial<EntitlementCheck>): EntitlementCheck => ({
  customer: 'c', meter: 'm', hasAccess: true, allowed: true, usage: '0', included: '100', remaining: '100', hardLimit: false,
  periodStart: '2026-11-01T00:00:00.000Z', periodEnd: '2026-12-01T00:00:00.000Z', projected: null, ...over,
});

describe('openMeterEntitlementValue', () => {
  it('maps included units to the grant: balance left, no overage below it', () => {
    expect(openMeterEntitlementValue(check({ usage: '12', included: '100' }))).toEqual({ hasAccess: true, balance: 88, usage: 12, overage: 0, totalAvailableGrantAmount: 100 });
  });

  it('at exactly the included units: balance 0, overage 0', () => {
    expect(openMeterEntitlementValue(check({ usage: '100' }))).toMatchObject({ balance: 0, overage: 0 });
  });

  it('beyond them: balance never negative, the rest is overage; access as the check says (a hard limit denies)', () => {
    expect(openMeterEntitlementValue(check({ usage: '130.5' }))).toMatchObject({ hasAccess: true, balance: 0, overage: 30.5 });
    expect(openMeterEntitlementValue(check({ usage: '130.5', hasAccess: false, allowed: false, hardLimit: true }))).toMatchObject({ hasAccess: false, overage: 30.5 });
  });

  it('a meter without included units: access and usage only', () => {
    expect(openMeterEntitlementValue(check({ usage: '7', included: null, remaining: null }))).toEqual({ hasAccess: true, usage: 7 });
  });

  it('decimals: exact where a double can hold them, nearest double otherwise', () => {
    expect(openMeterEntitlementValue(check({ usage: '0.1', included: '0.3' }))).toMatchObject({ balance: 0.2, usage: 0.1 });
    expect(openMeterEntitlementValue(check({ usage: '12345678901234567890', included: '1' })).usage).toBe(12345678901234567000);
  });
});
