import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerKey, HEADERS, TOPICS, type RawUsageEvent, type UsageEvent } from '@tally/contracts';
import { SERVICE_CONFIG, type ConsumedBatch, type ServiceConfig } from '@tally/nest-platform';
import { ingestionSettings, type IngestionSettings } from '../ingestion-config';
import { eventsAccepted, eventsRejected } from '../ingestion-metrics';
import { MeterCatalogService } from '../meters/meter-catalog.service';
import { knownTenants } from './known-tenants';
import { normalizeUsageEvent } from './normalize-usage-event';
import { rawEventTenant } from './raw-event-tenant';

/**
 * Product services that produce to `usage.events.raw.v1` directly land here, in either CloudEvents binding
 * mode (the topic's decoder, `decodeRawUsageEventMessage`, has already applied the input limits and the
 * schema). The checks HTTP makes with its settings are made here with the same settings: event size,
 * lateness and future, plus the tenant, which must exist (HTTP has it from the API key). Canonical events
 * are produced straight to Kafka (no outbox), as the HTTP path does: this handler keeps no state but its
 * offsets, and the only consumer of `usage.events.v1`, aggregation, dedupes by (tenant, source, id), so an
 * event sent again after a crash is counted once.
 */
@Controller()
export class RawUsageEventsController {
  private readonly settings: IngestionSettings;

  constructor(
    private readonly meters: MeterCatalogService,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = ingestionSettings(config);
  }

  @EventPattern(TOPICS.usageEventsRaw, { delivery: 'direct' })
  async onRawEvents(@Payload() batch: ConsumedBatch<RawUsageEvent>): Promise<void> {
    const tenantOf = (m: (typeof batch.messages)[number]) => rawEventTenant(m.headers[HEADERS.tenant], m.value.tenant);
    const named = [...new Set(batch.messages.map(tenantOf).flatMap((t) => (t.ok ? [t.tenant] : [])))];
    const existing = await knownTenants(batch.manager, named);
    const metersByTenant = await this.meters.metersFor(batch.manager, [...existing]);
    const now = new Date();
    for (const message of batch.messages) {
      const tenant = tenantOf(message);
      if (!tenant.ok) {
        eventsRejected.inc({ transport: 'kafka', reason: 'no_tenant' });
        batch.deadLetter(message, tenant.reason);
        continue;
      }
      if (!existing.has(tenant.tenant)) {
        eventsRejected.inc({ transport: 'kafka', reason: 'unknown_tenant' });
        batch.deadLetter(message, `tenant: unknown tenant "${tenant.tenant.slice(0, 100)}" (not in ingestion's tenants)`);
        continue;
      }
      // Measured as HTTP measures it: the event as JSON.
      const size = Buffer.byteLength(JSON.stringify(message.value));
      if (size > this.settings.INGEST_MAX_EVENT_BYTES) {
        eventsRejected.inc({ transport: 'kafka', reason: 'too_large' });
        batch.deadLetter(message, `(event): is ${size} bytes; at most ${this.settings.INGEST_MAX_EVENT_BYTES} (INGEST_MAX_EVENT_BYTES) are accepted`);
        continue;
      }
      const result = normalizeUsageEvent(message.value, tenant.tenant, metersByTenant.get(tenant.tenant) ?? [], {
        now,
        fallbackTime: new Date(Number(message.timestamp)),
        maxFutureMs: this.settings.INGEST_MAX_FUTURE_SECONDS * 1000,
        maxLatenessMs: this.settings.INGEST_MAX_LATENESS_HOURS * 3_600_000,
      });
      if (!result.ok) {
        eventsRejected.inc({ transport: 'kafka', reason: 'invalid' });
        batch.deadLetter(message, result.errors.join('; '));
        continue;
      }
      const event: UsageEvent = result.event;
      batch.emit({ topic: TOPICS.usageEvents, key: customerKey(tenant.tenant, event.subject), value: event, causedBy: message });
      eventsAccepted.inc({ transport: 'kafka' });
    }
  }
}
