import { Inject, Injectable } from '@nestjs/common';
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { customerKey, TOPICS, type AccountStatusChanged, type PaymentReported } from '@tally/contracts';
import { OutboxPublisher, problem, ProblemException, SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { composeInvoice, priceCharge, upcomingInvoice, type Invoice, type UpcomingInvoice } from '@tally/pricing';
import { contextFromHeaders, spanContextOf } from '@tally/telemetry';
import { billingSettings, dunningPolicy, type BillingSettings } from '../billing-config';
import { CatalogRepository } from '../catalog/catalog.repository';
import { CouponsRepository } from '../coupons/coupons.repository';
import { accountStanding, paymentFailureNotice, standingNotice } from '../domain/dunning';
import { closeDecision, creditWalletChange, finalization, lateUnits, paymentDecision, voidRefusal } from '../domain/invoice-lifecycle';
import { closeTrace } from '../domain/usage-trace';
import { amountMeterOf } from '../catalog/dynamic-charge';
import { isProrated } from '../catalog/prorated-charge';
import { ProratedUsageError } from '../domain/prorated-usage';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';
import { dunningNoticeEvent } from '../payments/dunning-notices';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { periodTraceKey, UsageTracesRepository } from '../usage/usage-traces.repository';
import { invoiceInputFor, type BillingPeriodRow, type InvoiceSources } from './invoice-input';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { invoiceEvent, InvoiceRepository, type InvoiceRow } from './invoice.repository';
import { view, type InvoiceView } from './invoice-view';

export { invoiceEvent, type InvoiceKind, type InvoiceRow, type InvoiceStatus } from './invoice.repository';
export { view, type InvoiceView } from './invoice-view';

type Emit = (event: OutgoingEvent) => void;

/** A preview that cannot price a prorated charge (no held unit-days for its usage) answers 409 with the reason, not 500. */
function previewInput<T>(build: () => T): T {
  try {
    return build();
  } catch (e) {
    if (e instanceof ProratedUsageError) throw problem(409, e.message);
    throw e;
  }
}

const tracer = trace.getTracer('@tally/billing');

/**
 * The invoice use cases: period close (draft, re-price, finalize), payments, dunning, void, prepaid
 * credits and reads. Each runs in one transaction; what to do is decided in domain/invoice-lifecycle.ts
 * (and dunning.ts), what is published in domain/invoice-event.ts, and the SQL is in invoice.repository.ts.
 * Each period is closed in its own transaction holding its row lock: the invoice, the usage it billed, the
 * credits it used and its outgoing event commit together or not at all, and the unique (subscription,
 * period) key makes a second close a no-op.
 */
@Injectable()
export class InvoiceService {
  private readonly settings: BillingSettings;
  private readonly repo = new InvoiceRepository();
  private readonly usageTraces = new UsageTracesRepository();

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly catalog: CatalogRepository,
    private readonly subscriptions: SubscriptionService,
    private readonly failures: JobFailuresService,
    private readonly numbering: InvoiceNumberingRepository,
    private readonly coupons: CouponsRepository,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  /**
   * Ended periods get a draft invoice, re-priced on every run while late events may still arrive;
   * after the grace period it is finalized. One transaction per period: a period that fails is
   * recorded with its error and retried later (job_failures), and every other period still closes.
   * `beforeCommit` lets tests crash a close half-way.
   */
  async closePeriods(now = new Date(), beforeCommit?: (invoice: InvoiceRow) => void): Promise<{ drafted: number; finalized: number; failed: number }> {
    const backingOff = await this.failures.backingOff('close-period', now);
    const { due, traces } = await this.outbox.inTransaction(async (m) => {
      const periods = await this.repo.periodsToClose(m, now);
      return { due: periods, traces: await this.usageTraces.ofPeriods(m, periods) };
    });
    const result = { drafted: 0, finalized: 0, failed: 0 };
    for (const key of due) {
      const itemKey = `${key.subscription_id}@${key.period_start.toISOString()}`;
      if (backingOff.has(failureId(key.tenant, itemKey))) continue;
      const item = { tenant: key.tenant, key: itemKey, item: { subscriptionId: key.subscription_id, periodStart: key.period_start.toISOString() } };
      const outcome = await this.traced(key, traces.get(periodTraceKey(key)) ?? [], () =>
        this.failures.run('close-period', item, now, (m, emit) => this.closePeriod(m, emit, key, now, beforeCommit)),
      );
      if (!outcome.ok) result.failed++;
      else if (outcome.value) result[outcome.value]++;
    }
    await this.failures.refreshGauge();
    return result;
  }

  /**
   * A period's close in a span continuing the newest trace its usage carried and linking to all of them
   * (domain/usage-trace.ts), so the invoice's events (the outbox keeps the active context) lead back to the
   * usage they bill. Without any stored context it runs as before, outside a trace: the job runs every
   * interval and a root trace per period and run would bury the real ones.
   */
  private async traced<T extends { ok: boolean; error?: string }>(key: { tenant: string; subscription_id: string; period_start: Date }, stored: Array<{ meter: string; traces: unknown }>, work: () => Promise<T>): Promise<T> {
    const { parent, links } = closeTrace(stored);
    if (!parent) return work();
    const spanLinks: Link[] = links.flatMap((l) => {
      const linked = spanContextOf(contextFromHeaders({ ...l }));
      return linked ? [{ context: linked }] : [];
    });
    const span = tracer.startSpan(
      'billing close-period',
      {
        links: spanLinks,
        attributes: { 'tally.tenant': key.tenant, 'tally.subscription_id': key.subscription_id, 'tally.period_start': key.period_start.toISOString(), 'tally.usage_traces': spanLinks.length },
      },
      contextFromHeaders({ ...parent }),
    );
    try {
      const outcome = await context.with(trace.setSpan(ROOT_CONTEXT, span), work);
      span.setStatus(outcome.ok ? { code: SpanStatusCode.OK } : { code: SpanStatusCode.ERROR, message: outcome.error });
      return outcome;
    } catch (e) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (e as Error).message });
      throw e;
    } finally {
      span.end();
    }
  }

  private async closePeriod(
    m: EntityManager,
    emit: Emit,
    key: { tenant: string; subscription_id: string; period_start: Date },
    now: Date,
    beforeCommit?: (invoice: InvoiceRow) => void,
  ): Promise<'drafted' | 'finalized' | null> {
    const period = await this.repo.lockPeriodToClose(m, key.tenant, key.subscription_id, key.period_start);
    if (!period) return null; // another instance holds it
    const existing = period.invoice_id ? await this.repo.row(m, period.tenant, period.invoice_id) : null;
    const decision = closeDecision(existing, period.period_end, now, this.settings.BILLING_GRACE_PERIOD_HOURS * 3_600_000);
    if (decision.kind === 'skip') return null;
    const sources = await this.sources(m, period);
    const document = composeInvoice(invoiceInputFor(period, sources, now), priceCharge);
    const invoice = existing ?? (await this.repo.insertDraft(m, period, document));
    if (existing) await this.repo.repriceDraft(m, invoice, document);
    if (decision.finalize) await this.finalize(m, emit, period, sources, document, invoice, now);
    else if (decision.createDraft) emit(invoiceEvent({ ...invoice, document }, now));
    beforeCommit?.((await this.repo.row(m, invoice.tenant, invoice.invoice_id))!);
    return decision.finalize ? 'finalized' : 'drafted';
  }

  /** What one period's invoice is made of, with the customer's coupons (locked with the wallet). */
  private async sources(m: EntityManager, period: BillingPeriodRow): Promise<InvoiceSources> {
    const customer = await this.catalog.customer(period.tenant, period.customer, m);
    if (!customer) throw new Error(`customer "${period.customer}" of the period is missing`);
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    if (!subscription) throw new Error(`subscription "${period.subscription_id}" (or its plan version) is missing`);
    const sources = await this.repo.invoiceSources(m, period, (code, version) => this.catalog.plan(period.tenant, code, version, m), customer, subscription);
    return { ...sources, coupons: await this.coupons.applied(period.tenant, period.customer, m, true) };
  }

  private async finalize(m: EntityManager, emit: Emit, period: BillingPeriodRow, sources: InvoiceSources, document: Invoice, invoice: InvoiceRow, now: Date): Promise<void> {
    const number = await this.numbering.next(m, period.tenant, now, sources.customer.timezone);
    await this.repo.markFinalized(m, invoice, number, finalization(document.amountDue, now, this.settings.PAYMENT_TERMS_DAYS));
    // What each coupon took is taken from it, with the invoice (a once fixed amount keeps the rest).
    if (document.couponsApplied) await this.coupons.consume(m, period.tenant, document.couponsApplied, sources.coupons ?? []);
    // What this invoice billed per meter (so later usage is billed as the difference), and the same units in the ledger reconciliation sums.
    const meters = [...new Set([...sources.plan.plan.charges, ...(sources.previousPlan?.plan.charges ?? [])].map((c) => c.meter))];
    const units = meters.map((x) => sources.usage.get(x) ?? '0');
    // A prorated charge's held unit-days and opening too: a late event is then corrected by Lago's price difference.
    const proratedMeters = new Set([...sources.plan.plan.charges, ...(sources.previousPlan?.plan.charges ?? [])].filter(isProrated).map((c) => c.meter));
    const proration = meters.map((x) => (proratedMeters.has(x) ? { heldUnitDays: sources.heldUnitDays?.get(x) ?? '0', openingUnits: sources.openingUnits?.get(x) ?? '0' } : null));
    // A dynamic charge's amount meter and the usage of it billed: a late event is then corrected by the price difference.
    // The charge the invoice priced: the current plan's, the old plan's only for a meter the new one dropped.
    const priced = [...sources.plan.plan.charges, ...(sources.previousPlan?.plan.charges ?? []).filter((old) => !sources.plan.plan.charges.some((c) => c.meter === old.meter))];
    const amountMeters = new Map(priced.flatMap((c) => {
      const amountMeter = amountMeterOf(c);
      return amountMeter === undefined ? [] : [[c.meter, amountMeter] as const];
    }));
    const dynamic = meters.map((x) => {
      const amountMeter = amountMeters.get(x);
      return amountMeter === undefined ? null : { amountMeter, amount: sources.usage.get(amountMeter) ?? '0' };
    });
    await this.repo.recordInvoicedUsage(m, period, meters, units, proration, dynamic);
    await this.repo.recordBilledUsage(m, period, 'invoice', invoice.invoice_id, meters, units);
    for (const late of sources.lateUsage) {
      const billed = lateUnits(late);
      const earlier = { ...period, period_start: late.periodStart };
      await this.repo.addInvoicedUnits(m, earlier, late.meter, billed);
      await this.repo.recordBilledUsage(m, earlier, 'adjustment', invoice.invoice_id, [late.meter], [billed]);
    }
    for (const late of sources.lateProrated ?? []) {
      const earlier = { ...period, period_start: late.periodStart };
      await this.repo.addInvoicedUnits(m, earlier, late.meter, late.units, { heldUnitDays: late.heldUnitDays, openingUnits: late.openingUnits });
      await this.repo.recordBilledUsage(m, earlier, 'adjustment', invoice.invoice_id, [late.meter], [late.units]);
    }
    for (const late of sources.lateDynamic ?? []) {
      const earlier = { ...period, period_start: late.periodStart };
      await this.repo.addInvoicedUnits(m, earlier, late.meter, late.units, null, late.amountUsage);
      await this.repo.recordBilledUsage(m, earlier, 'adjustment', invoice.invoice_id, [late.meter], [late.units]);
    }
    const wallet = creditWalletChange(sources.creditBalance, document.creditBalanceAfter);
    if (wallet) await this.repo.recordCreditsUsed(m, { tenant: period.tenant, customer: period.customer, currency: document.currency, invoiceId: invoice.invoice_id, number }, wallet);
    emit(invoiceEvent((await this.repo.row(m, invoice.tenant, invoice.invoice_id))!, now));
  }

  /** A payment provider's report: paid, or failed with the next attempt per the dunning schedule; each payment id once. */
  async applyPayments(m: EntityManager, emit: Emit, payments: PaymentReported[], now = new Date()): Promise<Map<PaymentReported, string>> {
    const refused = new Map<PaymentReported, string>();
    const customers = new Map<string, { tenant: string; customer: string }>();
    for (const p of payments) {
      const row = await this.repo.lock(m, p.tenant, p.invoiceId, p.customer);
      const paymentId = p.paymentId ?? p.eventId;
      const seen = await this.repo.appliedPayment(m, p.tenant, paymentId);
      const decision = paymentDecision(
        { paymentId, customer: p.customer, invoiceId: p.invoiceId, outcome: p.outcome, amount: p.amount, occurredAt: new Date(p.occurredAt) },
        row && { status: row.status, amountDue: row.amount_due, paymentAttempts: row.payment_attempts },
        seen,
        dunningPolicy(this.settings),
      );
      if (decision.kind === 'refuse') refused.set(p, decision.reason);
      if (decision.kind === 'refuse' || decision.kind === 'duplicate') continue;
      await this.repo.rememberPayment(m, { tenant: p.tenant, paymentId, customer: p.customer, invoiceId: p.invoiceId, outcome: p.outcome, amount: p.amount, occurredAt: p.occurredAt });
      if (decision.kind === 'remember' || !row) continue;
      if (decision.kind === 'paid') await this.repo.markPaid(m, row, decision.paidAt);
      else {
        await this.repo.markPaymentFailed(m, row, decision.attempts, decision.failedAt, decision.nextAttemptAt);
        emit(await dunningNoticeEvent(m, row.tenant, row.customer, paymentFailureNotice(decision.nextAttemptAt), {
          invoiceId: row.invoice_id, invoiceNumber: row.number, amountDue: row.amount_due, currency: row.currency, paymentAttempts: decision.attempts,
          nextPaymentAttemptAt: decision.nextAttemptAt?.toISOString() ?? null,
        }, now));
      }
      emit(invoiceEvent((await this.repo.row(m, row.tenant, row.invoice_id))!, now));
      customers.set(customerKey(p.tenant, p.customer), { tenant: p.tenant, customer: p.customer });
    }
    for (const c of customers.values()) await this.updateStanding(m, emit, c.tenant, c.customer, now);
    return refused;
  }

  /** Time moves accounts from past_due to delinquent (and back once paid): re-evaluates every account with unpaid invoices, one transaction each. */
  async runDunning(now = new Date()): Promise<number> {
    const accounts = await this.outbox.inTransaction((m) => this.repo.accountsToReevaluate(m));
    const backingOff = await this.failures.backingOff('dunning', now);
    let changed = 0;
    for (const a of accounts) {
      if (backingOff.has(failureId(a.tenant, a.customer))) continue;
      const outcome = await this.failures.run('dunning', { tenant: a.tenant, key: a.customer, item: { customer: a.customer } }, now, (m, emit) =>
        this.updateStanding(m, emit, a.tenant, a.customer, now),
      );
      if (outcome.ok && outcome.value) changed++;
    }
    await this.failures.refreshGauge();
    return changed;
  }

  private async updateStanding(m: EntityManager, emit: Emit, tenant: string, customer: string, now: Date): Promise<boolean> {
    const current = await this.repo.lockStanding(m, tenant, customer);
    if (!current) return false;
    const standing = accountStanding(await this.repo.openInvoices(m, tenant, customer), now, dunningPolicy(this.settings));
    if (standing.status === current) return false;
    await this.repo.setStanding(m, tenant, customer, standing.status);
    const event: AccountStatusChanged = { eventId: randomUUID(), occurredAt: now.toISOString(), tenant, customer, ...standing };
    emit({ topic: TOPICS.billingAccountStatus, key: customerKey(tenant, customer), value: event });
    const notice = standingNotice(current, standing.status);
    if (notice) emit(await dunningNoticeEvent(m, tenant, customer, notice, { overdueInvoices: standing.overdueInvoices }, now));
    return true;
  }

  async void(tenant: string, id: string, now = new Date()): Promise<InvoiceView> {
    return this.outbox.inTransaction(async (m, emit) => {
      const row = await this.repo.lock(m, tenant, id);
      const refusal = voidRefusal(row, id);
      if (refusal || !row) throw problem(refusal?.status ?? 404, refusal?.title ?? `no invoice "${id}"`);
      await this.repo.markVoid(m, tenant, id);
      const voided = (await this.repo.row(m, tenant, id))!;
      emit(invoiceEvent(voided, now));
      await this.updateStanding(m, emit, tenant, row.customer, now);
      return view(voided);
    });
  }

  /**
   * Prepaid credits: added to the customer's wallet in that currency, used by invoices after tax. With an
   * idempotency key, the first answer is stored with the grant and replayed for the same request; the
   * key reused for another request is refused (422). Requests with one key are serialized by a lock.
   */
  async grantCredits(
    tenant: string,
    customer: string,
    amount: string,
    currency: string,
    reason: string,
    idempotency?: { key: string; fingerprint: string },
  ): Promise<{ response: { currency: string; balance: string }; replayed: boolean }> {
    return this.outbox.inTransaction(async (m) => {
      if (idempotency) {
        const prior = await this.repo.lockGrantKey(m, tenant, idempotency.key);
        if (prior) {
          if (prior.fingerprint !== idempotency.fingerprint) {
            throw new ProblemException({ status: 422, title: 'Unprocessable Content', detail: 'this Idempotency-Key was already used for a different request (another customer or body); use a new key for a new grant' });
          }
          return { response: JSON.parse(prior.response) as { currency: string; balance: string }, replayed: true };
        }
      }
      if (!(await this.catalog.customer(tenant, customer, m))) throw problem(404, `no customer "${customer}"`);
      const balance = await this.repo.addToWallet(m, tenant, customer, currency, amount);
      await this.repo.creditTransaction(m, { tenant, customer, currency, amount, reason });
      const response = { currency, balance };
      if (idempotency) await this.repo.rememberGrant(m, tenant, idempotency.key, idempotency.fingerprint, response);
      return { response, replayed: false };
    });
  }

  async credits(tenant: string, customer: string): Promise<Array<{ currency: string; balance: string }>> {
    return this.outbox.inTransaction((m) => this.repo.wallets(m, tenant, customer));
  }

  /** The running period of each of the customer's subscriptions: invoiced as if it ended now, and projected to its end. */
  async upcoming(tenant: string, customer: string, now = new Date()): Promise<Array<{ subscriptionId: string } & UpcomingInvoice>> {
    return this.outbox.inTransaction(async (m) => {
      if (!(await this.catalog.customer(tenant, customer, m))) throw problem(404, `no customer "${customer}"`);
      const out: Array<{ subscriptionId: string } & UpcomingInvoice> = [];
      for (const period of await this.repo.runningPeriods(m, tenant, customer)) {
        const sources = await this.sources(m, period);
        const input = previewInput(() => invoiceInputFor(period, sources, now));
        // The run-rate counts from when the subscription started, not from the start of a period it joined late.
        const accrual = { start: period.active_from, end: period.active_to ?? period.period_end };
        const asOf = new Date(Math.min(Math.max(now.getTime(), accrual.start.getTime() + 1), accrual.end.getTime()));
        out.push({ subscriptionId: period.subscription_id, ...upcomingInvoice(input, asOf, priceCharge, accrual) });
      }
      return out;
    });
  }

  async list(tenant: string, customer: string): Promise<InvoiceView[]> {
    return (await this.outbox.inTransaction((m) => this.repo.ofCustomer(m, tenant, customer))).map(view);
  }

  async get(tenant: string, id: string): Promise<InvoiceView> {
    const row = await this.outbox.inTransaction((m) => this.repo.row(m, tenant, id));
    if (!row) throw problem(404, `no invoice "${id}"`);
    return view(row);
  }
}
