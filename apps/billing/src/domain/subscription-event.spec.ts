import { subscriptionChangedSchema } from '@tally/contracts';
import { planDefinitionSchema, type PlanDefinition } from '../catalog/plan-definition';
import { accountStatusOnSubscribe, entitlementsOf, subscriptionChanged } from './subscription-event';
import type { Subscription } from './subscription-lifecycle';

const graduated = { graduated_ranges: [{ from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '0' }, { from_value: 1000, to_value: null, per_unit_amount: '0.005', flat_amount: '0' }] };

/** Plans as the API stores them: parsed by the plan schema. */
const plan = (charges: unknown[]): PlanDefinition => planDefinitionSchema.parse({ code: 'pro', name: 'Pro', interval: 'monthly', currency: 'EUR', charges });

const sub = (over: Partial<Subscription> = {}): Subscription => ({
  tenant: 'acme',
  subscriptionId: 'sub-1',
  customer: 'c-1',
  plan: 'pro',
  planVersion: 3,
  status: 'active',
  periodStart: new Date('2026-03-01T00:00:00Z'),
  periodEnd: new Date('2026-04-01T00:00:00Z'),
  currency: 'EUR',
  billingTime: 'calendar',
  startedAt: new Date('2026-01-15T10:00:00Z'),
  cancelAtPeriodEnd: false,
  timeZone: 'UTC',
  interval: 'monthly',
  definition: plan([{ meter: 'api-calls', model: 'graduated', properties: graduated, includedUnits: '500', thresholds: [33.3, '0.4', 100], hardLimit: true, alerts: { spend: ['5'], stepSpend: '2.5' } }]),
  ...over,
});
const stamp = { eventId: 'e-1', occurredAt: new Date('2026-03-10T12:00:00Z') };

describe('entitlementsOf', () => {
  it('carries each meter with included units: exact percentages as written, hard limit, alerts and the charge as priced', () => {
    expect(entitlementsOf(sub().definition)).toEqual([
      {
        meter: 'api-calls', included: '500', thresholds: [33.3, '0.4', 100], hardLimit: true,
        alerts: { spend: ['5'], stepSpend: '2.5' },
        charge: { model: 'graduated', properties: graduated },
      },
    ]);
  });

  it('defaults the percentages to 50, 75, 90 and 100 and the hard limit to off; no alerts field without alerts', () => {
    const [e] = entitlementsOf(plan([{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '10' }]));
    expect(e).toEqual({ meter: 'api-calls', included: '10', thresholds: [50, 75, 90, 100], hardLimit: false, charge: { model: 'standard', properties: { amount: '0.01' } } });
    expect('alerts' in e).toBe(false);
  });

  it('keeps an explicit empty percentage list (no percent alerts) rather than defaulting it', () => {
    expect(entitlementsOf(plan([{ meter: 'm', model: 'standard', properties: { amount: '1' }, includedUnits: '10', thresholds: [] }]))[0].thresholds).toEqual([]);
  });

  it('carries a meter without included units only when it sets alerts: included 0, no percentages, no hard limit', () => {
    const definition = plan([
      { meter: 'storage', model: 'standard', properties: { amount: '0.1' } },
      { meter: 'seats', model: 'package', properties: { amount: '5', package_size: 10, free_units: 0 }, alerts: { absolute: ['50'], stepUnits: '10' } },
      { meter: 'egress', model: 'standard', properties: { amount: '0.2' }, alerts: {} },
    ]);
    expect(entitlementsOf(definition)).toEqual([
      { meter: 'seats', included: '0', thresholds: [], hardLimit: false, alerts: { absolute: ['50'], stepUnits: '10' }, charge: { model: 'package', properties: { amount: '5', package_size: 10, free_units: 0 } } },
    ]);
  });

  it('tolerates definitions stored before alerts existed, and an empty plan', () => {
    // Stored plan versions are not parsed again: a hard limit without included units was accepted once and never entitled.
    const old = { code: 'old', name: 'Old', interval: 'monthly', currency: 'EUR', baseFee: '0', charges: [{ meter: 'm', model: 'standard', properties: { amount: '1' }, thresholds: [50], hardLimit: true }] } as PlanDefinition;
    expect(entitlementsOf(old)).toEqual([]);
    expect(entitlementsOf(plan([]))).toEqual([]);
  });

  it('lists meters in the plan order', () => {
    const definition = plan(['b', 'a', 'c'].map((meter) => ({ meter, model: 'standard', properties: { amount: '1' }, includedUnits: '1' })));
    expect(entitlementsOf(definition).map((e) => e.meter)).toEqual(['b', 'a', 'c']);
  });
});

describe('subscriptionChanged', () => {
  it('maps the subscription to a billing.subscriptions.v1 message that the contract accepts, decimals intact', () => {
    const event = subscriptionChanged(sub(), stamp);
    expect(event).toEqual({
      eventId: 'e-1', occurredAt: '2026-03-10T12:00:00.000Z', tenant: 'acme', customer: 'c-1', subscriptionId: 'sub-1', plan: 'pro', planVersion: 3,
      currency: 'EUR', status: 'active', cancelAtPeriodEnd: false, periodStart: '2026-03-01T00:00:00.000Z', periodEnd: '2026-04-01T00:00:00.000Z',
      entitlements: entitlementsOf(sub().definition),
      timeZone: 'UTC',
    });
    const parsed = subscriptionChangedSchema.parse(JSON.parse(JSON.stringify(event)));
    expect(parsed.entitlements[0].thresholds).toEqual([33.3, '0.4', 100]);
    expect(parsed.entitlements[0].charge).toEqual({ model: 'graduated', properties: graduated });
    expect(parsed.entitlements[0].alerts).toEqual({ spend: ['5'], stepSpend: '2.5' });
  });

  it('a paused subscription keeps its entitlements (usage is still metered); a canceled one has none', () => {
    expect(subscriptionChanged(sub({ status: 'paused' }), stamp).entitlements).toHaveLength(1);
    expect(subscriptionChanged(sub({ status: 'canceled' }), stamp).entitlements).toEqual([]);
    expect(subscriptionChanged(sub({ cancelAtPeriodEnd: true }), stamp)).toMatchObject({ cancelAtPeriodEnd: true, status: 'active' });
  });

  it('names the meters charged prorated and the customer\'s time zone, also once canceled (its last period is still invoiced)', () => {
    const definition = plan([
      { meter: 'seats', model: 'standard', properties: { amount: '3' }, prorated: true },
      { meter: 'api-calls', model: 'standard', properties: { amount: '1' }, prorated: false },
      { meter: 'storage', model: 'standard', properties: { amount: '1' } },
    ]);
    for (const status of ['active', 'paused', 'canceled'] as const) {
      const event = subscriptionChanged(sub({ definition, status, timeZone: 'Asia/Shanghai' }), stamp);
      expect(event).toMatchObject({ timeZone: 'Asia/Shanghai', proratedMeters: ['seats'] });
      expect(subscriptionChangedSchema.parse(JSON.parse(JSON.stringify(event)))).toMatchObject({ timeZone: 'Asia/Shanghai', proratedMeters: ['seats'] });
    }
    // A prorated charge without included units or alerts is not an entitlement: the entitlement check still answers no limit.
    expect(entitlementsOf(definition)).toEqual([]);
    // With usage alerts it is, without the charge: alerting would price full units.
    const alerted = plan([{ meter: 'seats', model: 'standard', properties: { amount: '3' }, prorated: true, alerts: { absolute: ['50'] } }]);
    expect(entitlementsOf(alerted)).toEqual([{ meter: 'seats', included: '0', thresholds: [], hardLimit: false, alerts: { absolute: ['50'] } }]);
    expect(subscriptionChanged(sub(), stamp)).not.toHaveProperty('proratedMeters');
  });

  it('every plan the API accepts maps to a message the contract accepts', () => {
    const extremes = plan([
      { meter: 'a', model: 'standard', properties: { amount: '1' }, includedUnits: '1000000000000000', thresholds: Array.from({ length: 20 }, (_, i) => `${i + 1}.0000000001`) },
      { meter: 'b', model: 'standard', properties: { amount: '1' }, includedUnits: '0', thresholds: [1000, '0.0000000001'], hardLimit: true, alerts: { absolute: Array.from({ length: 20 }, (_, i) => String(i + 1)), spend: ['1000000000000'], stepUnits: '0.00000000000000000001', stepSpend: '1000000000000' } },
    ]);
    expect(subscriptionChangedSchema.safeParse(JSON.parse(JSON.stringify(subscriptionChanged(sub({ definition: extremes }), stamp)))).success).toBe(true);
  });
});

describe('accountStatusOnSubscribe', () => {
  it('starts a new subscriber with the customer standing', () => {
    expect(accountStatusOnSubscribe(sub(), 'past_due', stamp)).toEqual({
      eventId: 'e-1', occurredAt: '2026-03-10T12:00:00.000Z', tenant: 'acme', customer: 'c-1', status: 'past_due', overdueInvoices: 0,
    });
  });
});
