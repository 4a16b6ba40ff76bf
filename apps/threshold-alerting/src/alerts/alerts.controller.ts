import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { ALERT_KINDS, type AlertKind, type UsageThresholdAlert } from '@tally/contracts';
import { feedFilter, feedPage, FeedQueryError, parseFeedPage, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { alertCursor, AlertLogRepository } from './alert-log.repository';

/** Threshold alerts as published, newest first; every query is bound to the API key's tenant. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class AlertsController {
  constructor(private readonly log: AlertLogRepository) {}

  /** `customer`, `meter`, `kind` filter; `since` (RFC 3339) bounds; `limit` 1-500 (default 50) per page after `cursor`. */
  @Get('alerts')
  async list(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<{ items: UsageThresholdAlert[]; nextCursor: string | null }> {
    try {
      const unknown = Object.keys(query).find((k) => !PARAMS.has(k));
      if (unknown !== undefined) throw new FeedQueryError(`/${unknown.slice(0, 50)}`, 'is not a parameter of this route');
      const kind = feedFilter('kind', query.kind);
      if (kind !== null && !(ALERT_KINDS as readonly string[]).includes(kind)) throw new FeedQueryError('/kind', `must be one of ${ALERT_KINDS.join(', ')}`);
      const page = parseFeedPage(query);
      const rows = await this.log.list(tenant, { customer: feedFilter('customer', query.customer), meter: feedFilter('meter', query.meter), kind: kind as AlertKind | null }, page);
      const { page: shown, nextCursor } = feedPage(rows, page.limit, alertCursor);
      return { items: shown.map((r) => r.payload), nextCursor };
    } catch (e) {
      if (e instanceof FeedQueryError) throw problem(400, 'invalid query', [{ pointer: e.pointer, detail: e.detail }]);
      throw e;
    }
  }
}

const PARAMS = new Set(['customer', 'meter', 'kind', 'since', 'limit', 'cursor']);
