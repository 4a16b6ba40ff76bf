import { dlqTopicFor, schemaFor, TOPICS, ALL_TOPICS } from '../../index';

describe('customers.expansion.v1', () => {
  const valid = { eventId: 'e1', occurredAt: '2026-06-01T00:00:00Z', tenant: 'acme', customer: 'c-1', signal: 'repeated_overage', score: 104, band: 'excellent', reasons: ['overage in 2 periods'], periodStart: '2026-06-01T00:00:00.000Z' };

  it('is registered with its schema and a DLQ beside it', () => {
    expect(TOPICS.customersExpansion).toBe('customers.expansion.v1');
    expect(dlqTopicFor(TOPICS.customersExpansion)).toBe('customers.expansion.dlq.v1');
    expect(ALL_TOPICS).toEqual(expect.arrayContaining(['customers.expansion.v1', 'customers.expansion.dlq.v1']));
    expect(schemaFor(TOPICS.customersExpansion).safeParse(valid).success).toBe(true);
  });

  it('refuses an unknown signal, a negative score and a missing customer', () => {
    const schema = schemaFor(TOPICS.customersExpansion);
    expect(schema.safeParse({ ...valid, signal: 'upsell' }).success).toBe(false);
    expect(schema.safeParse({ ...valid, score: -1 }).success).toBe(false);
    expect(schema.safeParse({ ...valid, customer: '' }).success).toBe(false);
  });
});
