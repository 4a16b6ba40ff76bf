// The shapes of the API answers the dashboard reads (see the services' controllers and the OpenAPI document).
export type HealthBand = 'red' | 'yellow' | 'green' | 'excellent';
export const HEALTH_BANDS: HealthBand[] = ['red', 'yellow', 'green', 'excellent'];

export interface Customer {
  id: string;
  name: string;
  currency: string;
  timezone: string;
}

export interface Entitlement {
  meter: string;
  included: string;
  thresholds: Array<number | string>;
  hardLimit: boolean;
}

export interface Subscription {
  subscriptionId: string;
  customer: string;
  plan: string;
  status: 'active' | 'paused' | 'canceled';
  currency?: string;
  periodStart: string;
  periodEnd: string;
  entitlements: Entitlement[];
}

export interface EntitlementCheck {
  customer: string;
  meter: string;
  allowed: boolean;
  usage: string;
  included: string | null;
  remaining: string | null;
  hardLimit: boolean;
  periodStart: string | null;
  periodEnd: string | null;
  projected: string | null;
}

export interface UsageRow {
  value: string | number;
  windowStart: string;
  windowEnd: string;
  subject?: string | null;
}

export interface InvoiceLine {
  kind: string;
  code: string;
  description: string;
  units: string | null;
  unitAmount?: string;
  amount: string;
}

export interface InvoiceDocument {
  currency: string;
  period: { start: string; end: string; timeZone: string };
  lines: InvoiceLine[];
  subtotal: string;
  tax: string;
  total: string;
  amountDue: string;
}

export interface Upcoming {
  subscriptionId: string;
  asOf: string;
  elapsedFraction: string;
  invoiceSoFar: InvoiceDocument;
  projectedInvoice: InvoiceDocument;
  projectedTotal: string;
  projectedAmountDue: string;
}

export interface InvoiceView {
  id: string;
  number: string | null;
  customer: string;
  status: string;
  periodStart: string;
  periodEnd: string;
  currency: string;
  issuedAt: string | null;
  document: InvoiceDocument;
}

export interface HealthItem {
  customer: string;
  score: number | null;
  band: HealthBand | null;
  scoredAt: string | null;
}

export interface HealthDetail extends HealthItem {
  history: Array<{ scoredAt: string; score: number; band: HealthBand; churnRisk: string | null }>;
}

export interface MonthlyAnalytics {
  month: string;
  currency: string | null;
  startMrr: string;
  endMrr: string;
  newMrr: string;
  expansionMrr: string;
  contractionMrr: string;
  churnedMrr: string;
  customersAtStart: number;
  customersLost: number;
  customersAtEnd: number;
  nrr: number | null;
  grr: number | null;
  churnRate: number | null;
}

export interface CohortRow {
  cohort: string;
  customers: number;
  retention: Array<number | null>;
}

export interface EventConflict {
  source: string;
  id: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  sample: string;
}

export interface RescoreFailure {
  customer: string;
  error: string;
  attempts: number;
  lastFailedAt: string;
}

export interface JobFailure {
  job?: string;
  error?: string;
  attempts?: number;
  [key: string]: unknown;
}

/** `GET /api/v1/alerts` (threshold-alerting): an alert as published on `alerts.usage-threshold.v1`. */
export interface AlertItem {
  eventId: string;
  occurredAt: string;
  customer: string;
  meter: string;
  periodStart: string;
  periodEnd: string;
  kind: 'soft' | 'overage' | 'hard_limit' | 'absolute' | 'spend' | 'step' | 'recovered' | 'forecast';
  threshold?: string;
  thresholdUnit?: 'percent' | 'units' | 'money';
  thresholdPercent?: number;
  recoveredKind?: string;
  usage: string;
  included: string;
  projected?: string;
  projectedUsage?: string;
  recommendation?: { plan?: string; recommendedPlan?: string; saving?: string; currency?: string } & Record<string, unknown>;
  costSoFar?: string;
  overageCost?: string;
  currency?: string;
}

/** `GET /api/v1/health/signals?type=churn-risk` (health-scoring). */
export interface ChurnRiskSignal {
  type: 'churn-risk';
  customer: string;
  at: string;
  trigger: string;
  score: number;
  band: HealthBand;
  previousScore: number | null;
  previousBand: HealthBand | null;
}

/** `GET /api/v1/health/signals?type=expansion` (health-scoring). */
export interface ExpansionSignalItem {
  type: 'expansion';
  customer: string;
  at: string;
  signal: string;
  signalKey: string;
}

/** `GET /api/v1/dead-letters` (ingestion). */
export interface DeadLetterItem {
  id: string;
  deadLetteredAt: string;
  dlqTopic: string;
  reason: string;
  source: { topic: string | null; partition: number | null; offset: string | null; timestamp: string | null };
  key: string | null;
  value: string | null;
  valueBase64: string | null;
  previewCut: boolean;
  valueSize: number;
  truncated: boolean;
}

export interface FeedPage<T> {
  items: T[];
  nextCursor: string | null;
}
