import { ALL_TOPICS, COMPACTED_TOPICS, customerKey, customerMeterKey, dlqTopicFor, TOPICS } from './topics';

describe('dlqTopicFor', () => {
  it('sends raw and canonical usage events to the usage DLQ named in the architecture', () => {
    expect(dlqTopicFor('usage.events.raw.v1')).toBe('usage.events.dlq.v1');
    expect(dlqTopicFor('usage.events.v1')).toBe('usage.events.dlq.v1');
    expect(dlqTopicFor(TOPICS.usageEventsRaw)).toBe(TOPICS.usageEventsDlq);
    expect(dlqTopicFor(TOPICS.usageEvents)).toBe(TOPICS.usageEventsDlq);
  });

  it('puts any other topic in <domain>.<what>.dlq.v<N> beside it', () => {
    expect(dlqTopicFor('catalog.meters.v1')).toBe('catalog.meters.dlq.v1');
    expect(dlqTopicFor('usage.aggregates.v1')).toBe('usage.aggregates.dlq.v1');
    expect(dlqTopicFor('alerts.usage-threshold.v1')).toBe('alerts.usage-threshold.dlq.v1');
    expect(dlqTopicFor('billing.invoices.v1')).toBe('billing.invoices.dlq.v1');
  });

  it('keeps the version of the topic, including multi-digit ones', () => {
    expect(dlqTopicFor('billing.invoices.v2')).toBe('billing.invoices.dlq.v2');
    expect(dlqTopicFor('customers.health.v12')).toBe('customers.health.dlq.v12');
    // Only v1 of usage is special-cased; a new version gets its own DLQ.
    expect(dlqTopicFor('usage.events.v2')).toBe('usage.events.dlq.v2');
  });

  it.each(['', 'usage.events', 'usage.events.v', 'usage.events.V1', 'usage.events.1', 'usage-events-v1', 'v1', 'usage.events.v1 '])(
    'throws on the badly named topic %p',
    (topic) => {
      expect(() => dlqTopicFor(topic)).toThrow(`topic "${topic}" does not follow <domain>.<what>.v<N>`);
    },
  );
});

describe('ALL_TOPICS', () => {
  it('has no duplicates', () => {
    expect(new Set(ALL_TOPICS).size).toBe(ALL_TOPICS.length);
  });

  it('includes every topic of TOPICS', () => {
    for (const topic of Object.values(TOPICS)) expect(ALL_TOPICS).toContain(topic);
  });

  it('includes the usage DLQ once, and no separate DLQ for raw or canonical usage', () => {
    expect(ALL_TOPICS.filter((t) => t === 'usage.events.dlq.v1')).toHaveLength(1);
    expect(ALL_TOPICS).not.toContain('usage.events.raw.dlq.v1');
  });

  it('includes the DLQ of every other topic', () => {
    for (const topic of [
      'catalog.meters.dlq.v1',
      'usage.aggregates.dlq.v1',
      'alerts.usage-threshold.dlq.v1',
      'billing.subscriptions.dlq.v1',
      'billing.invoices.dlq.v1',
      'billing.account-status.dlq.v1',
      'billing.payments.dlq.v1',
      'customers.health.dlq.v1',
      'customers.churn-risk.dlq.v1',
      'feedback.nps.dlq.v1',
      'support.tickets.dlq.v1',
    ]) {
      expect(ALL_TOPICS).toContain(topic);
    }
    for (const topic of Object.values(TOPICS)) {
      if (!topic.includes('.dlq.')) expect(ALL_TOPICS).toContain(dlqTopicFor(topic));
    }
  });

  it('has no DLQ of a DLQ', () => {
    expect(ALL_TOPICS.filter((t) => t.includes('.dlq.dlq.'))).toEqual([]);
  });

  it('holds only well-formed names', () => {
    for (const topic of ALL_TOPICS) expect(topic).toMatch(/^[a-z]+\.[a-z-]+(\.[a-z-]+)*\.v\d+$/);
  });
});

describe('COMPACTED_TOPICS', () => {
  it('compacts the current-state topics (meter catalog, subscriptions) but never the event streams', () => {
    expect(COMPACTED_TOPICS.has(TOPICS.catalogMeters)).toBe(true);
    expect(COMPACTED_TOPICS.has(TOPICS.billingSubscriptions)).toBe(true);
    expect(COMPACTED_TOPICS.has(TOPICS.usageEventsRaw)).toBe(false);
    expect(COMPACTED_TOPICS.has(TOPICS.usageEvents)).toBe(false);
    expect(COMPACTED_TOPICS.has(TOPICS.usageEventsDlq)).toBe(false);
  });
});

describe('partition keys', () => {
  it('joins tenant, customer and meter with colons', () => {
    expect(customerKey('acme', 'cust-1')).toBe('acme:cust-1');
    expect(customerMeterKey('acme', 'cust-1', 'tokens')).toBe('acme:cust-1:tokens');
  });
});
