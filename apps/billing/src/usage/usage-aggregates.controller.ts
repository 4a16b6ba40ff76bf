import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type UsageAggregate } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';

/** Keeps billing's copy of period-to-date usage, which period close and invoice previews price. */
@Controller()
export class UsageAggregatesController {
  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    await applyPeriodUsage(batch.manager, newestPeriodAggregates(batch.messages).map((m) => m.value));
  }
}
