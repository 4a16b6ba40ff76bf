import { Body, Controller, Get, Param, Post, Res, UseGuards } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { couponDefinitionSchema, type AppliedCoupon, type CouponDefinition } from '../domain/coupons';
import { CouponsRepository } from './coupons.repository';

const applySchema = z.object({ coupon: z.string().min(1).max(100), subscriptionId: z.string().min(1).max(200).optional() }).strict();

/** Coupon definitions, and coupons applied to a customer (all its subscriptions) or to one of its subscriptions. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class CouponsController {
  constructor(private readonly coupons: CouponsRepository) {}

  @Post('coupons')
  async define(@Tenant() tenant: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<CouponDefinition> {
    const { coupon, created } = await this.coupons.define(tenant, parseOrProblem(couponDefinitionSchema, body));
    res.status(created ? 201 : 200);
    return coupon;
  }

  @Get('coupons')
  async list(@Tenant() tenant: string): Promise<{ data: CouponDefinition[] }> {
    return { data: await this.coupons.coupons(tenant) };
  }

  @Get('coupons/:code')
  async get(@Tenant() tenant: string, @Param('code') code: string): Promise<CouponDefinition> {
    const coupon = await this.coupons.coupon(tenant, code);
    if (!coupon) throw problem(404, `no coupon "${code}"`);
    return coupon;
  }

  /** `{coupon, subscriptionId?}`: used by the customer's next invoices (of that subscription only, when given). */
  @Post('customers/:id/coupons')
  async apply(@Tenant() tenant: string, @Param('id') customer: string, @Body() body: unknown, @Res({ passthrough: true }) res: Response): Promise<AppliedCoupon> {
    const request = parseOrProblem(applySchema, body);
    const applied = await this.coupons.apply(tenant, customer, request.coupon, request.subscriptionId ?? null);
    res.status(201);
    return applied;
  }

  @Get('customers/:id/coupons')
  async applied(@Tenant() tenant: string, @Param('id') customer: string): Promise<{ data: AppliedCoupon[] }> {
    return { data: await this.coupons.applied(tenant, customer) };
  }
}
