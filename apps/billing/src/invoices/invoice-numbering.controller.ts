import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { parseOrProblem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { PREFIX_PATTERN, type InvoiceNumbering } from '../domain/invoice-numbering';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';

const numberingSchema = z.object({
  prefix: z.string().regex(PREFIX_PATTERN, 'must be 1 to 20 letters or digits (no dash: it separates the parts)'),
  includeYear: z.boolean().default(false),
  digits: z.number().int().min(1).max(12).default(6),
}).strict();

/** The tenant's invoice number format: `<prefix>-[<year>-]<sequence>`, applied to invoices finalized from now on. */
@Controller('api/v1/billing/invoice-numbering')
@UseGuards(ProjectedApiKeyGuard)
export class InvoiceNumberingController {
  constructor(private readonly numbering: InvoiceNumberingRepository) {}

  @Get()
  async get(@Tenant() tenant: string): Promise<InvoiceNumbering> {
    return this.numbering.get(tenant);
  }

  @Post()
  @HttpCode(200)
  async set(@Tenant() tenant: string, @Body() body: unknown): Promise<InvoiceNumbering> {
    return this.numbering.set(tenant, parseOrProblem(numberingSchema, body));
  }
}
