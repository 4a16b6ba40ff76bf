import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { UsageAggregate } from '@tally/contracts';
import { SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { composeInvoice, priceCharge } from '@tally/pricing';
import { billingSettings, type BillingSettings } from '../billing-config';
import { CatalogRepository } from '../catalog/catalog.repository';
import { CouponsRepository } from '../coupons/coupons.repository';
import { creditWalletChange, finalization } from '../domain/invoice-lifecycle';
import { progressiveCreditLine, progressiveInvoiceDue } from '../domain/progressive-billing';
import { failureId, JobFailuresService, type JobItem } from '../jobs/job-failures.service';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { invoiceInputFor, type BillingPeriodRow } from './invoice-input';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { invoiceEvent, InvoiceRepository } from './invoice.repository';

type Emit = (event: OutgoingEvent) => void;
const JOB = 'progressive-billing';
const itemOf = (tenant: string, customer: string): JobItem => ({ tenant, key: customer, item: { customer } });

/**
 * Progressive billing (domain/progressive-billing.ts): runs in the usage consumer's batch transaction, after
 * the batch's period usage is applied. For each period not yet invoiced of the batch's customers whose plan
 * has thresholds, under the period's row lock (the close takes it too), the usage fees so far are priced;
 * a newly reached threshold issues one finalized invoice for them net of the period's earlier progressive
 * invoices, with the customer's coupons and prepaid credits applied as on any invoice (Lago's order). The
 * invoice, its threshold level (unique per period), what it took from coupons and wallet, and its
 * `billing.invoices.v1` event commit with the batch's offsets: a redelivered or replayed aggregate finds the
 * level invoiced and issues nothing.
 *
 * Each customer is evaluated under a savepoint: an error (a time zone the runtime does not know, a plan
 * version missing...) rolls back that customer's evaluation only and is recorded in `job_failures`
 * (`progressive-billing`, in the batch's transaction), so one customer never holds the partition; the billing
 * job evaluates it again after the backoff (`retryFailed`), and the next batch with its usage tries too. The
 * period's own invoice bills the period in full either way, so nothing is lost while it fails.
 */
@Injectable()
export class ProgressiveBillingService {
  private readonly settings: BillingSettings;
  private readonly repo = new InvoiceRepository();

  constructor(
    private readonly catalog: CatalogRepository,
    private readonly subscriptions: SubscriptionService,
    private readonly numbering: InvoiceNumberingRepository,
    private readonly coupons: CouponsRepository,
    private readonly failures: JobFailuresService,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  async onUsage(m: EntityManager, emit: Emit, aggregates: UsageAggregate[], now = new Date()): Promise<number> {
    const customers = [...new Map(aggregates.map((a) => [failureId(a.tenant, a.customer), { tenant: a.tenant, customer: a.customer }])).values()];
    if (customers.length === 0) return 0;
    const periods = await this.repo.lockProgressivePeriods(m, customers);
    if (periods.length === 0) return 0;
    const byCustomer = new Map<string, BillingPeriodRow[]>();
    for (const p of periods) byCustomer.set(failureId(p.tenant, p.customer), [...(byCustomer.get(failureId(p.tenant, p.customer)) ?? []), p]);
    let issued = 0;
    const evaluated: JobItem[] = [];
    for (const group of byCustomer.values()) {
      const { tenant, customer } = group[0];
      // The customer's events wait for its savepoint: a rolled-back evaluation publishes nothing.
      const events: OutgoingEvent[] = [];
      await m.query('SAVEPOINT progressive_customer');
      try {
        let n = 0;
        for (const period of group) if (await this.evaluate(m, (e) => events.push(e), period, now)) n++;
        await m.query('RELEASE SAVEPOINT progressive_customer');
        events.forEach(emit);
        issued += n;
        evaluated.push(itemOf(tenant, customer));
      } catch (e) {
        await m.query('ROLLBACK TO SAVEPOINT progressive_customer');
        await this.failures.recordFailure(m, JOB, itemOf(tenant, customer), e, now);
      }
    }
    // A customer that evaluates again is no longer failing.
    await this.failures.clear(m, JOB, evaluated);
    return issued;
  }

  /** The job's part: customers whose evaluation failed are evaluated again once their backoff is over, one transaction each. */
  async retryFailed(now = new Date()): Promise<{ issued: number; failed: number }> {
    const result = { issued: 0, failed: 0 };
    for (const item of await this.failures.due(JOB, now)) {
      const outcome = await this.failures.run(JOB, item, now, async (m, emit) => {
        let n = 0;
        for (const period of await this.repo.lockProgressivePeriods(m, [{ tenant: item.tenant, customer: item.key }])) if (await this.evaluate(m, emit, period, now)) n++;
        return n;
      });
      if (outcome.ok) result.issued += outcome.value;
      else result.failed++;
    }
    await this.failures.refreshGauge();
    return result;
  }

  private async evaluate(m: EntityManager, emit: Emit, period: BillingPeriodRow, now: Date): Promise<boolean> {
    const customer = await this.catalog.customer(period.tenant, period.customer, m);
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    // A period whose customer or subscription is gone is the close job's to report (job_failures), not the usage consumer's.
    if (!customer || !subscription) return false;
    const sources = await this.repo.invoiceSources(m, period, (code, version) => this.catalog.plan(period.tenant, code, version, m), customer, subscription);
    // The plan in force decides (after a plan change, the new plan's thresholds and prices).
    const terms = sources.plan.plan.progressiveBilling;
    if (!terms) return false;
    const priced = invoiceInputFor(period, sources, now);
    const usageFees = composeInvoice({ currency: priced.currency, period: priced.period, charges: priced.charges }, priceCharge).subtotal;
    const state = await this.repo.progressiveBilled(m, period);
    const decision = progressiveInvoiceDue(terms, usageFees, { levelsInvoiced: state.levels, highestThreshold: state.highestThreshold, billedAmount: state.billed }, priced.currency);
    if (!decision.invoice) return false;
    // Coupons (locked, as the finalize locks them) and prepaid credits apply as on any invoice: fees, progressive credit, coupons, tax, wallet.
    const coupons = await this.coupons.applied(period.tenant, period.customer, m, true);
    const input = invoiceInputFor(period, { ...sources, coupons }, now);
    const credit = progressiveCreditLine(state.invoices, state.billed, input.currency);
    const document = composeInvoice(
      {
        currency: input.currency,
        period: input.period,
        charges: input.charges,
        adjustments: credit ? [credit] : [],
        ...(input.coupons ? { coupons: input.coupons } : {}),
        prepaidCredits: input.prepaidCredits,
        ...(input.taxRatePercent !== undefined ? { taxRatePercent: input.taxRatePercent } : {}),
      },
      priceCharge,
    );
    const number = await this.numbering.next(m, period.tenant, now, customer.timezone);
    const row = await this.repo.insertIssued(m, {
      period, kind: 'progressive', number, currency: input.currency, document, finalization: finalization(document.amountDue, now, this.settings.PAYMENT_TERMS_DAYS),
      threshold: { level: decision.levelsRecorded, amount: decision.highestCrossed },
    });
    if (document.couponsApplied) await this.coupons.consume(m, period.tenant, document.couponsApplied, coupons);
    const wallet = creditWalletChange(sources.creditBalance, document.creditBalanceAfter);
    if (wallet) await this.repo.recordCreditsUsed(m, { tenant: period.tenant, customer: period.customer, currency: document.currency, invoiceId: row.invoice_id, number }, wallet);
    emit(invoiceEvent(row, now));
    return true;
  }
}
