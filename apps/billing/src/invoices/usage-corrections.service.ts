import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Gauge, register } from 'prom-client';
import { customerKey, TOPICS, type CreditNoteIssued } from '@tally/contracts';
import { OutboxPublisher, problem, SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { composeInvoice, Dec, priceCharge } from '@tally/pricing';
import { billingSettings, type BillingSettings } from '../billing-config';
import { CatalogRepository, type PlanVersion } from '../catalog/catalog.repository';
import type { PlanDefinition } from '../catalog/plan-definition';
import { finalization } from '../domain/invoice-lifecycle';
import { correctionDirection, correctionRoute, creditNoteFor, creditNoteNumber, lateUsageLine, reconcile, type CreditNoteDocument } from '../domain/usage-corrections';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { invoiceEvent, InvoiceRepository, type InvoiceRow } from './invoice.repository';

type Emit = (event: OutgoingEvent) => void;
type Charge = PlanDefinition['charges'][number];

export const reconciliationMismatches =
  (register.getSingleMetric('tally_billing_reconciliation_mismatches') as Gauge | undefined) ??
  new Gauge({
    name: 'tally_billing_reconciliation_mismatches',
    help: 'Closed periods and meters (all tenants) whose usage differs from the units invoiced (invoice + adjustments − credit notes), by state, at the last correction run',
    labelNames: ['state'],
  });

export interface CreditNoteView {
  id: string;
  number: string;
  customer: string;
  subscriptionId: string;
  invoiceId: string;
  periodStart: string;
  periodEnd: string;
  reason: 'usage_decreased';
  currency: string;
  issuedAt: string;
  document: CreditNoteDocument;
}

interface CreditNoteRow {
  tenant: string;
  credit_note_id: string;
  number: string;
  customer: string;
  subscription_id: string;
  invoice_id: string;
  period_start: Date;
  period_end: Date;
  reason: 'usage_decreased';
  currency: string;
  document: CreditNoteDocument;
  issued_at: Date;
}

export interface ReconciliationMismatch {
  customer: string;
  subscriptionId: string;
  invoiceId: string;
  periodStart: string;
  periodEnd: string;
  meter: string;
  ledgerUnits: string;
  invoicedUnits: string;
  difference: string;
  state: 'pending_next_invoice' | 'unbilled' | 'overbilled';
}

interface ReconciliationRowSql {
  tenant: string;
  customer: string;
  subscription_id: string;
  invoice_id: string;
  period_start: Date;
  period_end: Date;
  meter: string;
  invoiced: string;
  ledger: string;
  later: boolean;
}

/** Periods whose invoice is final (not void): what reconciliation and corrections look at. */
const closedPeriodsSql = (s: string, where: string) => `
  SELECT bp.tenant, bp.customer, bp.subscription_id, bp.period_start, bp.period_end, bp.invoice_id, bp.plan_code, bp.plan_version, bp.plan_change
  FROM ${s}.billing_periods bp JOIN ${s}.invoices i ON i.tenant = bp.tenant AND i.invoice_id = bp.invoice_id
  WHERE i.status NOT IN ('draft', 'void') AND ${where}`;

/**
 * Whether a later period of the subscription is still to be finalized (it will bill late units as an adjustment):
 * one exists, or the subscription runs on and will renew. The second matters for a period closed before the roll
 * job started the next one (a backdated subscription created between the roll and the close of a job run): its
 * next invoice is certain, so an increase waits for it instead of getting an adjustment invoice of its own.
 */
const laterPeriodSql = (s: string, alias: string) => `(EXISTS (
  SELECT 1 FROM ${s}.billing_periods n LEFT JOIN ${s}.invoices ni ON ni.tenant = n.tenant AND ni.invoice_id = n.invoice_id
  WHERE n.tenant = ${alias}.tenant AND n.subscription_id = ${alias}.subscription_id AND n.period_start > ${alias}.period_start
    AND (n.invoice_id IS NULL OR ni.status = 'draft'))
  OR EXISTS (SELECT 1 FROM ${s}.subscriptions sub WHERE sub.tenant = ${alias}.tenant AND sub.subscription_id = ${alias}.subscription_id
    AND sub.status IN ('active', 'paused') AND NOT sub.cancel_at_period_end))`;

/**
 * Usage that changes after its period's invoice is final (ADR 0006): a decrease becomes a credit note against
 * that invoice, at once (its total goes to the customer's credit wallet); an increase is billed on the
 * subscription's next invoice as an adjustment (InvoiceService's finalize), or, when nothing of the subscription is left
 * to invoice (canceled), on an adjustment invoice of its own. Every document records the units it billed per
 * period and meter in `billed_usage`, which reconciliation compares with period usage.
 */
@Injectable()
export class UsageCorrectionsService {
  private readonly settings: BillingSettings;
  private readonly invoiceRows = new InvoiceRepository();

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly catalog: CatalogRepository,
    private readonly numbering: InvoiceNumberingRepository,
    private readonly failures: JobFailuresService,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  /** The job: one transaction per finalized period whose usage moved; failures isolated like every job's. */
  async correctFinalizedPeriods(now = new Date()): Promise<{ creditNotes: number; adjustmentInvoices: number; failed: number }> {
    const backingOff = await this.failures.backingOff('correct-usage', now);
    const due: Array<{ tenant: string; subscription_id: string; period_start: Date }> = await this.outbox.inTransaction((m) => {
      const s = schemaOf(m.connection);
      return m.query(
        `SELECT DISTINCT c.tenant, c.subscription_id, c.period_start FROM (${closedPeriodsSql(s, 'true')}) c
         JOIN ${s}.invoiced_usage iu ON iu.tenant = c.tenant AND iu.subscription_id = c.subscription_id AND iu.period_start = c.period_start
         LEFT JOIN ${s}.period_usage pu ON pu.tenant = c.tenant AND pu.customer = c.customer AND pu.meter = iu.meter AND pu.period_start = c.period_start
         WHERE COALESCE(pu.value, 0) <> iu.units
           -- An increase the next invoice will bill is not this job's.
           AND NOT (COALESCE(pu.value, 0) > iu.units AND ${laterPeriodSql(s, 'c')})
         ORDER BY c.period_start`,
      );
    });
    const result = { creditNotes: 0, adjustmentInvoices: 0, failed: 0 };
    for (const d of due) {
      const key = `${d.subscription_id}@${d.period_start.toISOString()}`;
      if (backingOff.has(failureId(d.tenant, key))) continue;
      const item = { tenant: d.tenant, key, item: { subscriptionId: d.subscription_id, periodStart: d.period_start.toISOString() } };
      const outcome = await this.failures.run('correct-usage', item, now, (m, emit) => this.correctPeriod(m, emit, d.tenant, d.subscription_id, d.period_start, now));
      if (!outcome.ok) result.failed++;
      else {
        if (outcome.value.creditNote) result.creditNotes++;
        if (outcome.value.adjustmentInvoice) result.adjustmentInvoices++;
      }
    }
    await this.refreshGauge();
    await this.failures.refreshGauge();
    return result;
  }

  private async correctPeriod(m: EntityManager, emit: Emit, tenant: string, subscriptionId: string, periodStart: Date, now: Date): Promise<{ creditNote: boolean; adjustmentInvoice: boolean }> {
    const s = schemaOf(m.connection);
    // The period's row lock orders this with its close; the invoiced_usage rows' locks with the next invoice's finalization.
    const [period]: Array<{ tenant: string; customer: string; subscription_id: string; period_start: Date; period_end: Date; invoice_id: string; plan_code: string; plan_version: number;
      plan_change: { previousPlan: string; previousVersion: number } | null; later: boolean }> = await m.query(
      `SELECT c.*, ${laterPeriodSql(s, 'c')} AS later FROM (${closedPeriodsSql(s, 'bp.tenant = $1 AND bp.subscription_id = $2 AND bp.period_start = $3')}) c`,
      [tenant, subscriptionId, periodStart],
    );
    if (!period) return { creditNote: false, adjustmentInvoice: false };
    await m.query(`SELECT 1 FROM ${s}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE`, [tenant, subscriptionId, periodStart]);
    const usage: Array<{ meter: string; billed: string; ledger: string }> = await m.query(
      `SELECT iu.meter, iu.units::text AS billed, COALESCE(pu.value, 0)::text AS ledger FROM ${s}.invoiced_usage iu
       LEFT JOIN ${s}.period_usage pu ON pu.tenant = iu.tenant AND pu.customer = $4 AND pu.meter = iu.meter AND pu.period_start = iu.period_start
       WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start = $3 ORDER BY iu.meter FOR UPDATE OF iu`,
      [tenant, subscriptionId, periodStart, period.customer],
    );
    const customer = await this.catalog.customer(tenant, period.customer, m);
    if (!customer) throw new Error(`customer "${period.customer}" of the period is missing`);
    const plan = await this.plan(m, tenant, period.plan_code, period.plan_version);
    const previous = period.plan_change ? await this.plan(m, tenant, period.plan_change.previousPlan, period.plan_change.previousVersion) : null;
    const chargeOf = (meter: string): Charge | undefined => plan.plan.charges.find((c) => c.meter === meter) ?? previous?.plan.charges.find((c) => c.meter === meter);
    const routed = usage.map((u) => ({ ...u, charge: chargeOf(u.meter), route: correctionRoute(correctionDirection(u.billed, u.ledger), period.later) }));

    const decreases = routed.filter((u) => u.route === 'credit_note' && u.charge);
    let creditNote = false;
    if (decreases.length > 0) {
      const document = creditNoteFor(
        decreases.map((u) => ({ meter: u.meter, code: u.charge!.code ?? u.meter, charge: u.charge!, billedUnits: u.billed, ledgerUnits: u.ledger })),
        plan.plan.currency,
        customer.taxRate,
        priceCharge,
      );
      await this.issueCreditNote(m, emit, period, document, now);
      creditNote = true;
    }
    const increases = routed.filter((u) => u.route === 'adjustment_invoice' && u.charge);
    let adjustmentInvoice = false;
    if (increases.length > 0) {
      await this.issueAdjustmentInvoice(m, emit, period, customer.timezone, customer.taxRate, plan.plan.currency, increases.map((u) => ({ ...u, charge: u.charge! })), now);
      adjustmentInvoice = true;
    }
    return { creditNote, adjustmentInvoice };
  }

  private async plan(m: EntityManager, tenant: string, code: string, version: number): Promise<PlanVersion> {
    const plan = await this.catalog.plan(tenant, code, version, m);
    if (!plan) throw new Error(`plan "${code}" version ${version} of the period is missing`);
    return plan;
  }

  private async issueCreditNote(
    m: EntityManager,
    emit: Emit,
    period: { tenant: string; customer: string; subscription_id: string; period_start: Date; period_end: Date; invoice_id: string },
    document: CreditNoteDocument,
    now: Date,
  ): Promise<void> {
    const s = schemaOf(m.connection);
    const [seq] = await m.query(
      `INSERT INTO ${s}.credit_note_numbers (tenant, last) VALUES ($1, 1) ON CONFLICT (tenant) DO UPDATE SET last = credit_note_numbers.last + 1 RETURNING last`,
      [period.tenant],
    );
    const number = creditNoteNumber(seq.last);
    const id = randomUUID();
    const [invoice]: InvoiceRow[] = await m.query(`SELECT * FROM ${s}.invoices WHERE tenant = $1 AND invoice_id = $2`, [period.tenant, period.invoice_id]);
    await m.query(
      `INSERT INTO ${s}.credit_notes (tenant, credit_note_id, number, customer, subscription_id, invoice_id, period_start, period_end, reason, currency, document, total, issued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'usage_decreased', $9, $10, $11, $12)`,
      [period.tenant, id, number, period.customer, period.subscription_id, period.invoice_id, period.period_start, period.period_end, document.currency, JSON.stringify(document), document.total, now],
    );
    await this.recordBilled(m, period, 'credit_note', id, document.lines.map((l) => ({ meter: l.meter, units: l.units })));
    // Money back goes to the customer's prepaid credits, used by the next invoices (refunds are not modelled).
    if (new Dec(document.total).gt(0)) {
      await m.query(
        `INSERT INTO ${s}.credit_wallets (tenant, customer, currency, balance) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant, customer, currency) DO UPDATE SET balance = credit_wallets.balance + excluded.balance`,
        [period.tenant, period.customer, document.currency, document.total],
      );
      await m.query(
        `INSERT INTO ${s}.credit_transactions (tenant, customer, currency, amount, reason, invoice_id) VALUES ($1, $2, $3, $4, $5, $6)`,
        [period.tenant, period.customer, document.currency, document.total, `credit note ${number}`, period.invoice_id],
      );
    }
    const event: CreditNoteIssued = {
      eventId: randomUUID(),
      occurredAt: now.toISOString(),
      tenant: period.tenant,
      customer: period.customer,
      creditNoteId: id,
      number,
      invoiceId: period.invoice_id,
      invoiceNumber: invoice.number,
      subscriptionId: period.subscription_id,
      periodStart: period.period_start.toISOString(),
      periodEnd: period.period_end.toISOString(),
      reason: 'usage_decreased',
      currency: document.currency,
      lines: document.lines.map((l) => ({ meter: l.meter, code: l.code, description: l.description, units: l.units, amount: l.amount })),
      subtotal: document.subtotal,
      tax: document.tax,
      total: document.total,
    };
    emit({ topic: TOPICS.billingCreditNotes, key: customerKey(period.tenant, period.customer), value: event });
  }

  /** Late units of a period nothing else will invoice: an invoice of its own, finalized at once, with the period's bounds. */
  private async issueAdjustmentInvoice(
    m: EntityManager,
    emit: Emit,
    period: { tenant: string; customer: string; subscription_id: string; period_start: Date; period_end: Date },
    timeZone: string,
    taxRatePercent: string,
    currency: string,
    increases: Array<{ meter: string; billed: string; ledger: string; charge: Charge }>,
    now: Date,
  ): Promise<void> {
    const document = composeInvoice(
      {
        currency,
        period: { start: period.period_start, end: period.period_end, timeZone },
        charges: [],
        adjustments: increases.map((u) =>
          lateUsageLine({ meter: u.meter, code: u.charge.code ?? u.meter, charge: u.charge, billedUnits: u.billed, ledgerUnits: u.ledger, periodStart: period.period_start }, priceCharge),
        ),
        taxRatePercent,
      },
      priceCharge,
    );
    const number = await this.numbering.next(m, period.tenant, now, timeZone);
    const row = await this.invoiceRows.insertIssued(m, {
      period, kind: 'adjustment', number, currency, document, finalization: finalization(document.amountDue, now, this.settings.PAYMENT_TERMS_DAYS),
    });
    await this.recordBilled(m, period, 'adjustment', row.invoice_id, increases.map((u) => ({ meter: u.meter, units: new Dec(u.ledger).minus(u.billed).toFixed() })));
    emit(invoiceEvent(row, now));
  }

  /** The units a document billed (negative for a credit note), in the ledger of billed units, and in what later corrections diff against. */
  private async recordBilled(
    m: EntityManager,
    period: { tenant: string; customer: string; subscription_id: string; period_start: Date },
    kind: 'adjustment' | 'credit_note',
    documentId: string,
    lines: Array<{ meter: string; units: string }>,
  ): Promise<void> {
    const s = schemaOf(m.connection);
    await m.query(
      `INSERT INTO ${s}.billed_usage (tenant, customer, subscription_id, period_start, meter, document_kind, document_id, units)
       SELECT $1, $2, $3, $4, t.meter, $5, $6, t.units FROM unnest($7::text[], $8::numeric[]) AS t(meter, units)`,
      [period.tenant, period.customer, period.subscription_id, period.period_start, kind, documentId, lines.map((l) => l.meter), lines.map((l) => l.units)],
    );
    await m.query(
      `UPDATE ${s}.invoiced_usage iu SET units = iu.units + t.units FROM unnest($4::text[], $5::numeric[]) AS t(meter, units)
       WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start = $3 AND iu.meter = t.meter`,
      [period.tenant, period.subscription_id, period.period_start, lines.map((l) => l.meter), lines.map((l) => l.units)],
    );
  }

  async creditNotes(tenant: string, customer: string): Promise<CreditNoteView[]> {
    const rows: CreditNoteRow[] = await this.outbox.inTransaction((m) =>
      m.query(`SELECT * FROM ${schemaOf(m.connection)}.credit_notes WHERE tenant = $1 AND customer = $2 ORDER BY issued_at DESC, number DESC`, [tenant, customer]),
    );
    return rows.map(creditNoteView);
  }

  async creditNote(tenant: string, id: string): Promise<CreditNoteView> {
    const [row]: CreditNoteRow[] = await this.outbox.inTransaction((m) =>
      m.query(`SELECT * FROM ${schemaOf(m.connection)}.credit_notes WHERE tenant = $1 AND credit_note_id = $2`, [tenant, id]),
    );
    if (!row) throw problem(404, `no credit note "${id}"`);
    return creditNoteView(row);
  }

  /**
   * For every customer and closed period (its invoice final, not void) overlapping [from, to), per meter the
   * invoice charged: the ledger's units (billing's newest copy of aggregation's period usage) against the units
   * invoiced (the invoice's quantity, plus adjustments, minus credit notes).
   */
  async reconciliation(tenant: string | null, from: Date, to: Date): Promise<{ checked: number; mismatches: ReconciliationMismatch[] }> {
    const rows: ReconciliationRowSql[] = await this.outbox.inTransaction((m) => {
      const s = schemaOf(m.connection);
      return m.query(
        `WITH closed AS (${closedPeriodsSql(s, '($1::text IS NULL OR bp.tenant = $1) AND bp.period_end > $2 AND bp.period_start < $3')}),
         billed AS (
           SELECT b.tenant, b.subscription_id, b.period_start, b.meter, sum(b.units) AS units FROM ${s}.billed_usage b
           JOIN closed c ON c.tenant = b.tenant AND c.subscription_id = b.subscription_id AND c.period_start = b.period_start
           GROUP BY b.tenant, b.subscription_id, b.period_start, b.meter)
         SELECT c.tenant, c.customer, c.subscription_id, c.invoice_id, c.period_start, c.period_end, b.meter, b.units::text AS invoiced,
           COALESCE(pu.value, 0)::text AS ledger, ${laterPeriodSql(s, 'c')} AS later
         FROM closed c JOIN billed b ON b.tenant = c.tenant AND b.subscription_id = c.subscription_id AND b.period_start = c.period_start
         LEFT JOIN ${s}.period_usage pu ON pu.tenant = c.tenant AND pu.customer = c.customer AND pu.meter = b.meter AND pu.period_start = c.period_start
         ORDER BY c.customer, c.period_start, b.meter`,
        [tenant, from, to],
      );
    });
    const mismatches: ReconciliationMismatch[] = [];
    for (const r of rows) {
      const outcome = reconcile({ ledgerUnits: r.ledger, invoicedUnits: r.invoiced, laterPeriodToInvoice: r.later });
      if (outcome.matches) continue;
      mismatches.push({
        customer: r.customer,
        subscriptionId: r.subscription_id,
        invoiceId: r.invoice_id,
        periodStart: r.period_start.toISOString(),
        periodEnd: r.period_end.toISOString(),
        meter: r.meter,
        ledgerUnits: new Dec(r.ledger).toFixed(),
        invoicedUnits: new Dec(r.invoiced).toFixed(),
        difference: outcome.difference,
        state: outcome.state,
      });
    }
    return { checked: rows.length, mismatches };
  }

  /** The gauge over every tenant's closed periods. */
  async refreshGauge(): Promise<void> {
    const { mismatches } = await this.reconciliation(null, new Date(0), new Date(8_640_000_000_000_000));
    for (const state of ['pending_next_invoice', 'unbilled', 'overbilled'] as const) reconciliationMismatches.set({ state }, mismatches.filter((x) => x.state === state).length);
  }
}

function creditNoteView(row: CreditNoteRow): CreditNoteView {
  return {
    id: row.credit_note_id,
    number: row.number,
    customer: row.customer,
    subscriptionId: row.subscription_id,
    invoiceId: row.invoice_id,
    periodStart: row.period_start.toISOString(),
    periodEnd: row.period_end.toISOString(),
    reason: row.reason,
    currency: row.currency,
    issuedAt: row.issued_at.toISOString(),
    document: row.document,
  };
}
