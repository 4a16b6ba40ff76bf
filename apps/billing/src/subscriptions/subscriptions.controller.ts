import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import type { SubscriptionChanged } from '@tally/contracts';
import { parseOrProblem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { cancelSchema, changePlanSchema, createSubscriptionSchema, SubscriptionService } from './subscription.service';

@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionService) {}

  @Post('subscriptions')
  @HttpCode(201)
  async create(@Tenant() tenant: string, @Body() body: unknown): Promise<SubscriptionChanged> {
    return this.subscriptions.create(tenant, parseOrProblem(createSubscriptionSchema, body));
  }

  @Get('subscriptions/:id')
  async get(@Tenant() tenant: string, @Param('id') id: string) {
    return this.subscriptions.get(tenant, id);
  }

  @Get('customers/:id/subscriptions')
  async list(@Tenant() tenant: string, @Param('id') customer: string): Promise<{ data: SubscriptionChanged[] }> {
    return { data: await this.subscriptions.list(tenant, customer) };
  }

  /** Another plan, or another version of the same plan, from today; the base fee is prorated by day. */
  @Post('subscriptions/:id/change-plan')
  @HttpCode(200)
  async changePlan(@Tenant() tenant: string, @Param('id') id: string, @Body() body: unknown): Promise<SubscriptionChanged> {
    return this.subscriptions.changePlan(tenant, id, parseOrProblem(changePlanSchema, body));
  }

  /** To the plan's latest version. */
  @Post('subscriptions/:id/migrate')
  @HttpCode(200)
  async migrate(@Tenant() tenant: string, @Param('id') id: string): Promise<SubscriptionChanged> {
    return this.subscriptions.migrate(tenant, id);
  }

  @Post('subscriptions/:id/pause')
  @HttpCode(200)
  async pause(@Tenant() tenant: string, @Param('id') id: string): Promise<SubscriptionChanged> {
    return this.subscriptions.pause(tenant, id);
  }

  @Post('subscriptions/:id/resume')
  @HttpCode(200)
  async resume(@Tenant() tenant: string, @Param('id') id: string): Promise<SubscriptionChanged> {
    return this.subscriptions.resume(tenant, id);
  }

  /** `{"atPeriodEnd": true}` (default) or `false` to end it now. */
  @Post('subscriptions/:id/cancel')
  @HttpCode(200)
  async cancel(@Tenant() tenant: string, @Param('id') id: string, @Body() body: unknown): Promise<SubscriptionChanged> {
    return this.subscriptions.cancel(tenant, id, parseOrProblem(cancelSchema, body));
  }
}
