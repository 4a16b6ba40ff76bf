import { subscriptionChangedSchema } from './index';

const message = (entitlements: unknown[], extra: Record<string, unknown> = {}) => ({
  eventId: 'e-1',
  occurredAt: '2026-03-10T12:00:00.000Z',
  tenant: 'acme',
  customer: 'c-1',
  subscriptionId: 'sub-1',
  plan: 'pro',
  status: 'active',
  periodStart: '2026-03-01T00:00:00.000Z',
  periodEnd: '2026-04-01T00:00:00.000Z',
  entitlements,
  ...extra,
});

describe('billing.subscriptions.v1', () => {
  it('still parses a message from before charges and alerts (defaults: 50/75/90/100, no hard limit)', () => {
    const parsed = subscriptionChangedSchema.parse(message([{ meter: 'api-calls', included: '500' }]));
    expect(parsed.entitlements).toEqual([{ meter: 'api-calls', included: '500', thresholds: [50, 75, 90, 100], hardLimit: false }]);
    expect(subscriptionChangedSchema.parse(message([{ meter: 'api-calls', included: '500', thresholds: [50, 90], hardLimit: true }])).entitlements[0]).toEqual({
      meter: 'api-calls', included: '500', thresholds: [50, 90], hardLimit: true,
    });
  });

  it('carries exact decimal percentages, alerts and the charge unchanged', () => {
    const entitlement = {
      meter: 'api-calls', included: '1000', thresholds: [33.3, '0.4', '66.65'], hardLimit: false,
      alerts: { absolute: ['5000'], spend: ['2.5'], stepUnits: '1000', stepSpend: '10' },
      charge: { model: 'graduated', properties: { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '0.01', flat_amount: '0' }] } },
    };
    const parsed = subscriptionChangedSchema.parse(JSON.parse(JSON.stringify(message([entitlement], { currency: 'EUR', planVersion: 2, cancelAtPeriodEnd: false }))));
    expect(parsed.entitlements[0]).toEqual(entitlement);
    expect(parsed.currency).toBe('EUR');
  });

  it.each([
    ['a negative percentage', { thresholds: [-5] }],
    ['a zero percentage string', { thresholds: ['0'] }],
    ['an exponent', { thresholds: ['1e999'] }],
    ['a spaced decimal', { thresholds: [' 33.3'] }],
    ['a negative spend', { alerts: { spend: ['-1'] } }],
    ['a zero step', { alerts: { stepUnits: '0' } }],
    ['a spend amount as a number', { alerts: { spend: [2.5] } }],
    ['a charge without a model', { charge: { model: '', properties: {} } }],
    ['a charge without properties', { charge: { model: 'standard' } }],
  ])('refuses %s', (_, over) => {
    expect(subscriptionChangedSchema.safeParse(message([{ meter: 'api-calls', included: '1000', ...over }])).success).toBe(false);
  });

  it('carries the time zone and prorated meters, and still parses a message without them', () => {
    const parsed = subscriptionChangedSchema.parse(message([], { timeZone: 'Asia/Shanghai', proratedMeters: ['seats'] }));
    expect(parsed.timeZone).toBe('Asia/Shanghai');
    expect(parsed.proratedMeters).toEqual(['seats']);
    const old = subscriptionChangedSchema.parse(message([]));
    expect(old.timeZone).toBeUndefined();
    expect(old.proratedMeters).toBeUndefined();
  });

  it.each([
    ['an empty time zone', { timeZone: '' }],
    ['a time zone that is not a string', { timeZone: 8 }],
    ['an empty prorated meter', { proratedMeters: [''] }],
    ['prorated meters that are not a list', { proratedMeters: 'seats' }],
  ])('refuses %s', (_, extra) => {
    expect(subscriptionChangedSchema.safeParse(message([], extra)).success).toBe(false);
  });
});
