import { Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { customerKey, HEADERS, TOPICS } from '@tally/contracts';
import { physicalTopic, type EventProducer } from '@tally/kafka';
import { EVENT_PRODUCER, problem, ProjectedApiKeyGuard, readRawBody, SERVICE_CONFIG, Tenant, type ServiceConfig } from '@tally/nest-platform';
import { traceHeaders } from '@tally/telemetry';
import { healthSettings, type HealthSettings } from '../health-config';
import { npsResponsesFromBody, supportTicketsFromBody, type FeedbackLimits, type ParsedItems } from './feedback-request';

export const FEEDBACK_PATHS = ['/api/v1/nps-responses', '/api/v1/support-tickets'];

/**
 * For tools that cannot produce to Kafka: NPS answers and support-ticket changes over HTTP, with the
 * tenant's API key. 202 only once Kafka acknowledged them (acks=all), as usage events; the health
 * consumers then take them like any other message of `feedback.nps.v1` / `support.tickets.v1`.
 */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class FeedbackIngestionController {
  private readonly settings: HealthSettings;
  private readonly limits: FeedbackLimits;

  constructor(
    @Inject(EVENT_PRODUCER) private readonly producer: EventProducer,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {
    this.settings = healthSettings(config);
    this.limits = { maxItems: this.settings.HEALTH_INGEST_MAX_ITEMS, maxAgeMs: 730 * 86_400_000, maxFutureMs: 300_000 };
  }

  @Post('nps-responses')
  @HttpCode(202)
  async nps(@Req() req: Request, @Tenant() tenant: string): Promise<{ accepted: number }> {
    const body = await readRawBody(req, this.settings.HEALTH_INGEST_MAX_BYTES);
    return this.publish(TOPICS.feedbackNps, tenant, npsResponsesFromBody(tenant, req.headers['content-type'], body, this.limits, new Date()));
  }

  @Post('support-tickets')
  @HttpCode(202)
  async tickets(@Req() req: Request, @Tenant() tenant: string): Promise<{ accepted: number }> {
    const body = await readRawBody(req, this.settings.HEALTH_INGEST_MAX_BYTES);
    return this.publish(TOPICS.supportTickets, tenant, supportTicketsFromBody(tenant, req.headers['content-type'], body, this.limits, new Date()));
  }

  private async publish(topic: string, tenant: string, parsed: ParsedItems<{ tenant: string; customer: string }>): Promise<{ accepted: number }> {
    if (!parsed.ok) throw problem(parsed.status, parsed.detail, parsed.errors);
    const headers = { ...traceHeaders(), [HEADERS.tenant]: tenant };
    await this.producer.send(
      parsed.items.map((item) => ({ topic: physicalTopic(this.config.kafka, topic), key: customerKey(tenant, item.customer), value: JSON.stringify(item), headers })),
    );
    return { accepted: parsed.items.length };
  }
}
