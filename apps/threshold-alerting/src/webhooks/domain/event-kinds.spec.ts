import { TOPICS } from '@tally/contracts';
import { deliveryId, kindOfTopic, planDeliveries, WEBHOOK_TOPICS, webhookPayload, type EndpointSubscription, type WebhookEvent } from './event-kinds';

const event = (over: Partial<WebhookEvent> = {}): WebhookEvent => ({
  topic: TOPICS.alertsUsageThreshold,
  eventId: 'e-1',
  tenant: 'acme',
  occurredAt: '2026-11-30T12:00:00.000Z',
  publishedAtMs: 2_000,
  value: { eventId: 'e-1', tenant: 'acme', usage: '10' },
  ...over,
});
const endpoint = (id: string, eventKinds: string[], over: Partial<EndpointSubscription> = {}): EndpointSubscription => ({ id, tenant: 'acme', eventKinds, createdAtMs: 1_000, ...over });

describe('event kinds', () => {
  it('maps each kind to its topic and back', () => {
    expect(WEBHOOK_TOPICS).toEqual([TOPICS.alertsUsageThreshold, TOPICS.billingInvoices, TOPICS.customersChurnRisk]);
    expect(WEBHOOK_TOPICS.map(kindOfTopic)).toEqual(['alerts', 'invoices', 'churn-risk']);
    expect(kindOfTopic(TOPICS.usageAggregates)).toBeUndefined();
  });
});

describe('planDeliveries', () => {
  it('sends each event to the endpoints of its tenant subscribed to its kind', () => {
    const endpoints = [endpoint('all', ['alerts', 'invoices', 'churn-risk']), endpoint('invoices-only', ['invoices']), endpoint('other-tenant', ['alerts'], { tenant: 'globex' })];
    const planned = planDeliveries([event(), event({ topic: TOPICS.billingInvoices, eventId: 'inv-1' }), event({ topic: TOPICS.customersChurnRisk, eventId: 'cr-1' })], endpoints);
    expect(planned.map((p) => [p.endpointId, p.eventKind, p.eventId])).toEqual([
      ['all', 'alerts', 'e-1'],
      ['all', 'invoices', 'inv-1'],
      ['invoices-only', 'invoices', 'inv-1'],
      ['all', 'churn-risk', 'cr-1'],
    ]);
  });

  it('makes one delivery per endpoint for an event seen twice (redelivered input), and ids stable across batches', () => {
    const endpoints = [endpoint('a', ['alerts'])];
    const first = planDeliveries([event(), event({ publishedAtMs: 3_000 })], endpoints);
    expect(first).toHaveLength(1);
    expect(planDeliveries([event({ publishedAtMs: 9_000 })], endpoints)[0].id).toBe(first[0].id);
  });

  it('does not send an endpoint what was published before it was registered (boundary inclusive)', () => {
    expect(planDeliveries([event({ publishedAtMs: 999 })], [endpoint('a', ['alerts'])])).toEqual([]);
    expect(planDeliveries([event({ publishedAtMs: 1_000 })], [endpoint('a', ['alerts'])])).toHaveLength(1);
  });

  it('ignores topics that are not webhook kinds, and events without any endpoint', () => {
    expect(planDeliveries([event({ topic: TOPICS.usageAggregates })], [endpoint('a', ['alerts'])])).toEqual([]);
    expect(planDeliveries([event({ tenant: 'nobody' })], [endpoint('a', ['alerts'])])).toEqual([]);
    expect(planDeliveries([event()], [])).toEqual([]);
  });

  it('wraps the event as published in { type, timestamp, data }', () => {
    const [p] = planDeliveries([event()], [endpoint('a', ['alerts'])]);
    expect(JSON.parse(p.payload)).toEqual({ type: TOPICS.alertsUsageThreshold, timestamp: '2026-11-30T12:00:00.000Z', data: { eventId: 'e-1', tenant: 'acme', usage: '10' } });
    expect(p.payload).toBe(webhookPayload(event()));
  });
});

describe('deliveryId', () => {
  it('is msg_ + 32 hex, the same for the same endpoint, type and event, different otherwise (no separator ambiguity)', () => {
    const id = deliveryId('ep', 'alerts.usage-threshold.v1', 'e-1');
    expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(deliveryId('ep', 'alerts.usage-threshold.v1', 'e-1')).toBe(id);
    expect(deliveryId('ep2', 'alerts.usage-threshold.v1', 'e-1')).not.toBe(id);
    expect(deliveryId('ep', 'billing.invoices.v1', 'e-1')).not.toBe(id);
    expect(deliveryId('a', 'b', 'c:d')).not.toBe(deliveryId('a', 'b:c', 'd'));
  });
});
