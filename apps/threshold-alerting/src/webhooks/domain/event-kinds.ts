import { createHash } from 'node:crypto';
import { TOPICS } from '@tally/contracts';

/** What a tenant can subscribe an endpoint to, and the topic each kind is read from. */
export const WEBHOOK_EVENT_KINDS = ['alerts', 'invoices', 'churn-risk'] as const;
export type WebhookEventKind = (typeof WEBHOOK_EVENT_KINDS)[number];

export const TOPIC_OF_KIND: Readonly<Record<WebhookEventKind, string>> = {
  alerts: TOPICS.alertsUsageThreshold,
  invoices: TOPICS.billingInvoices,
  'churn-risk': TOPICS.customersChurnRisk,
};

export const WEBHOOK_TOPICS: readonly string[] = WEBHOOK_EVENT_KINDS.map((k) => TOPIC_OF_KIND[k]);

export function kindOfTopic(topic: string): WebhookEventKind | undefined {
  return WEBHOOK_EVENT_KINDS.find((k) => TOPIC_OF_KIND[k] === topic);
}

/** One consumed event, as far as webhooks care. */
export interface WebhookEvent {
  topic: string;
  eventId: string;
  tenant: string;
  occurredAt: string;
  /** When the broker got it (ms): an endpoint receives only what was published after it was registered. */
  publishedAtMs: number;
  value: unknown;
}

export interface EndpointSubscription {
  id: string;
  tenant: string;
  eventKinds: readonly string[];
  createdAtMs: number;
}

export interface PlannedDelivery {
  id: string;
  endpointId: string;
  tenant: string;
  eventKind: WebhookEventKind;
  eventType: string;
  eventId: string;
  /** The exact body sent (and signed) on every attempt and redelivery. */
  payload: string;
}

/**
 * The delivery id, which is also the `webhook-id` header: derived from endpoint, event type and event id, so the
 * same event to the same endpoint is one delivery however often it is consumed, and a receiver dedupes by it.
 */
export function deliveryId(endpointId: string, eventType: string, eventId: string): string {
  return `msg_${createHash('sha256').update(`${endpointId}\u0000${eventType}\u0000${eventId}`).digest('hex').slice(0, 32)}`;
}

/** The body: Standard Webhooks' suggested envelope `{ type, timestamp, data }`, `data` the event as published. */
export function webhookPayload(event: Pick<WebhookEvent, 'topic' | 'occurredAt' | 'value'>): string {
  return JSON.stringify({ type: event.topic, timestamp: event.occurredAt, data: event.value });
}

/**
 * The deliveries a batch of events makes: each event to every endpoint of its tenant that subscribes to its
 * kind and was registered no later than the event was published (a new endpoint is not flooded with the
 * backlog). An event seen twice in the batch makes one delivery per endpoint.
 */
export function planDeliveries(events: readonly WebhookEvent[], endpoints: readonly EndpointSubscription[]): PlannedDelivery[] {
  const byTenant = new Map<string, EndpointSubscription[]>();
  for (const e of endpoints) byTenant.set(e.tenant, [...(byTenant.get(e.tenant) ?? []), e]);
  const planned = new Map<string, PlannedDelivery>();
  for (const event of events) {
    const kind = kindOfTopic(event.topic);
    if (!kind) continue;
    for (const endpoint of byTenant.get(event.tenant) ?? []) {
      if (!endpoint.eventKinds.includes(kind) || endpoint.createdAtMs > event.publishedAtMs) continue;
      const id = deliveryId(endpoint.id, event.topic, event.eventId);
      if (planned.has(id)) continue;
      planned.set(id, { id, endpointId: endpoint.id, tenant: event.tenant, eventKind: kind, eventType: event.topic, eventId: event.eventId, payload: webhookPayload(event) });
    }
  }
  return [...planned.values()];
}
