import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { isoDateTime } from '@tally/contracts';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { CatalogRepository } from '../catalog/catalog.repository';
import { UsageCorrectionsService, type CreditNoteView, type ReconciliationMismatch } from './usage-corrections.service';

const MAX_RANGE_DAYS = 400;
const reconciliationQuery = z
  .object({ from: isoDateTime, to: isoDateTime })
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'must be after from', path: ['to'] })
  .refine((q) => Date.parse(q.to) - Date.parse(q.from) <= MAX_RANGE_DAYS * 86_400_000, { message: `at most ${MAX_RANGE_DAYS} days after from`, path: ['to'] });

/** Credit notes and the reconciliation of invoiced units with usage. Tenant-scoped like every API. */
@Controller('api/v1')
@UseGuards(ProjectedApiKeyGuard)
export class CreditNotesController {
  constructor(
    private readonly corrections: UsageCorrectionsService,
    private readonly catalog: CatalogRepository,
  ) {}

  @Get('customers/:id/credit-notes')
  async list(@Tenant() tenant: string, @Param('id') customer: string): Promise<{ data: CreditNoteView[] }> {
    if (!(await this.catalog.customer(tenant, customer))) throw problem(404, `no customer "${customer}"`);
    return { data: await this.corrections.creditNotes(tenant, customer) };
  }

  @Get('credit-notes/:id')
  async get(@Tenant() tenant: string, @Param('id') id: string): Promise<CreditNoteView> {
    return this.corrections.creditNote(tenant, id);
  }

  /** Closed periods overlapping [from, to): units in the ledger against units invoiced, per meter; mismatches listed. */
  @Get('billing/reconciliation')
  async reconciliation(
    @Tenant() tenant: string,
    @Query() query: unknown,
  ): Promise<{ from: string; to: string; periodsAndMetersChecked: number; mismatches: ReconciliationMismatch[] }> {
    const { from, to } = parseOrProblem(reconciliationQuery, query);
    const { checked, mismatches } = await this.corrections.reconciliation(tenant, new Date(from), new Date(to));
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), periodsAndMetersChecked: checked, mismatches };
  }
}
