import { Body, Controller, Get, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { CatalogRepository, type Customer, type PlanVersion } from './catalog.repository';
import { customerDefinitionSchema } from './customer-definition';
import { planDefinitionSchema } from './plan-definition';

/** Customers and plans. Tenant-scoped like every API. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class CatalogController {
  constructor(private readonly catalog: CatalogRepository) {}

  /** Creates or updates a customer (idempotent by `id`): 201 when new, 200 when updated. */
  @Post('customers')
  async upsertCustomer(@Tenant() tenant: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<Customer> {
    const { customer, created } = await this.catalog.upsertCustomer(tenant, parseOrProblem(customerDefinitionSchema, body));
    res.status(created ? 201 : 200);
    return customer;
  }

  @Get('customers')
  async customers(@Tenant() tenant: string): Promise<{ data: Customer[] }> {
    return { data: await this.catalog.customers(tenant) };
  }

  @Get('customers/:id')
  async customer(@Tenant() tenant: string, @Param('id') id: string): Promise<Customer> {
    const customer = await this.catalog.customer(tenant, id);
    if (!customer) throw problem(404, `no customer "${id}"`);
    return customer;
  }

  /** A new plan, or a new version of an existing one (subscriptions keep their version until migrated). */
  @Post('plans')
  async addPlan(@Tenant() tenant: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<PlanVersion & { code: string }> {
    const { version, created } = await this.catalog.addPlanVersion(tenant, parseOrProblem(planDefinitionSchema, body));
    res.status(created ? 201 : 200);
    return { code: version.plan.code, ...version };
  }

  @Get('plans')
  async plans(@Tenant() tenant: string): Promise<{ data: Array<PlanVersion & { code: string }> }> {
    return { data: await this.catalog.plans(tenant) };
  }

  @Get('plans/:code')
  async plan(@Tenant() tenant: string, @Param('code') code: string): Promise<{ code: string; versions: PlanVersion[] }> {
    const versions = await this.catalog.planVersions(tenant, code);
    if (versions.length === 0) throw problem(404, `no plan "${code}"`);
    return { code, versions };
  }
}
