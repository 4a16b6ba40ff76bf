import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { customerKey, entitlementSchema, TOPICS, type AccountStatusChanged, type Entitlement, type SubscriptionChanged } from '@tally/contracts';
import { OutboxPublisher } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { z } from 'zod';
import { calendarPeriod } from './billing-period';

export const createSubscriptionSchema = z.object({
  customer: z.string().min(1),
  plan: z.string().min(1),
  entitlements: z.array(entitlementSchema).default([]),
});

export type CreateSubscription = z.input<typeof createSubscriptionSchema>;

/** Owns subscriptions; every change is published to the compacted `billing.subscriptions.v1`. */
@Injectable()
export class SubscriptionService {
  constructor(private readonly outbox: OutboxPublisher) {}

  async create(tenant: string, input: CreateSubscription, now = new Date()): Promise<SubscriptionChanged> {
    const parsed = createSubscriptionSchema.parse(input);
    const period = calendarPeriod(now);
    const entitlements: Entitlement[] = parsed.entitlements;
    const subscription: SubscriptionChanged = {
      eventId: randomUUID(),
      occurredAt: now.toISOString(),
      tenant,
      customer: parsed.customer,
      subscriptionId: randomUUID(),
      plan: parsed.plan,
      status: 'active',
      periodStart: period.start.toISOString(),
      periodEnd: period.end.toISOString(),
      entitlements,
    };
    return this.outbox.inTransaction(async (manager, emit) => {
      const s = schemaOf(manager.connection);
      await manager.query(
        `INSERT INTO ${s}.subscriptions (tenant, subscription_id, customer, plan, status, period_start, period_end, entitlements)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [tenant, subscription.subscriptionId, subscription.customer, subscription.plan, subscription.status,
          subscription.periodStart, subscription.periodEnd, JSON.stringify(entitlements)],
      );
      emit({ topic: TOPICS.billingSubscriptions, key: customerKey(tenant, subscription.customer), value: subscription });
      // A new customer starts in good standing; health scoring takes its billing input from here.
      const status: AccountStatusChanged = {
        eventId: randomUUID(),
        occurredAt: now.toISOString(),
        tenant,
        customer: subscription.customer,
        status: 'good_standing',
        overdueInvoices: 0,
      };
      emit({ topic: TOPICS.billingAccountStatus, key: customerKey(tenant, subscription.customer), value: status });
      return subscription;
    });
  }
}
