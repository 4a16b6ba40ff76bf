import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { Gauge, register } from 'prom-client';
import { customerKey, TOPICS } from '@tally/contracts';
import { OutboxPublisher, problem, SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { composeInvoice, Dec, priceCharge } from '@tally/pricing';
import { billingSettings, type BillingSettings } from '../billing-config';
import { CatalogRepository, type PlanVersion } from '../catalog/catalog.repository';
import { pricedByUnits } from '../catalog/dynamic-charge';
import type { PlanDefinition } from '../catalog/plan-definition';
import { finalization } from '../domain/invoice-lifecycle';
import { isProrated } from '../catalog/prorated-charge';
import { nominalPeriodContaining } from '../domain/billing-periods';
import { dynamicCorrection, type DynamicCorrection } from '../domain/dynamic-usage';
import { proratedCorrection, type ProratedCorrection } from '../domain/prorated-usage';
import { correctionDirection, correctionRoute, creditNoteFor, creditNoteIssued, creditNoteNumber, lateUsageLine, proratedCreditNoteLine, reconcile, type CreditNoteDocument } from '../domain/usage-corrections';
import { SubscriptionService } from '../subscriptions/subscription.service';
import { periodRuleOf } from '../subscriptions/subscription.repository';
import { failureId, JobFailuresService } from '../jobs/job-failures.service';
import { InvoiceNumberingRepository } from './invoice-numbering.repository';
import { invoiceEvent, InvoiceRepository } from './invoice.repository';
import { UsageCorrectionsRepository, type ClosedPeriodRow, type ClosedPeriodUsage, type CreditNoteRow } from './usage-corrections.repository';

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
  private readonly repo = new UsageCorrectionsRepository();

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly catalog: CatalogRepository,
    private readonly numbering: InvoiceNumberingRepository,
    private readonly failures: JobFailuresService,
    private readonly subscriptions: SubscriptionService,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = billingSettings(config);
  }

  /** The job: one transaction per finalized period whose usage moved; failures isolated like every job's. */
  async correctFinalizedPeriods(now = new Date()): Promise<{ creditNotes: number; adjustmentInvoices: number; failed: number }> {
    const backingOff = await this.failures.backingOff('correct-usage', now);
    const due = await this.outbox.inTransaction((m) => this.repo.periodsToCorrect(m));
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
    const closed = await this.repo.lockClosedPeriod(m, tenant, subscriptionId, periodStart);
    if (!closed) return { creditNote: false, adjustmentInvoice: false };
    const { period, usage } = closed;
    const customer = await this.catalog.customer(tenant, period.customer, m);
    if (!customer) throw new Error(`customer "${period.customer}" of the period is missing`);
    const plan = await this.plan(m, tenant, period.plan_code, period.plan_version);
    const previous = period.plan_change ? await this.plan(m, tenant, period.plan_change.previousPlan, period.plan_change.previousVersion) : null;
    // A dynamic charge's price follows its amount meter, not its units: re-priced below, or (finalized before its
    // billed amount was recorded) not at all (README).
    const chargeOf = (meter: string): Charge | undefined => {
      const charge = plan.plan.charges.find((c) => c.meter === meter) ?? previous?.plan.charges.find((c) => c.meter === meter);
      return charge && pricedByUnits(charge) ? charge : undefined;
    };
    const routed = usage.map((u) => ({ ...u, charge: chargeOf(u.meter), route: correctionRoute(correctionDirection(u.billed, u.ledger), period.later) }));
    // Prorated charges by Lago's price difference: less is credited, more billed by the next invoice, or by an
    // adjustment invoice when none is left.
    const prorated = await this.proratedCorrections(m, period, usage, [plan, previous], customer.timezone);
    const proratedCredits = prorated.filter((p) => p.amount.isNegative());
    // A change that costs nothing goes the way of an increase (a 0.00 line) so that its units count as billed.
    const proratedIncreases = prorated.filter((p) => !p.amount.isNegative() && !period.later);
    // Dynamic charges the same way, re-priced with their amount meter's usage.
    const dynamic = this.dynamicCorrections(period, usage, [plan, previous]);
    const dynamicCredits = dynamic.filter((d) => d.amount.isNegative());
    const dynamicIncreases = dynamic.filter((d) => !d.amount.isNegative() && !period.later);

    const decreases = routed.filter((u) => u.route === 'credit_note' && u.charge);
    let creditNote = false;
    if (decreases.length > 0 || proratedCredits.length > 0 || dynamicCredits.length > 0) {
      const document = creditNoteFor(
        decreases.map((u) => ({ meter: u.meter, code: u.charge!.code ?? u.meter, charge: u.charge!, billedUnits: u.billed, ledgerUnits: u.ledger })),
        plan.plan.currency,
        customer.taxRate,
        priceCharge,
        [...proratedCredits, ...dynamicCredits].map((p) => proratedCreditNoteLine({ ...p, credit: p.amount.negated() }, plan.plan.currency)),
      );
      await this.issueCreditNote(m, emit, period, document, now, new Map<string, { heldUnitDays?: string; openingUnits?: string; amountUsage?: string }>([
        ...proratedCredits.map((p) => [p.meter, { heldUnitDays: p.heldUnitDays, openingUnits: p.openingUnits }] as const),
        ...dynamicCredits.map((d) => [d.meter, { amountUsage: d.amountUsage }] as const),
      ]));
      creditNote = true;
    }
    const increases = routed.filter((u) => u.route === 'adjustment_invoice' && u.charge);
    let adjustmentInvoice = false;
    if (increases.length > 0 || proratedIncreases.length > 0 || dynamicIncreases.length > 0) {
      await this.issueAdjustmentInvoice(m, emit, period, customer.timezone, customer.taxRate, plan.plan.currency, increases.map((u) => ({ ...u, charge: u.charge! })), now, proratedIncreases, dynamicIncreases);
      adjustmentInvoice = true;
    }
    return { creditNote, adjustmentInvoice };
  }

  /** The period's prorated charges whose billed usage moved, re-priced (domain/prorated-usage.ts proratedCorrection). */
  private async proratedCorrections(
    m: EntityManager,
    period: ClosedPeriodRow,
    usage: ClosedPeriodUsage[],
    plans: Array<PlanVersion | null>,
    timeZone: string,
  ): Promise<Array<ProratedCorrection & { code: string }>> {
    const moved = usage.filter((u) => u.billed_held !== null);
    if (moved.length === 0) return [];
    const subscription = await this.subscriptions.row(m, period.tenant, period.subscription_id);
    if (!subscription) throw new Error(`subscription "${period.subscription_id}" of the period is missing`);
    const nominal = nominalPeriodContaining(periodRuleOf(subscription), period.period_start);
    const out: Array<ProratedCorrection & { code: string }> = [];
    for (const u of moved) {
      const charge = plans.flatMap((p) => p?.plan.charges ?? []).find((c) => c.meter === u.meter);
      if (!charge || !isProrated(charge)) continue;
      const correction = proratedCorrection(
        charge,
        { units: u.billed, heldUnitDays: u.billed_held!, openingUnits: u.billed_opening ?? '0' },
        { units: u.ledger, heldUnitDays: u.ledger_held, openingUnits: u.opening_now ?? '0' },
        { nominal, active: { start: period.period_start, end: period.period_end }, timeZone },
        period.period_start,
      );
      if (correction) out.push({ ...correction, code: charge.code ?? charge.meter });
    }
    return out;
  }

  /** The period's dynamic charges whose units or amount meter's usage moved, re-priced (domain/dynamic-usage.ts dynamicCorrection). */
  private dynamicCorrections(period: ClosedPeriodRow, usage: ClosedPeriodUsage[], plans: Array<PlanVersion | null>): Array<DynamicCorrection & { code: string }> {
    const out: Array<DynamicCorrection & { code: string }> = [];
    for (const u of usage) {
      if (u.amount_meter === null || u.billed_amount === null) continue;
      const charge = plans.flatMap((p) => p?.plan.charges ?? []).find((c) => c.meter === u.meter);
      if (!charge) continue;
      const correction = dynamicCorrection(charge, u.amount_meter, { units: u.billed, amount: u.billed_amount }, { units: u.ledger, amount: u.ledger_amount }, period.period_start);
      if (correction) out.push({ ...correction, code: charge.code ?? charge.meter });
    }
    return out;
  }

  private async plan(m: EntityManager, tenant: string, code: string, version: number): Promise<PlanVersion> {
    const plan = await this.catalog.plan(tenant, code, version, m);
    if (!plan) throw new Error(`plan "${code}" version ${version} of the period is missing`);
    return plan;
  }

  private async issueCreditNote(
    m: EntityManager,
    emit: Emit,
    period: ClosedPeriodRow,
    document: CreditNoteDocument,
    now: Date,
    /** Per meter, what a line billed besides its units (a prorated charge's unit-days and opening, a dynamic charge's amount usage). */
    prorationByMeter = new Map<string, { heldUnitDays?: string; openingUnits?: string; amountUsage?: string }>(),
  ): Promise<void> {
    const number = creditNoteNumber(await this.repo.nextCreditNoteSequence(m, period.tenant));
    const id = randomUUID();
    const invoice = (await this.invoiceRows.row(m, period.tenant, period.invoice_id))!;
    await this.repo.insertCreditNote(m, {
      tenant: period.tenant, credit_note_id: id, number, customer: period.customer, subscription_id: period.subscription_id, invoice_id: period.invoice_id,
      period_start: period.period_start, period_end: period.period_end, currency: document.currency, document, issued_at: now,
    });
    await this.repo.recordBilled(m, period, 'credit_note', id, document.lines.map((l) => ({ meter: l.meter, units: l.units, ...prorationByMeter.get(l.meter) })));
    // Money back goes to the customer's prepaid credits, used by the next invoices (refunds are not modelled).
    if (new Dec(document.total).gt(0)) {
      await this.invoiceRows.addToWallet(m, period.tenant, period.customer, document.currency, document.total);
      await this.invoiceRows.creditTransaction(m, { tenant: period.tenant, customer: period.customer, currency: document.currency, amount: document.total, reason: `credit note ${number}`, invoiceId: period.invoice_id });
    }
    const value = creditNoteIssued(
      { tenant: period.tenant, customer: period.customer, creditNoteId: id, number, invoiceId: period.invoice_id, invoiceNumber: invoice.number, subscriptionId: period.subscription_id,
        periodStart: period.period_start, periodEnd: period.period_end, document },
      { eventId: randomUUID(), occurredAt: now },
    );
    emit({ topic: TOPICS.billingCreditNotes, key: customerKey(period.tenant, period.customer), value });
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
    prorated: Array<ProratedCorrection & { code: string }> = [],
    dynamic: Array<DynamicCorrection & { code: string }> = [],
  ): Promise<void> {
    const document = composeInvoice(
      {
        currency,
        period: { start: period.period_start, end: period.period_end, timeZone },
        charges: [],
        adjustments: [
          ...increases.map((u) =>
            lateUsageLine({ meter: u.meter, code: u.charge.code ?? u.meter, charge: u.charge, billedUnits: u.billed, ledgerUnits: u.ledger, periodStart: period.period_start }, priceCharge),
          ),
          ...[...prorated, ...dynamic].map((p) => ({ code: p.code, description: p.description, units: p.units, amount: p.amount.toFixed() })),
        ],
        taxRatePercent,
      },
      priceCharge,
    );
    const number = await this.numbering.next(m, period.tenant, now, timeZone);
    const row = await this.invoiceRows.insertIssued(m, {
      period, kind: 'adjustment', number, currency, document, finalization: finalization(document.amountDue, now, this.settings.PAYMENT_TERMS_DAYS),
    });
    await this.repo.recordBilled(m, period, 'adjustment', row.invoice_id, [
      ...increases.map((u) => ({ meter: u.meter, units: new Dec(u.ledger).minus(u.billed).toFixed() })),
      ...prorated.map((p) => ({ meter: p.meter, units: p.units, heldUnitDays: p.heldUnitDays, openingUnits: p.openingUnits })),
      ...dynamic.map((d) => ({ meter: d.meter, units: d.units, amountUsage: d.amountUsage })),
    ]);
    emit(invoiceEvent(row, now));
  }

  async creditNotes(tenant: string, customer: string): Promise<CreditNoteView[]> {
    return (await this.outbox.inTransaction((m) => this.repo.creditNotesOf(m, tenant, customer))).map(creditNoteView);
  }

  async creditNote(tenant: string, id: string): Promise<CreditNoteView> {
    const row = await this.outbox.inTransaction((m) => this.repo.creditNote(m, tenant, id));
    if (!row) throw problem(404, `no credit note "${id}"`);
    return creditNoteView(row);
  }

  /**
   * For every customer and closed period (its invoice final, not void) overlapping [from, to), per meter the
   * invoice charged: the ledger's units (billing's newest copy of aggregation's period usage) against the units
   * invoiced (the invoice's quantity, plus adjustments, minus credit notes).
   */
  async reconciliation(tenant: string | null, from: Date, to: Date): Promise<{ checked: number; mismatches: ReconciliationMismatch[] }> {
    const rows = await this.outbox.inTransaction((m) => this.repo.reconciliationRows(m, tenant, from, to));
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
