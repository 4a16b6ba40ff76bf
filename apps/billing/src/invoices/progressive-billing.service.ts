import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { UsageAggregate } from '@tally/contracts';
import { SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { composeInvoice, Dec, priceCharge } from '@tally/pricing';
import { billingSettings, type BillingSettings } from '../billing-config';
import { CatalogRepository } from '../catalog/catalog.repository';
import { formatInvoiceNumber } from '../domain/invoice-numbering';
import { progressiveCreditLine, progressiveInvoiceDue } from '../domain/progressive-billing';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { invoiceInputFor, loadInvoiceSources, progressiveBilledSql, type BillingPeriodRow } from './invoice-input';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { InvoiceService, type InvoiceRow } from './invoice.service';

/**
 * Progressive billing (domain/progressive-billing.ts): runs in the usage consumer's batch transaction, after
 * the batch's period usage is applied. For each period not yet invoiced of the batch's customers whose plan
 * has thresholds, under the period's row lock (the close takes it too), the usage fees so far are priced;
 * a newly reached threshold issues one finalized invoice for them net of the period's earlier progressive
 * invoices. The invoice, its threshold level (unique per period) and its `billing.invoices.v1` event commit
 * with the batch's offsets: a redelivered or replayed aggregate finds the level invoiced and issues nothing.
 */
@Injectable()
export class ProgressiveBillingService {
  private readonly settings: BillingSettings;

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly subscriptions: SubscriptionService,
    private readonly invoices: InvoiceService,
    private readonly numbering: InvoiceNumberingRepository,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  async onUsage(m: EntityManager, emit: (event: OutgoingEvent) => void, aggregates: UsageAggregate[], now = new Date()): Promise<number> {
    const customers = [...new Map(aggregates.map((a) => [`${a.tenant}\u0000${a.customer}`, a])).values()];
    if (customers.length === 0) return 0;
    const s = schemaOf(m.connection);
    // Locked in one statement, in a fixed order, so two batches never wait on each other crosswise.
    const periods: BillingPeriodRow[] = await m.query(
      `SELECT bp.* FROM ${s}.billing_periods bp
       JOIN ${s}.plans p ON p.tenant = bp.tenant AND p.code = bp.plan_code AND p.version = bp.plan_version
       WHERE (bp.tenant, bp.customer) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND bp.invoice_id IS NULL AND p.definition ? 'progressiveBilling'
       ORDER BY bp.tenant, bp.subscription_id, bp.period_start FOR UPDATE OF bp`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
    );
    let issued = 0;
    for (const period of periods) if (await this.evaluate(m, emit, period, now)) issued++;
    return issued;
  }

  private async evaluate(m: EntityManager, emit: (event: OutgoingEvent) => void, period: BillingPeriodRow, now: Date): Promise<boolean> {
    const s = schemaOf(m.connection);
    const customer = await this.catalog.customer(period.tenant, period.customer, m);
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    // A period whose customer or subscription is gone is the close job's to report (job_failures), not the usage consumer's.
    if (!customer || !subscription) return false;
    const sources = await loadInvoiceSources(m, period, (code, version) => this.catalog.plan(period.tenant, code, version, m), customer, subscription);
    const terms = sources.plan.plan.progressiveBilling;
    if (!terms) return false;
    const input = invoiceInputFor(period, sources, now);
    const usageFees = composeInvoice({ currency: input.currency, period: input.period, charges: input.charges }, priceCharge).subtotal;
    const [state]: Array<{ invoices: number; levels: number; billed: string }> = await m.query(progressiveBilledSql(s), [period.tenant, period.subscription_id, period.period_start]);
    const decision = progressiveInvoiceDue(terms, usageFees, { levelsInvoiced: state.levels, billedAmount: state.billed }, input.currency);
    if (!decision.invoice) return false;
    const credit = progressiveCreditLine(state.invoices, state.billed, input.currency);
    const document = composeInvoice(
      { currency: input.currency, period: input.period, charges: input.charges, adjustments: credit ? [credit] : [], ...(input.taxRatePercent !== undefined ? { taxRatePercent: input.taxRatePercent } : {}) },
      priceCharge,
    );
    const [seq] = await m.query(
      `INSERT INTO ${s}.invoice_numbers (tenant, last) VALUES ($1, 1) ON CONFLICT (tenant) DO UPDATE SET last = invoice_numbers.last + 1 RETURNING last`,
      [period.tenant],
    );
    const number = formatInvoiceNumber(await this.numbering.get(period.tenant, m), seq.last, now, customer.timezone);
    const paidNow = new Dec(document.amountDue).isZero();
    const [row]: InvoiceRow[] = await m.query(
      `INSERT INTO ${s}.invoices (tenant, invoice_id, number, customer, subscription_id, period_start, period_end, currency, status, document, total, amount_due,
         finalized_at, due_at, paid_at, kind, threshold_level, threshold_amount)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'progressive', $16, $17) RETURNING *`,
      [period.tenant, randomUUID(), number, period.customer, period.subscription_id, period.period_start, period.period_end, input.currency, paidNow ? 'paid' : 'finalized',
        JSON.stringify(document), document.total, document.amountDue, now, new Date(now.getTime() + this.settings.PAYMENT_TERMS_DAYS * 86_400_000), paidNow ? now : null,
        decision.levelsReached, decision.highestCrossed],
    );
    emit(this.invoices.event(row, now));
    return true;
  }
}
