import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { TOPICS, type UsageAggregate } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';
import { usageTraceOf } from '../domain/usage-trace';
import { ProgressiveBillingService } from '../invoices/progressive-billing.service';
import { UsageTracesRepository } from './usage-traces.repository';

/** Keeps billing's copy of period-to-date usage, which period close and invoice previews price. */
@Controller()
export class UsageAggregatesController {
  private readonly traces = new UsageTracesRepository();

  constructor(private readonly progressive: ProgressiveBillingService) {}

  /**
   * With each row, the trace context of the message that set it: the period's close (a timer, no message)
   * continues it, so the invoice can be followed back to the usage. Then progressive billing, in the same
   * transaction: a threshold reached is invoiced with the usage that reached it.
   */
  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const newest = newestPeriodAggregates(batch.messages);
    const aggregates = newest.map((m) => m.value);
    // With heldUnitDays: prorated charges are priced from it (catalog/prorated-charge.ts).
    await applyPeriodUsage(batch.manager, aggregates, { heldUnitDays: true });
    await this.traces.record(
      batch.manager,
      newest.flatMap((m) => {
        const trace = usageTraceOf(m.headers);
        // When the aggregate was produced (the broker's timestamp): which kept context is the newest.
        const at = new Date(Number(m.timestamp));
        const a = m.value;
        return trace ? [{ tenant: a.tenant, customer: a.customer, meter: a.meter, periodStart: a.windowStart, version: a.version, trace: { ...trace, at: (Number.isFinite(at.getTime()) ? at : new Date()).toISOString() } }] : [];
      }),
    );
    await this.progressive.onUsage(batch.manager, (event) => batch.emit(event), aggregates);
  }
}
