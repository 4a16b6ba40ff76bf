import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { customerKey, HEADERS, TOPICS } from '@tally/contracts';
import { physicalTopic, type EventProducer } from '@tally/kafka';
import { EVENT_PRODUCER, problem, readRawBody, SERVICE_CONFIG, TokenBuckets, type ServiceConfig } from '@tally/nest-platform';
import { traceHeaders } from '@tally/telemetry';
import { DataSource } from 'typeorm';
import { ApiKeyGuard, Tenant } from '../auth/guards';
import { ingestionSettings, type IngestionSettings } from '../ingestion-config';
import { MeterCatalogService } from '../meters/meter-catalog.service';
import { eventsAccepted, eventsRejected, parseRejectReason } from '../ingestion-metrics';
import { parseEventsBody, validateEvents, type RequestLimits } from './event-request';

/**
 * `POST /api/v1/events`: OpenMeter-compatible CloudEvents ingestion. Answers 202 only after Kafka
 * acknowledged every event of the request (acks=all, idempotent producer); a batch is all-or-nothing.
 */
@Controller('api/v1/events')
@UseGuards(ApiKeyGuard)
export class EventsController {
  private readonly settings: IngestionSettings;
  private readonly limits: RequestLimits;
  private readonly rateLimit: TokenBuckets;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(EVENT_PRODUCER) private readonly producer: EventProducer,
    private readonly meters: MeterCatalogService,
    private readonly dataSource: DataSource,
  ) {
    this.settings = ingestionSettings(config);
    this.limits = {
      maxEventBytes: this.settings.INGEST_MAX_EVENT_BYTES,
      maxBatchEvents: this.settings.INGEST_MAX_BATCH_EVENTS,
      maxLatenessMs: this.settings.INGEST_MAX_LATENESS_HOURS * 3_600_000,
      maxFutureMs: this.settings.INGEST_MAX_FUTURE_SECONDS * 1000,
    };
    this.rateLimit = new TokenBuckets(this.settings.INGEST_RATE_LIMIT_PER_SECOND, this.settings.INGEST_RATE_LIMIT_BURST);
  }

  @Post()
  @HttpCode(202)
  async ingest(@Req() req: Request, @Tenant() tenant: string): Promise<{ accepted: number }> {
    const body = await readRawBody(req, this.settings.INGEST_MAX_BATCH_BYTES).catch((e: unknown) => {
      eventsRejected.inc({ transport: 'http', reason: 'too_large' });
      throw e;
    });
    const parsed = parseEventsBody(req.headers['content-type'], body, this.limits, req.headers);
    if (!parsed.ok) {
      eventsRejected.inc({ transport: 'http', reason: parseRejectReason(parsed.status) });
      throw problem(parsed.status, parsed.detail, parsed.errors);
    }
    const allowed = this.rateLimit.take(tenant, parsed.items.length);
    if (!allowed.ok) {
      eventsRejected.inc({ transport: 'http', reason: 'rate_limited' }, parsed.items.length);
      throw problem(429, `rate limit of ${this.settings.INGEST_RATE_LIMIT_PER_SECOND} events/s for this tenant exceeded`, undefined, {
        'Retry-After': String(allowed.retryAfterSeconds),
      });
    }
    const meters = (await this.meters.metersFor(this.dataSource.manager, [tenant])).get(tenant) ?? [];
    const result = validateEvents(parsed.items, parsed.batch, tenant, meters, new Date(), this.limits);
    if (!result.ok) {
      // A batch is all-or-nothing: every event of it is refused.
      eventsRejected.inc({ transport: 'http', reason: 'invalid' }, parsed.items.length);
      throw problem(400, `${result.errors.length} invalid field(s)`, result.errors);
    }
    const headers = { ...traceHeaders(), [HEADERS.tenant]: tenant };
    await this.producer.send(
      result.events.map((event) => ({
        topic: physicalTopic(this.config.kafka, TOPICS.usageEvents),
        key: customerKey(tenant, event.subject),
        value: JSON.stringify(event),
        headers,
      })),
    );
    eventsAccepted.inc({ transport: 'http' }, result.events.length);
    return { accepted: result.events.length };
  }
}
