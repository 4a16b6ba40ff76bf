import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type UsageAggregate } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';
import { ProgressiveBillingService } from '../invoices/progressive-billing.service';

/** Keeps billing's copy of period-to-date usage, which period close and invoice previews price. */
@Controller()
export class UsageAggregatesController {
  constructor(private readonly progressive: ProgressiveBillingService) {}

  /** Then progressive billing, in the same transaction: a threshold reached is invoiced with the usage that reached it. */
  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const aggregates = newestPeriodAggregates(batch.messages).map((m) => m.value);
    await applyPeriodUsage(batch.manager, aggregates);
    await this.progressive.onUsage(batch.manager, (event) => batch.emit(event), aggregates);
  }
}
