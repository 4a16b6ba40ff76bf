import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { customerKey, TOPICS, type AccountStatusChanged, type InvoiceChanged, type PaymentReported } from '@tally/contracts';
import { OutboxPublisher, problem, ProblemException, SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { composeInvoice, Dec, priceCharge, upcomingInvoice, type Invoice, type UpcomingInvoice } from '@tally/pricing';
import { billingSettings, dunningPolicy, type BillingSettings } from '../billing-config';
import { CatalogRepository } from '../catalog/catalog.repository';
import { CouponsRepository } from '../coupons/coupons.repository';
import { accountStanding, nextPaymentAttempt, paymentFailureNotice, standingNotice } from '../domain/dunning';
import { formatInvoiceNumber } from '../domain/invoice-numbering';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';
import { dunningNoticeEvent } from '../payments/dunning-notices';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { invoiceInputFor, loadInvoiceSources, type BillingPeriodRow, type InvoiceSources } from './invoice-input';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';

type Emit = (event: OutgoingEvent) => void;
export type InvoiceStatus = InvoiceChanged['status'];

export interface InvoiceRow {
  tenant: string;
  invoice_id: string;
  number: string;
  customer: string;
  subscription_id: string;
  period_start: Date;
  period_end: Date;
  currency: string;
  status: InvoiceStatus;
  document: Invoice;
  /** numeric, as pg returns it: a decimal string. */
  amount_due: string;
  created_at: Date;
  finalized_at: Date | null;
  due_at: Date | null;
  paid_at: Date | null;
  payment_attempts: number;
  last_payment_failed_at: Date | null;
  next_payment_attempt_at: Date | null;
  /** 'period': the period's invoice (one per period); 'adjustment': late units of a canceled subscription; 'progressive': mid-period, at a spend threshold. */
  kind: InvoiceKind;
  threshold_level: number | null;
  threshold_amount: string | null;
}

export type InvoiceKind = 'period' | 'adjustment' | 'progressive';

export interface InvoiceView {
  id: string;
  number: string | null;
  kind: InvoiceKind;
  /** A progressive invoice's highest threshold reached (plan currency) and how many threshold levels of the period it covers so far. */
  threshold?: { amount: string; levels: number };
  customer: string;
  subscriptionId: string;
  status: InvoiceStatus;
  periodStart: string;
  periodEnd: string;
  currency: string;
  issuedAt: string | null;
  dueAt: string | null;
  paidAt: string | null;
  paymentAttempts: number;
  nextPaymentAttemptAt: string | null;
  document: Invoice;
}

/**
 * Period close, invoices, credits, payments and dunning. Each period is closed in its own transaction
 * holding its row lock: the invoice, the usage it billed, the credits it used and its outgoing event
 * commit together or not at all, and the unique (subscription, period) key makes a second close a no-op.
 */
@Injectable()
export class InvoiceService {
  private readonly settings: BillingSettings;

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
    const graceMs = this.settings.BILLING_GRACE_PERIOD_HOURS * 3_600_000;
    const backingOff = await this.failures.backingOff('close-period', now);
    const due: Array<{ tenant: string; subscription_id: string; period_start: Date }> = await this.outbox.inTransaction((m) =>
      m.query(
        `SELECT bp.tenant, bp.subscription_id, bp.period_start FROM ${schemaOf(m.connection)}.billing_periods bp
         LEFT JOIN ${schemaOf(m.connection)}.invoices i ON i.tenant = bp.tenant AND i.invoice_id = bp.invoice_id
         WHERE bp.period_end <= $1 AND (bp.invoice_id IS NULL OR i.status = 'draft') ORDER BY bp.period_end`,
        [now],
      ),
    );
    const result = { drafted: 0, finalized: 0, failed: 0 };
    for (const key of due) {
      const itemKey = `${key.subscription_id}@${key.period_start.toISOString()}`;
      if (backingOff.has(failureId(key.tenant, itemKey))) continue;
      const item = { tenant: key.tenant, key: itemKey, item: { subscriptionId: key.subscription_id, periodStart: key.period_start.toISOString() } };
      const outcome = await this.failures.run('close-period', item, now, async (m, emit) => {
        const s = schemaOf(m.connection);
        const [period]: BillingPeriodRow[] = await m.query(
          `SELECT * FROM ${s}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE SKIP LOCKED`,
          [key.tenant, key.subscription_id, key.period_start],
        );
        if (!period) return null; // another instance holds it
        const existing = period.invoice_id ? await this.row(m, period.tenant, period.invoice_id) : null;
        if (existing && existing.status !== 'draft') return null;
        const sources = await this.sources(m, period);
        const document = composeInvoice(invoiceInputFor(period, sources, now), priceCharge);
        const invoice = existing ?? (await this.insertDraft(m, period, document));
        // A draft is recomposed on every job run during the grace period; it is rewritten only when it changed.
        if (existing) {
          await m.query(
            `UPDATE ${s}.invoices SET document = $3, total = $4, amount_due = $5 WHERE tenant = $1 AND invoice_id = $2 AND document IS DISTINCT FROM $3::jsonb`,
            [invoice.tenant, invoice.invoice_id, JSON.stringify(document), document.total, document.amountDue],
          );
        }
        const final = period.period_end.getTime() + graceMs <= now.getTime();
        if (final) await this.finalize(m, emit, period, sources, document, invoice, now);
        else if (!existing) emit(this.event({ ...invoice, document }, now));
        const stored = (await this.row(m, invoice.tenant, invoice.invoice_id))!;
        beforeCommit?.(stored);
        return final ? ('finalized' as const) : ('drafted' as const);
      });
      if (!outcome.ok) result.failed++;
      else if (outcome.value) result[outcome.value]++;
    }
    await this.failures.refreshGauge();
    return result;
  }

  private async sources(m: EntityManager, period: BillingPeriodRow): Promise<InvoiceSources> {
    const customer = await this.catalog.customer(period.tenant, period.customer, m);
    if (!customer) throw new Error(`customer "${period.customer}" of the period is missing`);
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    if (!subscription) throw new Error(`subscription "${period.subscription_id}" (or its plan version) is missing`);
    const sources = await loadInvoiceSources(m, period, (code, version) => this.catalog.plan(period.tenant, code, version, m), customer, subscription);
    return { ...sources, coupons: await this.coupons.applied(period.tenant, period.customer, m, true) };
  }

  private async insertDraft(m: EntityManager, period: BillingPeriodRow, document: Invoice): Promise<InvoiceRow> {
    const s = schemaOf(m.connection);
    const id = randomUUID();
    const [row] = await m.query(
      `INSERT INTO ${s}.invoices (tenant, invoice_id, number, customer, subscription_id, period_start, period_end, currency, status, document, total, amount_due)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11) RETURNING *`,
      [period.tenant, id, `draft-${id}`, period.customer, period.subscription_id, period.period_start, period.period_end, document.currency,
        JSON.stringify(document), document.total, document.amountDue],
    );
    await m.query(`UPDATE ${s}.billing_periods SET invoice_id = $4 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3`, [period.tenant, period.subscription_id, period.period_start, id]);
    return row;
  }

  private async finalize(m: EntityManager, emit: Emit, period: BillingPeriodRow, sources: InvoiceSources, document: Invoice, invoice: InvoiceRow, now: Date): Promise<void> {
    const s = schemaOf(m.connection);
    const [seq] = await m.query(
      `INSERT INTO ${s}.invoice_numbers (tenant, last) VALUES ($1, 1) ON CONFLICT (tenant) DO UPDATE SET last = invoice_numbers.last + 1 RETURNING last`,
      [period.tenant],
    );
    // The tenant's format; the sequence row stays locked to commit, so numbers are gap-free per tenant.
    const number = formatInvoiceNumber(await this.numbering.get(period.tenant, m), seq.last, now, sources.customer.timezone);
    const paidNow = new Dec(document.amountDue).isZero();
    const dueAt = new Date(now.getTime() + this.settings.PAYMENT_TERMS_DAYS * 86_400_000);
    await m.query(
      `UPDATE ${s}.invoices SET number = $3, status = $4, finalized_at = $5, due_at = $6, paid_at = $7 WHERE tenant = $1 AND invoice_id = $2`,
      [invoice.tenant, invoice.invoice_id, number, paidNow ? 'paid' : 'finalized', now, dueAt, paidNow ? now : null],
    );
    // What each coupon took is taken from it, with the invoice (a once fixed amount keeps the rest).
    if (document.couponsApplied) await this.coupons.consume(m, period.tenant, document.couponsApplied, sources.coupons ?? []);
    // What this invoice billed per meter, so usage that arrives later is billed as the difference.
    const meters = [...new Set([...sources.plan.plan.charges, ...(sources.previousPlan?.plan.charges ?? [])].map((c) => c.meter))];
    await m.query(
      `INSERT INTO ${s}.invoiced_usage (tenant, subscription_id, period_start, meter, units)
       SELECT $1, $2, $3, t.meter, t.units FROM unnest($4::text[], $5::numeric[]) AS t(meter, units)
       ON CONFLICT (tenant, subscription_id, period_start, meter) DO UPDATE SET units = excluded.units`,
      [period.tenant, period.subscription_id, period.period_start, meters, meters.map((x) => sources.usage.get(x) ?? '0')],
    );
    // The same units in the ledger of billed units that reconciliation sums (ADR 0006), one row per document.
    const billed = `INSERT INTO ${s}.billed_usage (tenant, customer, subscription_id, period_start, meter, document_kind, document_id, units)
       SELECT $1, $2, $3, $4, t.meter, $5, $6, t.units FROM unnest($7::text[], $8::numeric[]) AS t(meter, units) ON CONFLICT DO NOTHING`;
    await m.query(billed, [period.tenant, period.customer, period.subscription_id, period.period_start, 'invoice', invoice.invoice_id, meters, meters.map((x) => sources.usage.get(x) ?? '0')]);
    for (const late of sources.lateUsage) {
      // By the difference billed, not to the units read: a credit note may have changed the row meanwhile.
      const lateUnits = new Dec(late.units).minus(late.invoicedUnits).toFixed();
      await m.query(
        `UPDATE ${s}.invoiced_usage SET units = units + $5 WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND meter = $4`,
        [period.tenant, period.subscription_id, late.periodStart, late.meter, lateUnits],
      );
      await m.query(billed, [period.tenant, period.customer, period.subscription_id, late.periodStart, 'adjustment', invoice.invoice_id, [late.meter], [lateUnits]]);
    }
    if (!new Dec(document.creditBalanceAfter).eq(sources.creditBalance)) {
      await m.query(
        `INSERT INTO ${s}.credit_wallets (tenant, customer, currency, balance) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, customer, currency) DO UPDATE SET balance = excluded.balance`,
        [period.tenant, period.customer, document.currency, document.creditBalanceAfter],
      );
      await m.query(
        `INSERT INTO ${s}.credit_transactions (tenant, customer, currency, amount, reason, invoice_id) VALUES ($1, $2, $3, $4, $5, $6)`,
        [period.tenant, period.customer, document.currency, new Dec(document.creditBalanceAfter).minus(sources.creditBalance).toFixed(), `invoice ${number}`, invoice.invoice_id],
      );
    }
    emit(this.event((await this.row(m, invoice.tenant, invoice.invoice_id))!, now));
  }

  /** A payment provider's report: paid, or failed with the next attempt per the dunning schedule; each payment id once. */
  async applyPayments(m: EntityManager, emit: Emit, payments: PaymentReported[], now = new Date()): Promise<Map<PaymentReported, string>> {
    const s = schemaOf(m.connection);
    const refused = new Map<PaymentReported, string>();
    const customers = new Map<string, { tenant: string; customer: string }>();
    for (const p of payments) {
      const [row]: InvoiceRow[] = await m.query(`SELECT * FROM ${s}.invoices WHERE tenant = $1 AND invoice_id = $2 AND customer = $3 FOR UPDATE`, [p.tenant, p.invoiceId, p.customer]);
      // Each payment is applied once: a re-sent report (same payment id) changes nothing; the same id
      // saying something else is a provider bug that needs a person.
      const paymentId = p.paymentId ?? p.eventId;
      const [seen]: Array<{ customer: string; invoice_id: string; outcome: string; amount: string }> = await m.query(
        `SELECT customer, invoice_id, outcome, amount::text FROM ${s}.applied_payments WHERE tenant = $1 AND payment_id = $2`,
        [p.tenant, paymentId],
      );
      if (seen) {
        const same = seen.customer === p.customer && seen.invoice_id === p.invoiceId && seen.outcome === p.outcome && new Dec(seen.amount).eq(p.amount);
        if (!same) {
          refused.set(p, `payment "${paymentId}" was already applied as ${seen.outcome} of ${seen.amount} for invoice "${seen.invoice_id}"; this report says ${p.outcome} of ${p.amount} for invoice "${p.invoiceId}"`);
        }
        continue;
      }
      if (!row || row.status === 'draft') {
        refused.set(p, `no finalized invoice "${p.invoiceId}" of customer "${p.customer}"`);
        continue;
      }
      const remember = () =>
        m.query(
          `INSERT INTO ${s}.applied_payments (tenant, payment_id, customer, invoice_id, outcome, amount, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
          [p.tenant, paymentId, p.customer, p.invoiceId, p.outcome, p.amount, p.occurredAt],
        );
      if (row.status === 'paid') {
        await remember(); // a late or repeated report changes nothing
        continue;
      }
      // Money taken for a voided invoice, or a different amount than due, needs a person: partial payments
      // and refunds are not modelled, so the report goes to the DLQ instead of marking anything paid.
      if (row.status === 'void') {
        if (p.outcome === 'succeeded') refused.set(p, `invoice "${p.invoiceId}" is void but a payment of ${p.amount} succeeded`);
        else await remember();
        continue;
      }
      if (p.outcome === 'succeeded' && !new Dec(p.amount).eq(row.amount_due)) {
        refused.set(p, `payment of ${p.amount} does not match the ${row.amount_due} due on invoice "${p.invoiceId}"`);
        continue;
      }
      await remember();
      const at = new Date(p.occurredAt);
      if (p.outcome === 'succeeded') {
        await m.query(`UPDATE ${s}.invoices SET status = 'paid', paid_at = $3, next_payment_attempt_at = NULL WHERE tenant = $1 AND invoice_id = $2`, [row.tenant, row.invoice_id, at]);
      } else {
        const attempts = row.payment_attempts + 1;
        const next = nextPaymentAttempt(attempts, at, dunningPolicy(this.settings));
        await m.query(
          `UPDATE ${s}.invoices SET status = 'payment_failed', payment_attempts = $3, last_payment_failed_at = $4, next_payment_attempt_at = $5
           WHERE tenant = $1 AND invoice_id = $2`,
          [row.tenant, row.invoice_id, attempts, at, next],
        );
        emit(await dunningNoticeEvent(m, row.tenant, row.customer, paymentFailureNotice(next), {
          invoiceId: row.invoice_id, invoiceNumber: row.number, amountDue: row.amount_due, currency: row.currency, paymentAttempts: attempts, nextPaymentAttemptAt: next?.toISOString() ?? null,
        }, now));
      }
      emit(this.event((await this.row(m, row.tenant, row.invoice_id))!, now));
      customers.set(customerKey(p.tenant, p.customer), { tenant: p.tenant, customer: p.customer });
    }
    for (const c of customers.values()) await this.updateStanding(m, emit, c.tenant, c.customer, now);
    return refused;
  }

  /** Time moves accounts from past_due to delinquent (and back once paid): re-evaluates every account with unpaid invoices, one transaction each. */
  async runDunning(now = new Date()): Promise<number> {
    const accounts: Array<{ tenant: string; customer: string }> = await this.outbox.inTransaction((m) =>
      m.query(
        `SELECT DISTINCT c.tenant, c.customer_id AS customer FROM ${schemaOf(m.connection)}.customers c
         LEFT JOIN ${schemaOf(m.connection)}.invoices i ON i.tenant = c.tenant AND i.customer = c.customer_id AND i.status IN ('finalized', 'payment_failed')
         WHERE i.invoice_id IS NOT NULL OR c.account_status <> 'good_standing'`,
      ),
    );
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
    const s = schemaOf(m.connection);
    const [current] = await m.query(`SELECT account_status FROM ${s}.customers WHERE tenant = $1 AND customer_id = $2 FOR UPDATE`, [tenant, customer]);
    if (!current) return false;
    const unpaid: Array<{ status: 'finalized' | 'payment_failed'; due_at: Date; last_payment_failed_at: Date | null }> = await m.query(
      `SELECT status, due_at, last_payment_failed_at FROM ${s}.invoices WHERE tenant = $1 AND customer = $2 AND status IN ('finalized', 'payment_failed')`,
      [tenant, customer],
    );
    const standing = accountStanding(unpaid.map((u) => ({ status: u.status, dueAt: u.due_at, lastPaymentFailedAt: u.last_payment_failed_at })), now, dunningPolicy(this.settings));
    if (standing.status === current.account_status) return false;
    await m.query(`UPDATE ${s}.customers SET account_status = $3 WHERE tenant = $1 AND customer_id = $2`, [tenant, customer, standing.status]);
    const event: AccountStatusChanged = { eventId: randomUUID(), occurredAt: now.toISOString(), tenant, customer, ...standing };
    emit({ topic: TOPICS.billingAccountStatus, key: customerKey(tenant, customer), value: event });
    const notice = standingNotice(current.account_status, standing.status);
    if (notice) emit(await dunningNoticeEvent(m, tenant, customer, notice, { overdueInvoices: standing.overdueInvoices }, now));
    return true;
  }

  async void(tenant: string, id: string, now = new Date()): Promise<InvoiceView> {
    return this.outbox.inTransaction(async (m, emit) => {
      const s = schemaOf(m.connection);
      const [row]: InvoiceRow[] = await m.query(`SELECT * FROM ${s}.invoices WHERE tenant = $1 AND invoice_id = $2 FOR UPDATE`, [tenant, id]);
      if (!row) throw problem(404, `no invoice "${id}"`);
      if (!['finalized', 'payment_failed'].includes(row.status)) throw problem(409, `a ${row.status} invoice cannot be voided`);
      await m.query(`UPDATE ${s}.invoices SET status = 'void', next_payment_attempt_at = NULL WHERE tenant = $1 AND invoice_id = $2`, [tenant, id]);
      const voided = (await this.row(m, tenant, id))!;
      emit(this.event(voided, now));
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
      const s = schemaOf(m.connection);
      if (idempotency) {
        await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${s}:idempotency:${tenant}:credit-grant:${idempotency.key}`]);
        const [prior]: Array<{ fingerprint: string; response: string }> = await m.query(
          `SELECT fingerprint, response FROM ${s}.idempotency_keys WHERE tenant = $1 AND operation = 'credit-grant' AND key = $2`,
          [tenant, idempotency.key],
        );
        if (prior) {
          if (prior.fingerprint !== idempotency.fingerprint) {
            throw new ProblemException({ status: 422, title: 'Unprocessable Content', detail: 'this Idempotency-Key was already used for a different request (another customer or body); use a new key for a new grant' });
          }
          return { response: JSON.parse(prior.response) as { currency: string; balance: string }, replayed: true };
        }
      }
      if (!(await this.catalog.customer(tenant, customer, m))) throw problem(404, `no customer "${customer}"`);
      const [wallet] = await m.query(
        `INSERT INTO ${s}.credit_wallets (tenant, customer, currency, balance) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, customer, currency) DO UPDATE SET balance = credit_wallets.balance + excluded.balance RETURNING balance::text`,
        [tenant, customer, currency, amount],
      );
      await m.query(`INSERT INTO ${s}.credit_transactions (tenant, customer, currency, amount, reason) VALUES ($1, $2, $3, $4, $5)`, [tenant, customer, currency, amount, reason]);
      const response = { currency, balance: wallet.balance as string };
      if (idempotency) {
        await m.query(
          `INSERT INTO ${s}.idempotency_keys (tenant, operation, key, fingerprint, status, response) VALUES ($1, 'credit-grant', $2, $3, 201, $4)`,
          [tenant, idempotency.key, idempotency.fingerprint, JSON.stringify(response)],
        );
      }
      return { response, replayed: false };
    });
  }

  async credits(tenant: string, customer: string): Promise<Array<{ currency: string; balance: string }>> {
    return this.outbox.inTransaction((m) =>
      m.query(`SELECT currency, balance::text FROM ${schemaOf(m.connection)}.credit_wallets WHERE tenant = $1 AND customer = $2 ORDER BY currency`, [tenant, customer]),
    );
  }

  /** The running period of each of the customer's subscriptions: invoiced as if it ended now, and projected to its end. */
  async upcoming(tenant: string, customer: string, now = new Date()): Promise<Array<{ subscriptionId: string } & UpcomingInvoice>> {
    return this.outbox.inTransaction(async (m) => {
      const s = schemaOf(m.connection);
      if (!(await this.catalog.customer(tenant, customer, m))) throw problem(404, `no customer "${customer}"`);
      const periods: BillingPeriodRow[] = await m.query(
        `SELECT bp.* FROM ${s}.billing_periods bp JOIN ${s}.subscriptions sub ON sub.tenant = bp.tenant AND sub.subscription_id = bp.subscription_id
           AND sub.period_start = bp.period_start
         WHERE bp.tenant = $1 AND bp.customer = $2 AND sub.status <> 'canceled' AND bp.invoice_id IS NULL ORDER BY sub.created_at`,
        [tenant, customer],
      );
      const out: Array<{ subscriptionId: string } & UpcomingInvoice> = [];
      for (const period of periods) {
        const input = invoiceInputFor(period, await this.sources(m, period), now);
        // The run-rate counts from when the subscription started, not from the start of a period it joined late.
        const accrual = { start: period.active_from, end: period.active_to ?? period.period_end };
        const asOf = new Date(Math.min(Math.max(now.getTime(), accrual.start.getTime() + 1), accrual.end.getTime()));
        out.push({ subscriptionId: period.subscription_id, ...upcomingInvoice(input, asOf, priceCharge, accrual) });
      }
      return out;
    });
  }

  async list(tenant: string, customer: string): Promise<InvoiceView[]> {
    const rows: InvoiceRow[] = await this.outbox.inTransaction((m) =>
      m.query(`SELECT * FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND customer = $2 ORDER BY period_start DESC, created_at DESC`, [tenant, customer]),
    );
    return rows.map(view);
  }

  async get(tenant: string, id: string): Promise<InvoiceView> {
    const row = await this.outbox.inTransaction((m) => this.row(m, tenant, id));
    if (!row) throw problem(404, `no invoice "${id}"`);
    return view(row);
  }

  private async row(m: EntityManager, tenant: string, id: string): Promise<InvoiceRow | null> {
    const [row] = await m.query(`SELECT * FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND invoice_id = $2`, [tenant, id]);
    return row ?? null;
  }

  /** The `billing.invoices.v1` message of an invoice's current state (also for adjustment invoices). */
  event(row: InvoiceRow, now: Date): OutgoingEvent {
    const value: InvoiceChanged = {
      eventId: randomUUID(),
      occurredAt: now.toISOString(),
      tenant: row.tenant,
      customer: row.customer,
      invoiceId: row.invoice_id,
      subscriptionId: row.subscription_id,
      status: row.status,
      currency: row.currency,
      periodStart: row.period_start.toISOString(),
      periodEnd: row.period_end.toISOString(),
      total: row.document.total,
      subtotal: row.document.subtotal,
      tax: row.document.tax,
      amountDue: row.document.amountDue,
      ...(row.status === 'draft' ? {} : { number: row.number }),
      ...(row.due_at ? { dueAt: row.due_at.toISOString() } : {}),
      paymentAttempts: row.payment_attempts,
      nextPaymentAttemptAt: row.next_payment_attempt_at?.toISOString() ?? null,
    };
    return { topic: TOPICS.billingInvoices, key: customerKey(row.tenant, row.customer), value };
  }
}

export function view(row: InvoiceRow): InvoiceView {
  return {
    id: row.invoice_id,
    number: row.status === 'draft' ? null : row.number,
    kind: row.kind,
    ...(row.kind === 'progressive' && row.threshold_level !== null && row.threshold_amount !== null
      ? { threshold: { amount: new Dec(row.threshold_amount).toFixed(), levels: row.threshold_level } }
      : {}),
    customer: row.customer,
    subscriptionId: row.subscription_id,
    status: row.status,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    currency: row.currency,
    issuedAt: row.finalized_at?.toISOString() ?? null,
    dueAt: row.due_at?.toISOString() ?? null,
    paidAt: row.paid_at?.toISOString() ?? null,
    paymentAttempts: row.payment_attempts,
    nextPaymentAttemptAt: row.next_payment_attempt_at?.toISOString() ?? null,
    document: row.document,
  };
}
