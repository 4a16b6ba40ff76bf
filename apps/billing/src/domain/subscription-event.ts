import type { AccountStatusChanged, Entitlement, SubscriptionChanged } from '@tally/contracts';
import type { ChargeDefinition, PlanDefinition } from '../catalog/plan-definition';
import { isProrated } from '../catalog/prorated-charge';
import type { Subscription } from './subscription-lifecycle';

/** The alert percentages of a charge that sets none (the product brief's soft alerts and the overage notice). */
export const DEFAULT_THRESHOLDS = [50, 75, 90, 100] as const;

/** The envelope fields the caller draws (an id, the clock), so the mapping stays a pure function. */
export interface EventStamp {
  eventId: string;
  occurredAt: Date;
}

const hasAlerts = (c: ChargeDefinition): boolean =>
  Boolean(c.alerts && (c.alerts.absolute?.length || c.alerts.spend?.length || c.alerts.stepUnits !== undefined || c.alerts.stepSpend !== undefined));

/**
 * What threshold-alerting enforces and alerts on, per meter: the charges with included units (their
 * percentages, default 50/75/90/100, and hard limit), and the charges without included units that set
 * alerts (included 0 and no percentages: a percentage of nothing would fire on the first unit). Each carries
 * its charge as the plan prices it (Lago's model and properties, which @tally/pricing prices) so alerting
 * prices spend and overage cost as the invoice will; the currency is the subscription's. A charge with
 * neither is left out: the entitlement check answers its usage with no limit. A prorated charge's usage alerts
 * come without the charge (its price depends on the days each unit was held).
 */
export function entitlementsOf(plan: Pick<PlanDefinition, 'charges'>): Entitlement[] {
  return plan.charges
    .filter((c) => c.includedUnits !== undefined || hasAlerts(c))
    .map((c) => ({
      meter: c.meter,
      included: c.includedUnits ?? '0',
      thresholds: c.includedUnits === undefined ? [] : [...(c.thresholds ?? DEFAULT_THRESHOLDS)],
      hardLimit: c.includedUnits !== undefined && (c.hardLimit ?? false),
      ...(hasAlerts(c) ? { alerts: { ...c.alerts } } : {}),
      // Alerting prices full units; a prorated charge's price depends on the days held, so it gets no price
      // to show a wrong cost with (its spend alerts are refused).
      ...(isProrated(c) ? {} : { charge: { model: c.model, properties: c.properties } }),
    }));
}

/** The meters the plan charges prorated: aggregation keeps their held unit-days per period. */
export function proratedMetersOf(plan: Pick<PlanDefinition, 'charges'>): string[] {
  return plan.charges.filter(isProrated).map((c) => c.meter);
}

/**
 * `billing.subscriptions.v1` for the subscription as it is now (the topic is compacted: each message is the
 * whole current state). A canceled subscription entitles nothing; the others what their plan version says.
 * The time zone and prorated meters stay on a canceled one: its last period is still invoiced.
 */
export function subscriptionChanged(sub: Subscription, stamp: EventStamp): SubscriptionChanged {
  const prorated = proratedMetersOf(sub.definition);
  return {
    eventId: stamp.eventId,
    occurredAt: stamp.occurredAt.toISOString(),
    tenant: sub.tenant,
    customer: sub.customer,
    subscriptionId: sub.subscriptionId,
    plan: sub.plan,
    planVersion: sub.planVersion,
    currency: sub.currency,
    status: sub.status,
    cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
    periodStart: sub.periodStart.toISOString(),
    periodEnd: sub.periodEnd.toISOString(),
    entitlements: sub.status === 'canceled' ? [] : entitlementsOf(sub.definition),
    timeZone: sub.timeZone,
    ...(prorated.length > 0 ? { proratedMeters: prorated } : {}),
  };
}

/** Health scoring takes its billing input from `billing.account-status.v1`: a new subscriber starts with the customer's standing. */
export function accountStatusOnSubscribe(
  sub: Pick<Subscription, 'tenant' | 'customer'>,
  accountStatus: string,
  stamp: EventStamp,
): AccountStatusChanged {
  return {
    eventId: stamp.eventId,
    occurredAt: stamp.occurredAt.toISOString(),
    tenant: sub.tenant,
    customer: sub.customer,
    status: accountStatus as AccountStatusChanged['status'],
    overdueInvoices: 0,
  };
}
