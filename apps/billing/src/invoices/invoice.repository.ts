import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { customerKey, TOPICS, type AccountStatusChanged } from '@tally/contracts';
import type { OutgoingEvent } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { Dec, type Invoice } from '@tally/pricing';
import type { Customer, PlanVersion } from '../catalog/catalog.repository';
import { pricedByUnits } from '../catalog/dynamic-charge';
import { isProrated } from '../catalog/prorated-charge';
import { nominalPeriodContaining } from '../domain/billing-periods';
import type { UnpaidInvoice } from '../domain/dunning';
import { invoiceChanged, type InvoiceState } from '../domain/invoice-event';
import type { Finalization, InvoiceKind, InvoiceStatus } from '../domain/invoice-lifecycle';
import { dynamicCorrection } from '../domain/dynamic-usage';
import { proratedCorrection } from '../domain/prorated-usage';
import { periodRuleOf } from '../subscriptions/subscription.repository';
import { openingNowSql } from './usage-corrections.repository';
import type { SubscriptionRow } from '../subscriptions/subscription.service';
import type { BillingPeriodRow, InvoiceSources } from './invoice-input';

export type { InvoiceKind, InvoiceStatus } from '../domain/invoice-lifecycle';

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

export const toInvoiceState = (row: InvoiceRow): InvoiceState => ({
  tenant: row.tenant,
  invoiceId: row.invoice_id,
  number: row.number,
  customer: row.customer,
  subscriptionId: row.subscription_id,
  periodStart: row.period_start,
  periodEnd: row.period_end,
  currency: row.currency,
  status: row.status,
  document: row.document,
  dueAt: row.due_at,
  paymentAttempts: row.payment_attempts,
  nextPaymentAttemptAt: row.next_payment_attempt_at,
});

/** The `billing.invoices.v1` message of an invoice's current state (every kind), with a fresh event id. */
export const invoiceEvent = (row: InvoiceRow, now: Date): OutgoingEvent => ({
  topic: TOPICS.billingInvoices,
  key: customerKey(row.tenant, row.customer),
  value: invoiceChanged(toInvoiceState(row), { eventId: randomUUID(), occurredAt: now }),
});

type PeriodKey = Pick<BillingPeriodRow, 'tenant' | 'customer' | 'subscription_id' | 'period_start'>;

/** An invoice issued final at once (progressive, adjustment): it never was a draft. */
export interface IssuedInvoice {
  period: PeriodKey & Pick<BillingPeriodRow, 'period_end'>;
  kind: Exclude<InvoiceKind, 'period'>;
  number: string;
  currency: string;
  document: Invoice;
  finalization: Finalization;
  threshold?: { level: number; amount: string };
}

/**
 * The period's progressive invoices: how many (not void), how many threshold levels they recorded and the highest
 * threshold they were issued for (void ones too: a level is never invoiced again), and what they billed before
 * coupons and tax (their subtotals, not void), which the period's invoice is net of.
 */
export interface ProgressiveBilled {
  invoices: number;
  levels: number;
  highestThreshold: string | null;
  billed: string;
}

/**
 * The SQL of invoices, the usage they billed, credits and payments, nothing decided here: every method runs
 * in the caller's transaction (`m`). Stateless, so the services hold one without dependency injection.
 */
export class InvoiceRepository {
  // ---- invoices --------------------------------------------------------------------------------------

  async row(m: EntityManager, tenant: string, id: string): Promise<InvoiceRow | null> {
    const [row] = await m.query(`SELECT * FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND invoice_id = $2`, [tenant, id]);
    return row ?? null;
  }

  /** The invoice locked for a change (of the customer, when given). */
  async lock(m: EntityManager, tenant: string, id: string, customer?: string): Promise<InvoiceRow | null> {
    const [row] = await m.query(
      `SELECT * FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND invoice_id = $2 AND ($3::text IS NULL OR customer = $3) FOR UPDATE`,
      [tenant, id, customer ?? null],
    );
    return row ?? null;
  }

  async ofCustomer(m: EntityManager, tenant: string, customer: string): Promise<InvoiceRow[]> {
    return m.query(`SELECT * FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND customer = $2 ORDER BY period_start DESC, created_at DESC`, [tenant, customer]);
  }

  async insertDraft(m: EntityManager, period: PeriodKey & Pick<BillingPeriodRow, 'period_end'>, document: Invoice): Promise<InvoiceRow> {
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

  /** A draft re-priced: rewritten only when its document changed. */
  async repriceDraft(m: EntityManager, invoice: Pick<InvoiceRow, 'tenant' | 'invoice_id'>, document: Invoice): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.invoices SET document = $3, total = $4, amount_due = $5 WHERE tenant = $1 AND invoice_id = $2 AND document IS DISTINCT FROM $3::jsonb`,
      [invoice.tenant, invoice.invoice_id, JSON.stringify(document), document.total, document.amountDue],
    );
  }

  async markFinalized(m: EntityManager, invoice: Pick<InvoiceRow, 'tenant' | 'invoice_id'>, number: string, f: Finalization): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.invoices SET number = $3, status = $4, finalized_at = $5, due_at = $6, paid_at = $7 WHERE tenant = $1 AND invoice_id = $2`,
      [invoice.tenant, invoice.invoice_id, number, f.status, f.finalizedAt, f.dueAt, f.paidAt],
    );
  }

  async insertIssued(m: EntityManager, i: IssuedInvoice): Promise<InvoiceRow> {
    const [row] = await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.invoices (tenant, invoice_id, number, customer, subscription_id, period_start, period_end, currency, status, document, total, amount_due,
         finalized_at, due_at, paid_at, kind, threshold_level, threshold_amount)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING *`,
      [i.period.tenant, randomUUID(), i.number, i.period.customer, i.period.subscription_id, i.period.period_start, i.period.period_end, i.currency, i.finalization.status,
        JSON.stringify(i.document), i.document.total, i.document.amountDue, i.finalization.finalizedAt, i.finalization.dueAt, i.finalization.paidAt, i.kind,
        i.threshold?.level ?? null, i.threshold?.amount ?? null],
    );
    return row;
  }

  async markPaid(m: EntityManager, invoice: Pick<InvoiceRow, 'tenant' | 'invoice_id'>, paidAt: Date): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.invoices SET status = 'paid', paid_at = $3, next_payment_attempt_at = NULL WHERE tenant = $1 AND invoice_id = $2`, [invoice.tenant, invoice.invoice_id, paidAt]);
  }

  async markPaymentFailed(m: EntityManager, invoice: Pick<InvoiceRow, 'tenant' | 'invoice_id'>, attempts: number, failedAt: Date, next: Date | null): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.invoices SET status = 'payment_failed', payment_attempts = $3, last_payment_failed_at = $4, next_payment_attempt_at = $5
       WHERE tenant = $1 AND invoice_id = $2`,
      [invoice.tenant, invoice.invoice_id, attempts, failedAt, next],
    );
  }

  async markVoid(m: EntityManager, tenant: string, id: string): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.invoices SET status = 'void', next_payment_attempt_at = NULL WHERE tenant = $1 AND invoice_id = $2`, [tenant, id]);
  }

  // ---- periods -----------------------------------------------------------------------------------------

  /** Ended periods without an invoice or with a draft, oldest end first. */
  async periodsToClose(m: EntityManager, now: Date): Promise<Array<{ tenant: string; subscription_id: string; period_start: Date }>> {
    const s = schemaOf(m.connection);
    return m.query(
      `SELECT bp.tenant, bp.subscription_id, bp.period_start FROM ${s}.billing_periods bp
       LEFT JOIN ${s}.invoices i ON i.tenant = bp.tenant AND i.invoice_id = bp.invoice_id
       WHERE bp.period_end <= $1 AND (bp.invoice_id IS NULL OR i.status = 'draft') ORDER BY bp.period_end`,
      [now],
    );
  }

  /** The period locked for its close; null when another instance holds it. */
  async lockPeriodToClose(m: EntityManager, tenant: string, subscriptionId: string, periodStart: Date): Promise<BillingPeriodRow | null> {
    const [period] = await m.query(
      `SELECT * FROM ${schemaOf(m.connection)}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE SKIP LOCKED`,
      [tenant, subscriptionId, periodStart],
    );
    return period ?? null;
  }

  /** The running, not yet invoiced period of each of the customer's live subscriptions, oldest subscription first. */
  async runningPeriods(m: EntityManager, tenant: string, customer: string): Promise<BillingPeriodRow[]> {
    const s = schemaOf(m.connection);
    return m.query(
      `SELECT bp.* FROM ${s}.billing_periods bp JOIN ${s}.subscriptions sub ON sub.tenant = bp.tenant AND sub.subscription_id = bp.subscription_id
         AND sub.period_start = bp.period_start
       WHERE bp.tenant = $1 AND bp.customer = $2 AND sub.status <> 'canceled' AND bp.invoice_id IS NULL ORDER BY sub.created_at`,
      [tenant, customer],
    );
  }

  /**
   * The not yet invoiced periods of the customers whose plan bills progressively, locked in one statement in a
   * fixed order, so two batches never wait on each other crosswise.
   */
  async lockProgressivePeriods(m: EntityManager, customers: Array<{ tenant: string; customer: string }>): Promise<BillingPeriodRow[]> {
    const s = schemaOf(m.connection);
    return m.query(
      `SELECT bp.* FROM ${s}.billing_periods bp
       JOIN ${s}.plans p ON p.tenant = bp.tenant AND p.code = bp.plan_code AND p.version = bp.plan_version
       WHERE (bp.tenant, bp.customer) IN (SELECT * FROM unnest($1::text[], $2::text[])) AND bp.invoice_id IS NULL AND p.definition ? 'progressiveBilling'
       ORDER BY bp.tenant, bp.subscription_id, bp.period_start FOR UPDATE OF bp`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
    );
  }

  async progressiveBilled(m: EntityManager, period: Pick<BillingPeriodRow, 'tenant' | 'subscription_id' | 'period_start'>): Promise<ProgressiveBilled> {
    const [row] = await m.query(
      `SELECT (count(*) FILTER (WHERE status <> 'void'))::int AS invoices, COALESCE(max(threshold_level), 0)::int AS levels,
         max(threshold_amount)::text AS "highestThreshold",
         COALESCE(sum((document->>'subtotal')::numeric) FILTER (WHERE status <> 'void'), 0)::text AS billed
       FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND kind = 'progressive'`,
      [period.tenant, period.subscription_id, period.period_start],
    );
    return row;
  }

  /** Reads what one period's invoice is made of, from billing's own tables only; locks the customer's wallet in the currency. */
  async invoiceSources(
    m: EntityManager,
    period: BillingPeriodRow,
    loadPlan: (code: string, version: number) => Promise<PlanVersion | null>,
    customer: Customer,
    subscription: SubscriptionRow,
  ): Promise<InvoiceSources> {
    const s = schemaOf(m.connection);
    const plan = await loadPlan(period.plan_code, period.plan_version);
    if (!plan) throw new Error(`plan "${period.plan_code}" version ${period.plan_version} of the period is missing`);
    const previousPlan = period.plan_change ? await loadPlan(period.plan_change.previousPlan, period.plan_change.previousVersion) : null;
    if (period.plan_change && !previousPlan) throw new Error(`plan "${period.plan_change.previousPlan}" version ${period.plan_change.previousVersion} (before the plan change) is missing`);
    const usageRows: Array<{ meter: string; value: string; held_unit_days: string | null }> = await m.query(
      `SELECT meter, value::text, held_unit_days::text FROM ${s}.period_usage WHERE tenant = $1 AND customer = $2 AND period_start = $3`,
      [period.tenant, period.customer, period.period_start],
    );
    // Prorated charges (seats) bill the units held when the period opened too: the subscription's usage of the
    // meter in its earlier periods. Only for prorated meters, so no other invoice reads more.
    const proratedMeters = [...new Set([...plan.plan.charges, ...(previousPlan?.plan.charges ?? [])].filter(isProrated).map((c) => c.meter))];
    const openingRows: Array<{ meter: string; units: string }> =
      proratedMeters.length === 0
        ? []
        : await m.query(
            `SELECT pu.meter, sum(pu.value)::text AS units FROM ${s}.billing_periods bp
             JOIN ${s}.period_usage pu ON pu.tenant = bp.tenant AND pu.customer = bp.customer AND pu.period_start = bp.period_start
             WHERE bp.tenant = $1 AND bp.subscription_id = $2 AND bp.period_start < $3 AND pu.meter = ANY($4::text[])
             GROUP BY pu.meter`,
            [period.tenant, period.subscription_id, period.period_start, proratedMeters],
          );
    // Locked: two of the customer's invoices finalized at once must not both spend the same credits.
    const [wallet] = await m.query(
      `SELECT balance::text FROM ${s}.credit_wallets WHERE tenant = $1 AND customer = $2 AND currency = $3 FOR UPDATE`,
      [period.tenant, period.customer, subscription.currency],
    );
    // Usage that grew after its period was invoiced: the difference is billed on this invoice. A prorated charge
    // (billed held unit-days recorded) whose units or held unit-days moved: priced by Lago's difference below.
    const late: Array<{
      period_start: Date; period_end: Date; meter: string; invoiced: string; value: string; plan_code: string; plan_version: number;
      billed_held: string | null; billed_opening: string | null; held: string | null; opening_now: string | null;
      amount_meter: string | null; billed_amount_text: string | null; amount_now: string;
    }> = await m.query(
      `SELECT *, o::text AS opening_now FROM (
         SELECT iu.period_start, bp.period_end, iu.meter, iu.units AS units, iu.units::text AS invoiced, pu.value AS pv, COALESCE(pu.value, 0) AS v, COALESCE(pu.value, 0)::text AS value,
           bp.plan_code, bp.plan_version, iu.held_unit_days, iu.held_unit_days::text AS billed_held, iu.opening_units, iu.opening_units::text AS billed_opening,
           pu.held_unit_days::text AS held, COALESCE(pu.held_unit_days, 0) AS h, ${openingNowSql(s)} AS o,
           iu.amount_meter, iu.billed_amount, iu.billed_amount::text AS billed_amount_text, COALESCE(pa.value, 0) AS a, COALESCE(pa.value, 0)::text AS amount_now
         FROM ${s}.invoiced_usage iu
         JOIN ${s}.billing_periods bp ON bp.tenant = iu.tenant AND bp.subscription_id = iu.subscription_id AND bp.period_start = iu.period_start
         LEFT JOIN ${s}.period_usage pu ON pu.tenant = iu.tenant AND pu.customer = bp.customer AND pu.meter = iu.meter AND pu.period_start = iu.period_start
         LEFT JOIN ${s}.period_usage pa ON pa.tenant = iu.tenant AND pa.customer = bp.customer AND pa.meter = iu.amount_meter AND pa.period_start = iu.period_start
         WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start < $3) x
       -- Units priced by units: an increase with its period usage row. Prorated: any move of units, held unit-days or opening.
       -- Dynamic (billed amount recorded): any move of units or of the amount meter's usage.
       WHERE (held_unit_days IS NULL AND billed_amount IS NULL AND pv > units) OR (held_unit_days IS NOT NULL AND (v <> units OR h <> held_unit_days OR o <> opening_units))
          OR (billed_amount IS NOT NULL AND (v <> units OR a <> billed_amount))
       ORDER BY period_start, meter`,
      [period.tenant, period.subscription_id, period.period_start],
    );
    const progressive = await this.progressiveBilled(m, period);
    const lateUsage: InvoiceSources['lateUsage'] = [];
    const lateProrated: NonNullable<InvoiceSources['lateProrated']> = [];
    const lateDynamic: NonNullable<InvoiceSources['lateDynamic']> = [];
    for (const l of late) {
      const charge = (await loadPlan(l.plan_code, l.plan_version))?.plan.charges.find((c) => c.meter === l.meter);
      if (charge && isProrated(charge) && l.billed_held !== null) {
        // What costs more is billed here, and a change that costs nothing as a 0.00 line (so it counts as billed);
        // less is credited by the corrections job (credit note).
        const nominal = nominalPeriodContaining(periodRuleOf(subscription), l.period_start);
        const correction = proratedCorrection(
          charge,
          { units: l.invoiced, heldUnitDays: l.billed_held, openingUnits: l.billed_opening ?? '0' },
          { units: l.value, heldUnitDays: l.held, openingUnits: l.opening_now ?? '0' },
          { nominal, active: { start: l.period_start, end: l.period_end }, timeZone: customer.timezone },
          l.period_start,
        );
        if (correction && !correction.amount.isNegative()) lateProrated.push({ ...correction, periodStart: l.period_start, code: charge.code ?? charge.meter });
        continue;
      }
      if (charge && l.amount_meter !== null && l.billed_amount_text !== null) {
        // The same for a dynamic charge, re-priced with its amount meter's usage: more (or no change of price) here, less credited.
        const correction = dynamicCorrection(charge, l.amount_meter, { units: l.invoiced, amount: l.billed_amount_text }, { units: l.value, amount: l.amount_now }, l.period_start);
        if (correction && !correction.amount.isNegative()) lateDynamic.push({ ...correction, periodStart: l.period_start, code: charge.code ?? charge.meter });
        continue;
      }
      // A dynamic charge finalized before its billed amount was recorded is not re-priced (README).
      if (charge && pricedByUnits(charge) && new Dec(l.value).gt(l.invoiced)) lateUsage.push({ periodStart: l.period_start, meter: l.meter, units: l.value, invoicedUnits: l.invoiced, charge });
    }
    return {
      customer,
      plan,
      previousPlan,
      subscription,
      usage: new Map(usageRows.map((r) => [r.meter, r.value])),
      heldUnitDays: new Map(usageRows.map((r) => [r.meter, r.held_unit_days])),
      openingUnits: new Map(openingRows.map((r) => [r.meter, r.units])),
      creditBalance: wallet?.balance ?? '0',
      lateUsage,
      lateProrated,
      lateDynamic,
      progressive: { invoices: progressive.invoices, billed: progressive.billed },
    };
  }

  // ---- billed units ------------------------------------------------------------------------------------

  /** What the period's invoice billed per meter, so usage that arrives later is billed as the difference. */
  async recordInvoicedUsage(
    m: EntityManager,
    period: PeriodKey,
    meters: string[],
    units: string[],
    /** Per meter, for prorated charges only (else null): the held unit-days and opening units billed. */
    proration: Array<{ heldUnitDays: string; openingUnits: string } | null> = meters.map(() => null),
    /** Per meter, for dynamic charges only (else null): the amount meter and its period usage billed. */
    dynamic: Array<{ amountMeter: string; amount: string } | null> = meters.map(() => null),
  ): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.invoiced_usage (tenant, subscription_id, period_start, meter, units, held_unit_days, opening_units, amount_meter, billed_amount)
       SELECT $1, $2, $3, t.meter, t.units, t.held, t.opening, t.amount_meter, t.amount
       FROM unnest($4::text[], $5::numeric[], $6::numeric[], $7::numeric[], $8::text[], $9::numeric[]) AS t(meter, units, held, opening, amount_meter, amount)
       ON CONFLICT (tenant, subscription_id, period_start, meter) DO UPDATE
         SET units = excluded.units, held_unit_days = excluded.held_unit_days, opening_units = excluded.opening_units,
           amount_meter = excluded.amount_meter, billed_amount = excluded.billed_amount`,
      [period.tenant, period.subscription_id, period.period_start, meters, units, proration.map((p) => p?.heldUnitDays ?? null), proration.map((p) => p?.openingUnits ?? null),
        dynamic.map((d) => d?.amountMeter ?? null), dynamic.map((d) => d?.amount ?? null)],
    );
  }

  /** Late units billed for an earlier period: added to what that period's invoices billed (by the difference: a credit note may have changed the row meanwhile). */
  async addInvoicedUnits(
    m: EntityManager,
    period: Pick<PeriodKey, 'tenant' | 'subscription_id' | 'period_start'>,
    meter: string,
    units: string,
    /** A prorated charge's changes of held unit-days and opening billed with the units. */
    proration: { heldUnitDays: string; openingUnits: string } | null = null,
    /** A dynamic charge's change of its amount meter's usage billed with the units. */
    amountUsage: string | null = null,
  ): Promise<void> {
    await m.query(
      `UPDATE ${schemaOf(m.connection)}.invoiced_usage SET units = units + $5,
         held_unit_days = CASE WHEN $6::numeric IS NULL THEN held_unit_days ELSE held_unit_days + $6::numeric END,
         opening_units = CASE WHEN $7::numeric IS NULL THEN opening_units ELSE opening_units + $7::numeric END,
         billed_amount = CASE WHEN $8::numeric IS NULL THEN billed_amount ELSE billed_amount + $8::numeric END
       WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 AND meter = $4`,
      [period.tenant, period.subscription_id, period.period_start, meter, units, proration?.heldUnitDays ?? null, proration?.openingUnits ?? null, amountUsage],
    );
  }

  /** The ledger of billed units that reconciliation sums (ADR 0006), one row per document, period and meter; a repeat is a no-op. */
  async recordBilledUsage(m: EntityManager, period: PeriodKey, kind: 'invoice' | 'adjustment', documentId: string, meters: string[], units: string[]): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.billed_usage (tenant, customer, subscription_id, period_start, meter, document_kind, document_id, units)
       SELECT $1, $2, $3, $4, t.meter, $5, $6, t.units FROM unnest($7::text[], $8::numeric[]) AS t(meter, units) ON CONFLICT DO NOTHING`,
      [period.tenant, period.customer, period.subscription_id, period.period_start, kind, documentId, meters, units],
    );
  }

  // ---- credits -----------------------------------------------------------------------------------------

  /** The prepaid credits an invoice used (creditWalletChange): the wallet's new balance and a transaction `invoice <number>`. */
  async recordCreditsUsed(m: EntityManager, invoice: { tenant: string; customer: string; currency: string; invoiceId: string; number: string }, change: { balance: string; amount: string }): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.credit_wallets (tenant, customer, currency, balance) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant, customer, currency) DO UPDATE SET balance = excluded.balance`,
      [invoice.tenant, invoice.customer, invoice.currency, change.balance],
    );
    await this.creditTransaction(m, { tenant: invoice.tenant, customer: invoice.customer, currency: invoice.currency, amount: change.amount, reason: `invoice ${invoice.number}`, invoiceId: invoice.invoiceId });
  }

  /** Adds to the wallet (creating it); the new balance. */
  async addToWallet(m: EntityManager, tenant: string, customer: string, currency: string, amount: string): Promise<string> {
    const [wallet] = await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.credit_wallets (tenant, customer, currency, balance) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant, customer, currency) DO UPDATE SET balance = credit_wallets.balance + excluded.balance RETURNING balance::text`,
      [tenant, customer, currency, amount],
    );
    return wallet.balance;
  }

  async creditTransaction(m: EntityManager, t: { tenant: string; customer: string; currency: string; amount: string; reason: string; invoiceId?: string }): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.credit_transactions (tenant, customer, currency, amount, reason, invoice_id) VALUES ($1, $2, $3, $4, $5, $6)`,
      [t.tenant, t.customer, t.currency, t.amount, t.reason, t.invoiceId ?? null],
    );
  }

  async wallets(m: EntityManager, tenant: string, customer: string): Promise<Array<{ currency: string; balance: string }>> {
    return m.query(`SELECT currency, balance::text FROM ${schemaOf(m.connection)}.credit_wallets WHERE tenant = $1 AND customer = $2 ORDER BY currency`, [tenant, customer]);
  }

  /** Serializes the requests of one credit-grant idempotency key, and answers the first one's record if any. */
  async lockGrantKey(m: EntityManager, tenant: string, key: string): Promise<{ fingerprint: string; response: string } | null> {
    const s = schemaOf(m.connection);
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${s}:idempotency:${tenant}:credit-grant:${key}`]);
    const [prior] = await m.query(`SELECT fingerprint, response FROM ${s}.idempotency_keys WHERE tenant = $1 AND operation = 'credit-grant' AND key = $2`, [tenant, key]);
    return prior ?? null;
  }

  async rememberGrant(m: EntityManager, tenant: string, key: string, fingerprint: string, response: unknown): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.idempotency_keys (tenant, operation, key, fingerprint, status, response) VALUES ($1, 'credit-grant', $2, $3, 201, $4)`,
      [tenant, key, fingerprint, JSON.stringify(response)],
    );
  }

  // ---- payments and standing ---------------------------------------------------------------------------

  async appliedPayment(m: EntityManager, tenant: string, paymentId: string): Promise<{ customer: string; invoiceId: string; outcome: string; amount: string } | null> {
    const [seen] = await m.query(`SELECT customer, invoice_id, outcome, amount::text FROM ${schemaOf(m.connection)}.applied_payments WHERE tenant = $1 AND payment_id = $2`, [tenant, paymentId]);
    return seen ? { customer: seen.customer, invoiceId: seen.invoice_id, outcome: seen.outcome, amount: seen.amount } : null;
  }

  async rememberPayment(m: EntityManager, p: { tenant: string; paymentId: string; customer: string; invoiceId: string; outcome: string; amount: string; occurredAt: string }): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.applied_payments (tenant, payment_id, customer, invoice_id, outcome, amount, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      [p.tenant, p.paymentId, p.customer, p.invoiceId, p.outcome, p.amount, p.occurredAt],
    );
  }

  /** Accounts dunning must look at: with open invoices, or not in good standing. */
  async accountsToReevaluate(m: EntityManager): Promise<Array<{ tenant: string; customer: string }>> {
    const s = schemaOf(m.connection);
    return m.query(
      `SELECT DISTINCT c.tenant, c.customer_id AS customer FROM ${s}.customers c
       LEFT JOIN ${s}.invoices i ON i.tenant = c.tenant AND i.customer = c.customer_id AND i.status IN ('finalized', 'payment_failed')
       WHERE i.invoice_id IS NOT NULL OR c.account_status <> 'good_standing'`,
    );
  }

  /** The customer's standing, its row locked; null when there is no customer. */
  async lockStanding(m: EntityManager, tenant: string, customer: string): Promise<AccountStatusChanged['status'] | null> {
    const [current] = await m.query(`SELECT account_status FROM ${schemaOf(m.connection)}.customers WHERE tenant = $1 AND customer_id = $2 FOR UPDATE`, [tenant, customer]);
    return current?.account_status ?? null;
  }

  async openInvoices(m: EntityManager, tenant: string, customer: string): Promise<UnpaidInvoice[]> {
    const rows: Array<{ status: 'finalized' | 'payment_failed'; due_at: Date; last_payment_failed_at: Date | null }> = await m.query(
      `SELECT status, due_at, last_payment_failed_at FROM ${schemaOf(m.connection)}.invoices WHERE tenant = $1 AND customer = $2 AND status IN ('finalized', 'payment_failed')`,
      [tenant, customer],
    );
    return rows.map((u) => ({ status: u.status, dueAt: u.due_at, lastPaymentFailedAt: u.last_payment_failed_at }));
  }

  async setStanding(m: EntityManager, tenant: string, customer: string, status: AccountStatusChanged['status']): Promise<void> {
    await m.query(`UPDATE ${schemaOf(m.connection)}.customers SET account_status = $3 WHERE tenant = $1 AND customer_id = $2`, [tenant, customer, status]);
  }
}
