import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type PlanChanged } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { ForecastRepository } from './forecast.repository';

/** Keeps the tenants' plans (`billing.plans.v1`, latest version each) for the upgrade recommendation. */
@Controller()
export class PlansController {
  constructor(private readonly forecast: ForecastRepository) {}

  @EventPattern(TOPICS.billingPlans)
  async onPlans(@Payload() batch: ConsumedBatch<PlanChanged>): Promise<void> {
    // A plan change alone fires nothing: the next aggregate of a customer is priced with it.
    await this.forecast.applyPlans(batch.manager, batch.messages.map((m) => m.value));
  }
}
