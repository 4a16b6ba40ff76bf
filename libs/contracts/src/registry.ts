import type { ZodType } from 'zod';
import { TOPICS } from './topics';
import { decodeRawUsageEventMessage, rawUsageEventSchema } from './events/usage-event-raw';
import { usageEventSchema } from './events/usage-event';
import { usageAggregateSchema } from './events/usage-aggregate';
import { meterDefinitionSchema } from './events/meter-catalog';
import { apiKeyChangedSchema } from './events/api-key';
import { subscriptionChangedSchema } from './events/subscription';
import { planChangedSchema } from './events/plan';
import { usageThresholdAlertSchema } from './events/usage-threshold-alert';
import { invoiceChangedSchema } from './events/invoice';
import { creditNoteIssuedSchema } from './events/credit-note';
import { accountStatusChangedSchema } from './events/account-status';
import { paymentReportedSchema } from './events/payment';
import { paymentRetryRequestedSchema } from './events/payment-retry';
import { dunningNoticeSchema } from './events/dunning-notice';
import { customerHealthSchema } from './events/customer-health';
import { churnRiskChangedSchema } from './events/churn-risk';
import { expansionSignalSchema } from './events/expansion-signal';
import { npsFeedbackSchema } from './events/nps-feedback';
import { supportTicketSchema } from './events/support-ticket';

/** The schema every message of a topic must satisfy; consumers validate against it at the boundary. */
export const TOPIC_SCHEMAS: Readonly<Record<string, ZodType>> = {
  [TOPICS.usageEventsRaw]: rawUsageEventSchema,
  [TOPICS.usageEvents]: usageEventSchema,
  [TOPICS.usageAggregates]: usageAggregateSchema,
  [TOPICS.catalogMeters]: meterDefinitionSchema,
  [TOPICS.catalogApiKeys]: apiKeyChangedSchema,
  [TOPICS.billingSubscriptions]: subscriptionChangedSchema,
  [TOPICS.billingPlans]: planChangedSchema,
  [TOPICS.alertsUsageThreshold]: usageThresholdAlertSchema,
  [TOPICS.billingInvoices]: invoiceChangedSchema,
  [TOPICS.billingCreditNotes]: creditNoteIssuedSchema,
  [TOPICS.billingAccountStatus]: accountStatusChangedSchema,
  [TOPICS.billingPayments]: paymentReportedSchema,
  [TOPICS.billingPaymentRetries]: paymentRetryRequestedSchema,
  [TOPICS.billingDunningNotices]: dunningNoticeSchema,
  [TOPICS.customersHealth]: customerHealthSchema,
  [TOPICS.customersChurnRisk]: churnRiskChangedSchema,
  [TOPICS.customersExpansion]: expansionSignalSchema,
  [TOPICS.feedbackNps]: npsFeedbackSchema,
  [TOPICS.supportTickets]: supportTicketSchema,
};

/**
 * Topics whose messages are not plain JSON values: how to turn a message's bytes and headers into the
 * value its schema checks. Topics not listed here are parsed as JSON. A decoder throws (with the reason
 * for the dead letter) when the message cannot be decoded.
 */
export const TOPIC_DECODERS: Readonly<Record<string, (value: Buffer, headers: Record<string, string>) => unknown>> = {
  // CloudEvents structured and binary mode (ce_* headers), within the input limits.
  [TOPICS.usageEventsRaw]: decodeRawUsageEventMessage,
};

export function schemaFor(topic: string): ZodType {
  const schema = TOPIC_SCHEMAS[topic];
  if (!schema) throw new Error(`no schema registered for topic "${topic}"`);
  return schema;
}
