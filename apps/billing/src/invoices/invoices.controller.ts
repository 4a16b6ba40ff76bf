import { Body, Controller, Get, Headers, HttpCode, Param, Post, Req, Res, StreamableFile, UseGuards } from '@nestjs/common';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { decimalString } from '@tally/contracts';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { CatalogRepository } from '../catalog/catalog.repository';
import { parseIdempotencyKey, requestFingerprint } from '../domain/idempotency';
import { HandlesOwnIdempotency } from '../idempotency/idempotency.interceptor';
import { renderInvoiceHtml } from './invoice-html';
import { renderInvoicePdf } from './invoice-pdf';
import { InvoiceService, type InvoiceView } from './invoice.service';

const grantSchema = z.object({
  amount: decimalString.refine((v) => Number(v) > 0, 'must be positive'),
  /** Defaults to the customer's currency. */
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like "EUR"').optional(),
  reason: z.string().min(1).default('prepaid credits'),
});

@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class InvoicesController {
  constructor(
    private readonly invoices: InvoiceService,
    private readonly catalog: CatalogRepository,
  ) {}

  @Get('customers/:id/invoices')
  async list(@Tenant() tenant: string, @Param('id') customer: string): Promise<{ data: InvoiceView[] }> {
    return { data: await this.invoices.list(tenant, customer) };
  }

  /** The running period so far and its projected end (no invoice shock). */
  @Get('customers/:id/invoices/upcoming')
  async upcoming(@Tenant() tenant: string, @Param('id') customer: string) {
    return { data: await this.invoices.upcoming(tenant, customer) };
  }

  /** The invoice as a PDF: the same content as the HTML rendering. */
  @Get('invoices/:id.pdf')
  async pdf(@Tenant() tenant: string, @Param('id') id: string, @Res({ passthrough: true }) res: Response): Promise<StreamableFile> {
    return this.sendPdf(tenant, await this.invoices.get(tenant, id), res);
  }

  /** JSON by default; `Accept: text/html` renders it for people, `Accept: application/pdf` as a PDF. */
  @Get('invoices/:id')
  async get(@Tenant() tenant: string, @Param('id') id: string, @Req() req: Request, @Res({ passthrough: true }) res: Response): Promise<InvoiceView | string | StreamableFile> {
    const invoice = await this.invoices.get(tenant, id);
    const accept = req.headers.accept ?? '';
    if (accept.includes('application/pdf')) return this.sendPdf(tenant, invoice, res);
    if (!accept.includes('text/html')) return invoice;
    const customer = await this.catalog.customer(tenant, invoice.customer);
    res.type('text/html');
    return renderInvoiceHtml(invoice, customer?.name ?? invoice.customer);
  }

  private async sendPdf(tenant: string, invoice: InvoiceView, res: Response): Promise<StreamableFile> {
    const customer = await this.catalog.customer(tenant, invoice.customer);
    const pdf = await renderInvoicePdf(invoice, customer?.name ?? invoice.customer);
    res.setHeader('Vary', 'Accept');
    const filename = `invoice-${(invoice.number ?? `draft-${invoice.id}`).replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`;
    return new StreamableFile(pdf, { type: 'application/pdf', disposition: `inline; filename="${filename}"`, length: pdf.length });
  }

  @Post('invoices/:id/void')
  @HttpCode(200)
  async void(@Tenant() tenant: string, @Param('id') id: string): Promise<InvoiceView> {
    return this.invoices.void(tenant, id);
  }

  /**
   * `Idempotency-Key` (recommended): a retry with the same key and body gets the first answer again
   * (`Idempotent-Replayed: true`) and grants nothing more; the key with another body is a 422.
   */
  @Post('customers/:id/credits')
  @HttpCode(201)
  @HandlesOwnIdempotency()
  async grant(
    @Tenant() tenant: string,
    @Param('id') customer: string,
    @Body() body: unknown,
    @Headers('idempotency-key') keyHeader: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ) {
    const grant = parseOrProblem(grantSchema, body);
    const { key, error } = parseIdempotencyKey(keyHeader);
    if (error) throw problem(400, error);
    const found = await this.catalog.customer(tenant, customer);
    if (!found) throw problem(404, `no customer "${customer}"`);
    const idempotency = key === undefined ? undefined : { key, fingerprint: requestFingerprint({ customer, body }) };
    const { response, replayed } = await this.invoices.grantCredits(tenant, customer, grant.amount, grant.currency ?? found.currency, grant.reason, idempotency);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return response;
  }

  @Get('customers/:id/credits')
  async credits(@Tenant() tenant: string, @Param('id') customer: string) {
    return { data: await this.invoices.credits(tenant, customer) };
  }
}
