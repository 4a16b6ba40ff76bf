import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerKey, subscriptionKey, TOPICS, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';
import type { BatchContext, ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { crossedThresholds, type CrossedThreshold } from '../domain/threshold-evaluator';
import { customerMeterId, ThresholdStateRepository, type CustomerMeter, type EvaluationRow } from './threshold-state.repository';

@Controller()
export class ThresholdAlertingController {
  constructor(private readonly state: ThresholdStateRepository) {}

  @EventPattern(TOPICS.billingSubscriptions)
  async onSubscriptions(@Payload() batch: ConsumedBatch<SubscriptionChanged>): Promise<void> {
    // Compacted topic, keyed by subscription: the last message per subscription in the batch is the current one.
    const latest = new Map<string, ConsumedMessage<SubscriptionChanged>>();
    for (const m of batch.messages) latest.set(subscriptionKey(m.value.tenant, m.value.customer, m.value.subscriptionId), m);
    // The meters being entitled now are the ones evaluated below; a meter the subscription drops is not.
    await this.state.lockCustomerMeters(batch.manager, [...latest.values()].flatMap((m) => m.value.entitlements.map((e) => ({ ...m.value, meter: e.meter }))));
    const keys = await this.state.replaceEntitlements(batch.manager, [...latest.values()].map((m) => m.value));
    const causeOf = new Map([...latest.values()].flatMap((m) => m.value.entitlements.map((e) => [customerMeterId({ ...m.value, meter: e.meter }), m] as const)));
    const causes = new Map(keys.map((k) => [customerMeterId(k), causeOf.get(customerMeterId(k))]));
    await this.evaluate(batch, keys, causes);
  }

  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const messages = newestPeriodAggregates(batch.messages);
    await this.state.lockCustomerMeters(batch.manager, messages.map((m) => m.value));
    await applyPeriodUsage(batch.manager, messages.map((m) => m.value));
    const keys: CustomerMeter[] = messages.map((m) => ({ tenant: m.value.tenant, customer: m.value.customer, meter: m.value.meter }));
    await this.evaluate(batch, keys, new Map(messages.map((m) => [customerMeterId(m.value), m])));
  }

  private async evaluate(batch: BatchContext, keys: CustomerMeter[], causes: Map<string, ConsumedMessage | undefined>): Promise<void> {
    const rows = await this.state.loadForEvaluation(batch.manager, keys);
    const candidates: Array<{ row: EvaluationRow; crossed: CrossedThreshold }> = [];
    for (const row of rows) {
      const crossed = crossedThresholds(row.usage, { included: row.included, thresholds: row.thresholds, hardLimit: row.hard_limit }, new Set(row.fired));
      for (const c of crossed) candidates.push({ row, crossed: c });
    }
    const firedNow = await this.state.markFired(batch.manager, candidates);
    const now = new Date().toISOString();
    for (const { row, crossed } of candidates) {
      if (!firedNow.has(`${customerMeterId(row)}\u0000${crossed.percent}`)) continue;
      const periodStart = row.period_start.toISOString();
      const alert: UsageThresholdAlert = {
        eventId: `${row.tenant}:${row.customer}:${row.meter}:${periodStart}:${crossed.percent}`,
        occurredAt: now,
        tenant: row.tenant,
        customer: row.customer,
        meter: row.meter,
        periodStart,
        periodEnd: row.period_end.toISOString(),
        kind: crossed.kind,
        thresholdPercent: crossed.percent,
        usage: row.usage,
        included: row.included,
      };
      batch.emit({ topic: TOPICS.alertsUsageThreshold, key: customerKey(row.tenant, row.customer), value: alert, causedBy: causes.get(customerMeterId(row)) });
    }
  }
}
