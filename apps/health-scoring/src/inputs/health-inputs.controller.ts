import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import {
  customerKey,
  TOPICS,
  type AccountStatusChanged,
  type InvoiceChanged,
  type MeterDefinition,
  type NpsFeedback,
  type SubscriptionChanged,
  type SupportTicket,
  type UsageAggregate,
  type UsageThresholdAlert,
} from '@tally/contracts';
import type { ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { RescoringService } from '../scoring/rescoring.service';
import { HealthFactsRepository, uniqueCustomers, type Customer } from './health-facts.repository';

/**
 * One thin handler per input topic: the transport has validated each message against its contract (a bad
 * one is dead-lettered with the reason); the handler stores the facts and hands the customers to the
 * rescoring, all in the batch's transaction together with the offsets and the outbox.
 */
@Controller()
export class HealthInputsController {
  constructor(
    private readonly facts: HealthFactsRepository,
    private readonly rescoring: RescoringService,
  ) {}

  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const days = batch.messages.filter((m) => m.value.windowKind === 'DAY');
    await this.facts.applyDayUsage(batch.manager, days.map((m) => m.value));
    await this.rescore(batch, days);
  }

  @EventPattern(TOPICS.catalogMeters)
  async onMeters(@Payload() batch: ConsumedBatch<MeterDefinition>): Promise<void> {
    // A meter's kind only changes how usage is compared; the daily rescoring applies it.
    await this.facts.applyMeters(batch.manager, batch.messages.map((m) => m.value));
  }

  @EventPattern(TOPICS.billingSubscriptions)
  async onSubscriptions(@Payload() batch: ConsumedBatch<SubscriptionChanged>): Promise<void> {
    await this.facts.applySubscriptions(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
  }

  @EventPattern(TOPICS.billingInvoices)
  async onInvoices(@Payload() batch: ConsumedBatch<InvoiceChanged>): Promise<void> {
    await this.facts.applyInvoices(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
  }

  @EventPattern(TOPICS.billingAccountStatus)
  async onAccountStatus(@Payload() batch: ConsumedBatch<AccountStatusChanged>): Promise<void> {
    await this.facts.applyAccountStatus(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
  }

  @EventPattern(TOPICS.supportTickets)
  async onTickets(@Payload() batch: ConsumedBatch<SupportTicket>): Promise<void> {
    await this.facts.applyTickets(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
  }

  @EventPattern(TOPICS.feedbackNps)
  async onNps(@Payload() batch: ConsumedBatch<NpsFeedback>): Promise<void> {
    await this.facts.applyNps(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
  }

  @EventPattern(TOPICS.alertsUsageThreshold)
  async onThresholdAlerts(@Payload() batch: ConsumedBatch<UsageThresholdAlert>): Promise<void> {
    await this.facts.applyThresholdAlerts(batch.manager, batch.messages.map((m) => m.value));
    await this.rescore(batch, batch.messages);
    // After the rescoring, so a signal carries the score this batch may just have computed.
    const causeOf = new Map(batch.messages.map((m) => [customerKey(m.value.tenant, m.value.customer), m as ConsumedMessage]));
    await this.rescoring.upgradeRecommended(batch.manager, batch.messages.map((m) => m.value), (e) => batch.emit({ ...e, causedBy: causeOf.get(e.key) }));
  }

  private async rescore(batch: ConsumedBatch<unknown>, messages: Array<ConsumedMessage<Customer>>): Promise<void> {
    // The trace of each derived event continues from the customer's last message in the batch.
    const causeOf = new Map(messages.map((m) => [customerKey(m.value.tenant, m.value.customer), m as ConsumedMessage]));
    await this.rescoring.inputsChanged(
      batch.manager,
      uniqueCustomers(messages.map((m) => m.value)),
      (e) => batch.emit({ ...e, causedBy: causeOf.get(e.key) }),
      (c) => causeOf.get(customerKey(c.tenant, c.customer))?.headers,
    );
  }
}
