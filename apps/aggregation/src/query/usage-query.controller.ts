import { Controller, Get, Header, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { parseUsageQuery } from './query-params';
import { EventsExportRepository, type EventsPage } from './events-export.repository';
import { UsageQueryRepository, type UsageRow } from './usage-query.repository';

/** OpenMeter-like usage queries and the event export customers reconcile invoices with. Tenant-scoped. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class UsageQueryController {
  constructor(
    private readonly usage: UsageQueryRepository,
    private readonly events: EventsExportRepository,
  ) {}

  @Get('meters/:slug/query')
  async query(
    @Tenant() tenant: string,
    @Param('slug') slug: string,
    @Query() params: Record<string, string | string[]>,
  ): Promise<{ meter: string; aggregation: string | null; from: string; to: string; windowSize: string | null; windowTimeZone: string; data: UsageRow[] }> {
    const parsed = parseUsageQuery(slug, params);
    if (!parsed.ok) throw problem(400, 'invalid query', parsed.errors);
    const q = parsed.query;
    const result = await this.usage.query(tenant, q);
    return {
      meter: slug,
      aggregation: result.aggregation,
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      windowSize: q.windowSize,
      windowTimeZone: q.windowTimeZone,
      data: result.rows,
    };
  }

  /** JSON pages by default; `Accept: text/csv` streams every matching event as CSV. */
  @Get('events')
  @Header('Cache-Control', 'no-store')
  async list(@Tenant() tenant: string, @Query() params: Record<string, string>, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<EventsPage | void> {
    const filter = this.events.parseFilter(params);
    if (!filter.ok) throw problem(400, 'invalid filter', filter.errors);
    if (!(req.headers.accept ?? '').includes('text/csv')) return this.events.page(tenant, filter.filter);
    res.status(200).type('text/csv').setHeader('Content-Disposition', `attachment; filename="usage-events.csv"`);
    for await (const chunk of this.events.csv(tenant, filter.filter)) res.write(chunk);
    res.end();
  }
}
