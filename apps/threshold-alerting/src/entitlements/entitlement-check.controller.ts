import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { EntitlementProjection, type EntitlementCheck } from './entitlement-projection';

export type { EntitlementCheck } from './entitlement-projection';

/** Most pairs one batch check answers: a gateway's batch, bounded so one call cannot hold the event loop. */
export const MAX_BATCH_CHECKS = 1000;

export const batchCheckSchema = z.object({
  checks: z
    .array(z.object({ customer: z.string().min(1).max(200), meter: z.string().min(1).max(200) }).strict())
    .min(1)
    .max(MAX_BATCH_CHECKS),
});

export const notFoundDetail = (customer: string, meter: string): string => `customer "${customer}" has neither an entitlement nor usage for meter "${meter}"`;

export type BatchCheckResult = (EntitlementCheck & { found: true }) | { customer: string; meter: string; found: false };

/**
 * The entitlement check product services (and gateways, in batches) call before serving a request: answered
 * from memory (EntitlementProjection), no database or other service on the way. In the service these routes
 * are served by EntitlementCheckFastPath, mounted before Nest's router (same behaviour, a fraction of the
 * cost per request); this controller declares them (OpenAPI) and is the reference the fast path is tested
 * against.
 */
@Controller('api/v1/entitlements')
@UseGuards(ProjectedApiKeyGuard)
export class EntitlementCheckController {
  constructor(private readonly projection: EntitlementProjection) {}

  @Get(':customer/:meter')
  async check(@Tenant() tenant: string, @Param('customer') customer: string, @Param('meter') meter: string): Promise<EntitlementCheck> {
    await this.projection.ready();
    const found = this.projection.check(tenant, customer, meter);
    if (!found) throw problem(404, notFoundDetail(customer, meter));
    return found;
  }

  /** Many customer-meter pairs in one call; answers in the request's order, `found: false` where the single check says 404. */
  @Post('check')
  @HttpCode(200)
  async checkMany(@Tenant() tenant: string, @Body() body: unknown): Promise<{ results: BatchCheckResult[] }> {
    const { checks } = parseOrProblem(batchCheckSchema, body);
    await this.projection.ready();
    const now = Date.now();
    return {
      results: checks.map(({ customer, meter }) => {
        const found = this.projection.check(tenant, customer, meter, now);
        return found ? { ...found, found: true as const } : { customer, meter, found: false as const };
      }),
    };
  }
}
