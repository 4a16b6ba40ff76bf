import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { UsageAggregate } from '@tally/contracts';
import { SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { composeInvoice, priceCharge } from '@tally/pricing';
import { billingSettings, type BillingSettings } from '../billing-config';
import { CatalogRepository } from '../catalog/catalog.repository';
import { finalization } from '../domain/invoice-lifecycle';
import { progressiveCreditLine, progressiveInvoiceDue } from '../domain/progressive-billing';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { invoiceInputFor, type BillingPeriodRow } from './invoice-input';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { invoiceEvent, InvoiceRepository } from './invoice.repository';

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
  private readonly repo = new InvoiceRepository();

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly subscriptions: SubscriptionService,
    private readonly numbering: InvoiceNumberingRepository,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  async onUsage(m: EntityManager, emit: (event: OutgoingEvent) => void, aggregates: UsageAggregate[], now = new Date()): Promise<number> {
    const customers = [...new Map(aggregates.map((a) => [`${a.tenant}\u0000${a.customer}`, a])).values()];
    if (customers.length === 0) return 0;
    const periods = await this.repo.lockProgressivePeriods(m, customers);
    let issued = 0;
    for (const period of periods) if (await this.evaluate(m, emit, period, now)) issued++;
    return issued;
  }

  private async evaluate(m: EntityManager, emit: (event: OutgoingEvent) => void, period: BillingPeriodRow, now: Date): Promise<boolean> {
    const customer = await this.catalog.customer(period.tenant, period.customer, m);
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    // A period whose customer or subscription is gone is the close job's to report (job_failures), not the usage consumer's.
    if (!customer || !subscription) return false;
    const sources = await this.repo.invoiceSources(m, period, (code, version) => this.catalog.plan(period.tenant, code, version, m), customer, subscription);
    const terms = sources.plan.plan.progressiveBilling;
    if (!terms) return false;
    const input = invoiceInputFor(period, sources, now);
    const usageFees = composeInvoice({ currency: input.currency, period: input.period, charges: input.charges }, priceCharge).subtotal;
    const state = await this.repo.progressiveBilled(m, period);
    const decision = progressiveInvoiceDue(terms, usageFees, { levelsInvoiced: state.levels, billedAmount: state.billed }, input.currency);
    if (!decision.invoice) return false;
    const credit = progressiveCreditLine(state.invoices, state.billed, input.currency);
    const document = composeInvoice(
      { currency: input.currency, period: input.period, charges: input.charges, adjustments: credit ? [credit] : [], ...(input.taxRatePercent !== undefined ? { taxRatePercent: input.taxRatePercent } : {}) },
      priceCharge,
    );
    const number = await this.numbering.next(m, period.tenant, now, customer.timezone);
    const row = await this.repo.insertIssued(m, {
      period, kind: 'progressive', number, currency: input.currency, document, finalization: finalization(document.amountDue, now, this.settings.PAYMENT_TERMS_DAYS),
      threshold: { level: decision.levelsReached, amount: decision.highestCrossed },
    });
    emit(invoiceEvent(row, now));
    return true;
  }
}
