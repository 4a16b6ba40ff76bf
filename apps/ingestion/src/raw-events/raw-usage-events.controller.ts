import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerKey, HEADERS, TOPICS, type RawUsageEvent, type UsageEvent } from '@tally/contracts';
import type { ConsumedBatch } from '@tally/nest-platform';
import { MeterCatalogService } from '../meters/meter-catalog.service';
import { normalizeUsageEvent } from './normalize-usage-event';

/**
 * Product services that produce to `usage.events.raw.v1` directly land here. Canonical events are produced
 * straight to Kafka (no outbox), as the HTTP path does: this handler keeps no state but its offsets, and the
 * only consumer of `usage.events.v1`, aggregation, dedupes by (tenant, source, id), so an event sent again
 * after a crash is counted once.
 */
@Controller()
export class RawUsageEventsController {
  constructor(private readonly meters: MeterCatalogService) {}

  @EventPattern(TOPICS.usageEventsRaw, { delivery: 'direct' })
  async onRawEvents(@Payload() batch: ConsumedBatch<RawUsageEvent>): Promise<void> {
    const tenantOf = (m: (typeof batch.messages)[number]) => m.headers[HEADERS.tenant] || m.value.tenant;
    const tenants = [...new Set(batch.messages.map(tenantOf).filter((t): t is string => !!t))];
    const metersByTenant = await this.meters.metersFor(batch.manager, tenants);
    const now = new Date();
    for (const message of batch.messages) {
      const tenant = tenantOf(message);
      if (!tenant) {
        batch.deadLetter(message, `tenant: missing (set the ${HEADERS.tenant} header or the "tenant" attribute)`);
        continue;
      }
      const result = normalizeUsageEvent(message.value, tenant, metersByTenant.get(tenant) ?? [], {
        now,
        fallbackTime: new Date(Number(message.timestamp)),
      });
      if (!result.ok) {
        batch.deadLetter(message, result.errors.join('; '));
        continue;
      }
      const event: UsageEvent = result.event;
      batch.emit({ topic: TOPICS.usageEvents, key: customerKey(tenant, event.subject), value: event, causedBy: message });
    }
  }
}
