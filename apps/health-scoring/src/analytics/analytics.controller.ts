import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { problem, ProjectedApiKeyGuard, Tenant, type FieldError } from '@tally/nest-platform';
import { addMonths, monthOf, type Month } from '../domain/saas-metrics';
import { AnalyticsService } from './analytics.service';

const MONTH = /^\d{4}-(0[1-9]|1[0-2])$/;

/** Customer-success analytics per tenant and month (UTC); the formulas are in domain/saas-metrics.ts. */
@Controller('api/v1/analytics')
@UseGuards(ProjectedApiKeyGuard)
export class AnalyticsController {
  constructor(private readonly analytics: AnalyticsService) {}

  /** `?month=YYYY-MM` (default: last month), `&currency=EUR`, `&upgradeWindowDays=30` (1-365). */
  @Get()
  async monthly(@Tenant() tenant: string, @Query('month') month?: string, @Query('currency') currency?: string, @Query('upgradeWindowDays') window?: string) {
    const errors: FieldError[] = [];
    if (month !== undefined && !MONTH.test(month)) errors.push({ pointer: '/month', detail: 'must be a month like 2026-05' });
    if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) errors.push({ pointer: '/currency', detail: 'must be an ISO 4217 code like EUR' });
    const days = window === undefined ? 30 : Number(window);
    if (!Number.isInteger(days) || days < 1 || days > 365) errors.push({ pointer: '/upgradeWindowDays', detail: 'must be a whole number of days from 1 to 365' });
    if (errors.length > 0) throw problem(400, 'invalid query', errors);
    return this.analytics.monthly(tenant, (month ?? addMonths(monthOf(new Date()), -1)) as Month, currency, days);
  }

  /** `?through=YYYY-MM` (default: this month): the retention matrix of every signup-month cohort. */
  @Get('cohorts')
  async cohorts(@Tenant() tenant: string, @Query('through') through?: string, @Query('currency') currency?: string) {
    if (through !== undefined && !MONTH.test(through)) throw problem(400, 'invalid query', [{ pointer: '/through', detail: 'must be a month like 2026-05' }]);
    if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw problem(400, 'invalid query', [{ pointer: '/currency', detail: 'must be an ISO 4217 code like EUR' }]);
    return { cohorts: await this.analytics.cohorts(tenant, through ?? monthOf(new Date()), currency) };
  }
}
