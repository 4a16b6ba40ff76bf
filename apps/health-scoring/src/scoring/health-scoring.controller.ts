import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  customerKey,
  TOPICS,
  type AccountStatusChanged,
  type ChurnRiskChanged,
  type CustomerHealth,
  type UsageAggregate,
  type UsageThresholdAlert,
} from '@tally/contracts';
import type { BatchContext, ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { newestPeriodAggregates } from '@tally/period-usage';
import { bandChangeReasons, scoreHealth } from '../domain/health-scorer';
import { HealthInputsRepository, type Customer } from './health-inputs.repository';

type CustomerEvent = ConsumedMessage<{ tenant: string; customer: string; eventId: string }>;

/** Folds usage, alerts and billing status into each customer's inputs, rescores, and publishes changes. */
@Controller()
export class HealthScoringController {
  constructor(private readonly inputs: HealthInputsRepository) {}

  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const messages = newestPeriodAggregates(batch.messages).filter((m) => Number(m.value.value) > 0);
    await this.inputs.markActive(batch.manager, uniqueCustomers(messages));
    await this.rescore(batch, messages);
  }

  @EventPattern(TOPICS.alertsUsageThreshold)
  async onAlerts(@Payload() batch: ConsumedBatch<UsageThresholdAlert>): Promise<void> {
    const highest = new Map<string, ConsumedMessage<UsageThresholdAlert>>();
    for (const m of batch.messages) {
      const key = customerKey(m.value.tenant, m.value.customer);
      if ((highest.get(key)?.value.thresholdPercent ?? -1) < m.value.thresholdPercent) highest.set(key, m);
    }
    const list = [...highest.values()];
    await this.inputs.raiseUsagePercent(batch.manager, list.map((m) => m.value), list.map((m) => m.value.thresholdPercent));
    await this.rescore(batch, list);
  }

  @EventPattern(TOPICS.billingAccountStatus)
  async onAccountStatus(@Payload() batch: ConsumedBatch<AccountStatusChanged>): Promise<void> {
    const latest = new Map<string, ConsumedMessage<AccountStatusChanged>>();
    for (const m of batch.messages) latest.set(customerKey(m.value.tenant, m.value.customer), m);
    const list = [...latest.values()];
    await this.inputs.setAccountStatus(batch.manager, list.map((m) => m.value), list.map((m) => m.value.status));
    await this.rescore(batch, list);
  }

  private async rescore(batch: BatchContext, causes: CustomerEvent[]): Promise<void> {
    const causeOf = new Map(causes.map((m) => [customerKey(m.value.tenant, m.value.customer), m]));
    const stored = await this.inputs.load(batch.manager, uniqueCustomers(causes));
    const changed = stored
      .map((c) => ({ ...c, score: scoreHealth(c.inputs) }))
      .filter((c) => c.previous === null || c.previous.score !== c.score.score);
    await this.inputs.saveScores(batch.manager, changed);
    const now = new Date().toISOString();
    for (const c of changed) {
      const key = customerKey(c.tenant, c.customer);
      const cause = causeOf.get(key);
      const health: CustomerHealth = {
        eventId: `${key}:health:${cause?.value.eventId ?? now}`,
        occurredAt: now,
        tenant: c.tenant,
        customer: c.customer,
        causationId: cause?.value.eventId,
        score: c.score.score,
        band: c.score.band,
        inputs: c.score.components,
      };
      batch.emit({ topic: TOPICS.customersHealth, key, value: health, causedBy: cause });
      if (c.previous?.band === c.score.band) continue;
      const risk: ChurnRiskChanged = {
        eventId: `${key}:churn-risk:${cause?.value.eventId ?? now}`,
        occurredAt: now,
        tenant: c.tenant,
        customer: c.customer,
        causationId: cause?.value.eventId,
        previousBand: c.previous?.band ?? null,
        band: c.score.band,
        score: c.score.score,
        reasons: bandChangeReasons(c.previous, c.score),
      };
      batch.emit({ topic: TOPICS.customersChurnRisk, key, value: risk, causedBy: cause });
    }
  }
}

function uniqueCustomers(messages: Array<{ value: Customer }>): Customer[] {
  const seen = new Map<string, Customer>();
  for (const m of messages) seen.set(customerKey(m.value.tenant, m.value.customer), { tenant: m.value.tenant, customer: m.value.customer });
  return [...seen.values()];
}
