import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { EntitlementProjection } from '../entitlements/entitlement-projection';
import { openMeterEntitlementValue, type OpenMeterEntitlementValue } from './openmeter-entitlement-value';

/**
 * OpenMeter's entitlement value route, so `@openmeter/sdk`'s `entitlementsV1.value(subject, feature)` works
 * against the front door: the subject is the customer, the feature key the meter's slug (Tally entitles per
 * meter, from the plan's included units). Answered from the same in-memory projection as Tally's own check.
 */
@Controller('api/v1/subjects')
@UseGuards(ProjectedApiKeyGuard)
export class OpenMeterEntitlementsController {
  constructor(private readonly projection: EntitlementProjection) {}

  @Get(':subject/entitlements/:feature/value')
  async value(@Tenant() tenant: string, @Param('subject') subject: string, @Param('feature') feature: string, @Query() query: Record<string, unknown>): Promise<OpenMeterEntitlementValue> {
    const unknown = Object.keys(query).filter((k) => k !== 'time');
    if (unknown.length > 0) throw problem(400, `unknown query parameter ${unknown.map((k) => `"${k}"`).join(', ')}`);
    // The projection knows the running period as of now; OpenMeter's `time` (a value in the past) cannot be answered.
    if (query.time !== undefined) throw problem(400, 'the value at another time than now is not supported: leave out "time"', [{ pointer: '/time', detail: 'is not supported' }]);
    await this.projection.ready();
    const found = this.projection.check(tenant, subject, feature);
    if (!found) throw problem(404, `subject "${subject}" has neither an entitlement nor usage for feature "${feature}"`);
    return openMeterEntitlementValue(found);
  }
}
