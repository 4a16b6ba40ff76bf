import { ALL_TOPICS, COMPACTED_TOPICS, dlqTopicFor, schemaFor, TOPICS } from '../../index';
import { planKey } from './index';

describe('billing.plans.v1', () => {
  const valid = {
    eventId: 'acme:plans:pro:2', occurredAt: '2026-06-01T00:00:00Z', tenant: 'acme', planCode: 'pro', version: 2, name: 'Pro',
    currency: 'EUR', interval: 'monthly', baseFee: '49', charges: [{ meter: 'tokens', model: 'standard', properties: { amount: '0.002' }, includedUnits: '100000' }],
  };

  it('is a compacted topic registered with its schema and a DLQ beside it, keyed by tenant and plan code', () => {
    expect(TOPICS.billingPlans).toBe('billing.plans.v1');
    expect(COMPACTED_TOPICS.has(TOPICS.billingPlans)).toBe(true);
    expect(dlqTopicFor(TOPICS.billingPlans)).toBe('billing.plans.dlq.v1');
    expect(ALL_TOPICS).toEqual(expect.arrayContaining(['billing.plans.v1', 'billing.plans.dlq.v1']));
    expect(schemaFor(TOPICS.billingPlans).safeParse(valid).success).toBe(true);
    expect(planKey('acme', 'pro')).toBe('acme:pro');
  });

  it('refuses a fee as a number, an unknown interval, a version 0 and a charge without meter', () => {
    const schema = schemaFor(TOPICS.billingPlans);
    expect(schema.safeParse({ ...valid, baseFee: 49 }).success).toBe(false);
    expect(schema.safeParse({ ...valid, interval: 'weekly' }).success).toBe(false);
    expect(schema.safeParse({ ...valid, version: 0 }).success).toBe(false);
    expect(schema.safeParse({ ...valid, charges: [{ model: 'standard', properties: {} }] }).success).toBe(false);
    expect(schema.safeParse({ ...valid, charges: [{ ...valid.charges[0], includedUnits: '1e5' }] }).success).toBe(false);
  });
});
