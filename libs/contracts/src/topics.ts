/** Every Kafka topic Tally uses. Names are `<domain>.<what>.v<N>`; a breaking change is a new version. */
export const TOPICS = {
  usageEventsRaw: 'usage.events.raw.v1',
  usageEvents: 'usage.events.v1',
  usageEventsDlq: 'usage.events.dlq.v1',
  catalogMeters: 'catalog.meters.v1',
  catalogApiKeys: 'catalog.api-keys.v1',
  usageAggregates: 'usage.aggregates.v1',
  alertsUsageThreshold: 'alerts.usage-threshold.v1',
  billingSubscriptions: 'billing.subscriptions.v1',
  billingPlans: 'billing.plans.v1',
  billingInvoices: 'billing.invoices.v1',
  billingCreditNotes: 'billing.credit-notes.v1',
  billingAccountStatus: 'billing.account-status.v1',
  billingPayments: 'billing.payments.v1',
  billingPaymentRetries: 'billing.payment-retries.v1',
  billingDunningNotices: 'billing.dunning-notices.v1',
  customersHealth: 'customers.health.v1',
  customersChurnRisk: 'customers.churn-risk.v1',
  customersExpansion: 'customers.expansion.v1',
  feedbackNps: 'feedback.nps.v1',
  supportTickets: 'support.tickets.v1',
} as const;

export type TopicName = (typeof TOPICS)[keyof typeof TOPICS];

/** Topics holding "current state per key" are compacted so a new consumer can rebuild its projection. */
export const COMPACTED_TOPICS: ReadonlySet<string> = new Set<string>([
  TOPICS.catalogMeters,
  TOPICS.catalogApiKeys,
  TOPICS.billingSubscriptions,
  TOPICS.billingPlans,
]);

/**
 * Where a malformed message of a topic goes. Raw usage has the DLQ named in the architecture; any other
 * topic gets `<domain>.<what>.dlq.v<N>` beside it.
 */
export function dlqTopicFor(topic: string): string {
  if (topic === TOPICS.usageEventsRaw || topic === TOPICS.usageEvents) return TOPICS.usageEventsDlq;
  const match = /^(.*)\.(v\d+)$/.exec(topic);
  if (!match) throw new Error(`topic "${topic}" does not follow <domain>.<what>.v<N>`);
  return `${match[1]}.dlq.${match[2]}`;
}

export const ALL_TOPICS: readonly string[] = [
  ...Object.values(TOPICS),
  ...[...new Set(Object.values(TOPICS).filter((t) => !t.includes('.dlq.')).map(dlqTopicFor))],
].filter((t, i, all) => all.indexOf(t) === i);

/** Keys keep one customer's events ordered on one partition. */
export const customerKey = (tenant: string, customer: string): string => `${tenant}:${customer}`;
/**
 * `billing.subscriptions.v1` is compacted per subscription (a customer may hold several), so its key
 * names the subscription: compaction then keeps every subscription's latest state.
 */
export const subscriptionKey = (tenant: string, customer: string, subscriptionId: string): string =>
  `${tenant}:${customer}:${subscriptionId}`;
export const customerMeterKey = (tenant: string, customer: string, meter: string): string =>
  `${tenant}:${customer}:${meter}`;

/** Headers Tally adds beside the W3C trace context (`traceparent`, `tracestate`). */
export const HEADERS = {
  tenant: 'tally-tenant',
  dlqReason: 'tally-dlq-reason',
  /** HMAC of a security-relevant catalog message (API keys) by ingestion, `v1=<hex>`. */
  signature: 'tally-signature',
} as const;
