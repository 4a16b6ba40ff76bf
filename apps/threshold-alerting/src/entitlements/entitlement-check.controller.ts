import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Decimal } from 'decimal.js';
import { problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';

export interface EntitlementCheck {
  customer: string;
  meter: string;
  /** False only when a hard limit is reached: the product should refuse further use. */
  allowed: boolean;
  usage: string;
  included: string;
  remaining: string;
  hardLimit: boolean;
  periodStart: string;
  periodEnd: string;
}

/**
 * The entitlement check product services call before serving a request: one primary-key lookup of this
 * service's projections, no call to any other service.
 */
@Controller('api/v1/entitlements')
@UseGuards(ProjectedApiKeyGuard)
export class EntitlementCheckController {
  constructor(private readonly dataSource: DataSource) {}

  @Get(':customer/:meter')
  async check(@Tenant() tenant: string, @Param('customer') customer: string, @Param('meter') meter: string): Promise<EntitlementCheck> {
    const s = schemaOf(this.dataSource);
    const [row] = await this.dataSource.query(
      `SELECT e.included::text AS included, e.hard_limit, e.period_start, e.period_end, COALESCE(u.value, 0)::text AS usage
       FROM ${s}.entitlements e
       LEFT JOIN ${s}.period_usage u ON u.tenant = e.tenant AND u.customer = e.customer AND u.meter = e.meter AND u.period_start = e.period_start
       WHERE e.tenant = $1 AND e.customer = $2 AND e.meter = $3`,
      [tenant, customer, meter],
    );
    if (!row) throw problem(404, `customer "${customer}" has no entitlement for meter "${meter}"`);
    const usage = new Decimal(row.usage);
    const included = new Decimal(row.included);
    return {
      customer,
      meter,
      allowed: !(row.hard_limit && usage.gte(included)),
      usage: usage.toFixed(),
      included: included.toFixed(),
      remaining: Decimal.max(0, included.minus(usage)).toFixed(),
      hardLimit: row.hard_limit,
      periodStart: row.period_start.toISOString(),
      periodEnd: row.period_end.toISOString(),
    };
  }
}
