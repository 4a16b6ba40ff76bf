import { Controller, Get, Header, Inject, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { JsonLogger } from '@tally/telemetry';
import { problem, ProjectedApiKeyGuard, SERVICE_CONFIG, Tenant, type ServiceConfig } from '@tally/nest-platform';
import { aggregationSettings } from '../aggregation-config';
import { parseUsageQuery, usageCsv, windowLimitProblem, type QueryLimits } from './query-params';
import { EventConflictsRepository, type EventConflict } from './event-conflicts.repository';
import { EventsExportRepository, type EventsPage } from './events-export.repository';
import { UsageQueryRepository, type UsageRow } from './usage-query.repository';

/**
 * OpenMeter-like usage queries, the event export customers reconcile invoices with, and the conflicting
 * duplicates a producer sent. Tenant-scoped; reads run on the API's read pool (statement_timeout) and
 * each tenant's reads are rate-limited by the guard.
 */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class UsageQueryController {
  private readonly limits: QueryLimits;

  constructor(
    private readonly usage: UsageQueryRepository,
    private readonly events: EventsExportRepository,
    private readonly conflicts: EventConflictsRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    const settings = aggregationSettings(config);
    this.limits = { maxWindows: settings.QUERY_MAX_WINDOWS ?? 10_080, maxRangeDays: settings.QUERY_MAX_RANGE_DAYS ?? 400 };
  }

  /**
   * OpenMeter's meter query. Without from/to it covers all (retained) time, each unwindowed row labelled with
   * its first and last event's minute windows; `Accept: text/csv` answers the same rows as CSV. Differences
   * from OpenMeter: apps/gateway/README.md ("OpenMeter SDK").
   */
  @Get('meters/:slug/query')
  async query(
    @Tenant() tenant: string,
    @Param('slug') slug: string,
    @Query() params: Record<string, string | string[]>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<{ meter: string; aggregation: string | null; from?: string; to?: string; windowSize: string | null; windowTimeZone: string; data: UsageRow[] } | string> {
    const parsed = parseUsageQuery(slug, params, this.limits);
    if (!parsed.ok) throw problem(400, 'invalid query', parsed.errors);
    const q = parsed.query;
    if (q.windowSize && !(q.from && q.to)) {
      // An open end: the limit is on the windows the matching events span, the ones this query can answer.
      const span = await this.usage.eventSpan(tenant, q);
      const problemWith = span && windowLimitProblem(q.from ?? span.first, q.to ?? new Date(span.last.getTime() + 1), q.windowSize, q.windowTimeZone, this.limits);
      if (problemWith) throw problem(400, 'invalid query', [problemWith]);
    }
    const result = await this.usage.query(tenant, q);
    if ((req.headers.accept ?? '').includes('text/csv')) {
      res.status(200).type('text/csv').setHeader('Content-Disposition', `attachment; filename="${slug.replace(/[^A-Za-z0-9_-]/g, '_')}.csv"`);
      return usageCsv(q, result.rows);
    }
    return {
      meter: slug,
      aggregation: result.aggregation,
      // As OpenMeter: only the bounds the request gave.
      ...(q.from ? { from: q.from.toISOString() } : {}),
      ...(q.to ? { to: q.to.toISOString() } : {}),
      windowSize: q.windowSize,
      windowTimeZone: q.windowTimeZone,
      data: result.rows,
    };
  }

  /** Duplicates of counted events that carried another payload (not counted): a producer bug to fix. */
  @Get('events/conflicts')
  @Header('Cache-Control', 'no-store')
  async listConflicts(@Tenant() tenant: string, @Query() params: Record<string, string | string[]>): Promise<{ data: EventConflict[]; nextCursor: string | null }> {
    const filter = this.conflicts.parseFilter(params);
    if (!filter.ok) throw problem(400, 'invalid filter', filter.errors);
    return this.conflicts.page(tenant, filter.filter);
  }

  /**
   * JSON pages by default; `Accept: text/csv` streams every matching event as CSV with backpressure: the
   * next chunk is read from the ledger only once the client has taken the previous one, and a client that
   * goes away ends the export.
   */
  @Get('events')
  @Header('Cache-Control', 'no-store')
  async list(
    @Tenant() tenant: string,
    @Query() params: Record<string, string | string[]>,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EventsPage | void> {
    const filter = this.events.parseFilter(params, new Date(), this.limits);
    if (!filter.ok) throw problem(400, 'invalid filter', filter.errors);
    if (!(req.headers.accept ?? '').includes('text/csv')) return this.events.page(tenant, filter.filter);
    const chunks = this.events.csv(tenant, filter.filter);
    // Read the first chunk before answering, so a timeout or a failure there is still a clean problem+json.
    const first = await chunks.next();
    res.status(200).type('text/csv').setHeader('Content-Disposition', `attachment; filename="usage-events.csv"`);
    try {
      for (let next = first; !next.done; next = await chunks.next()) {
        if (!res.write(next.value)) await drainedOrClosed(res);
        if (res.destroyed || res.writableEnded) break;
      }
      if (!res.destroyed) res.end();
    } catch (e) {
      // Headers are out: the status cannot change any more. Cutting the connection without the last chunk
      // tells the client the file is incomplete instead of handing it a short file that looks whole.
      this.logger.warn('CSV export failed midway; connection closed', { tenant, error: (e as Error).message });
      res.destroy();
    } finally {
      await chunks.return(undefined);
    }
  }
}

function drainedOrClosed(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
