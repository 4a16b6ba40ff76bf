import type { EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import type { CreditNoteDocument } from '../domain/usage-corrections';

export interface CreditNoteRow {
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

/** A closed period as corrections read it, with whether a later invoice of the subscription will bill an increase. */
export interface ClosedPeriodRow {
  tenant: string;
  customer: string;
  subscription_id: string;
  period_start: Date;
  period_end: Date;
  invoice_id: string;
  plan_code: string;
  plan_version: number;
  plan_change: { previousPlan: string; previousVersion: number } | null;
  later: boolean;
}

type PeriodKey = Pick<ClosedPeriodRow, 'tenant' | 'customer' | 'subscription_id' | 'period_start'>;

/** Per meter of a closed period: what was billed against the ledger; a prorated charge's held unit-days and opening too. */
export interface ClosedPeriodUsage {
  meter: string;
  billed: string;
  ledger: string;
  billed_held: string | null;
  billed_opening: string | null;
  ledger_held: string | null;
  /** The units held at the period's opening now (prorated charges only). */
  opening_now: string | null;
  /** A dynamic charge's amount meter and its period usage billed (NULL for other charges and rows from before it was recorded). */
  amount_meter: string | null;
  billed_amount: string | null;
  /** The amount meter's period usage now (0 without an amount meter). */
  ledger_amount: string;
}

export interface ReconciliationRowSql {
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

/**
 * For a prorated charge's `invoiced_usage iu` row (else NULL, the subquery not run): the units held at its period's
 * opening now, the subscription's usage of the meter in its earlier periods (late events there change it).
 */
export const openingNowSql = (s: string): string => `CASE WHEN iu.held_unit_days IS NULL THEN NULL ELSE
  (SELECT COALESCE(sum(pu2.value), 0) FROM ${s}.billing_periods bp2
   JOIN ${s}.period_usage pu2 ON pu2.tenant = bp2.tenant AND pu2.customer = bp2.customer AND pu2.period_start = bp2.period_start
   WHERE bp2.tenant = iu.tenant AND bp2.subscription_id = iu.subscription_id AND bp2.period_start < iu.period_start AND pu2.meter = iu.meter) END`;

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
 * The SQL of usage corrections, credit notes and reconciliation, nothing decided here: every method runs in the
 * caller's transaction (`m`). Stateless, so the service holds one without dependency injection.
 */
export class UsageCorrectionsRepository {
  /** Closed periods whose usage moved from what was billed, except increases a later invoice will bill; oldest first. */
  async periodsToCorrect(m: EntityManager): Promise<Array<{ tenant: string; subscription_id: string; period_start: Date }>> {
    const s = schemaOf(m.connection);
    return m.query(
      `SELECT DISTINCT c.tenant, c.subscription_id, c.period_start FROM (${closedPeriodsSql(s, 'true')}) c
       JOIN ${s}.invoiced_usage iu ON iu.tenant = c.tenant AND iu.subscription_id = c.subscription_id AND iu.period_start = c.period_start
       LEFT JOIN ${s}.period_usage pu ON pu.tenant = c.tenant AND pu.customer = c.customer AND pu.meter = iu.meter AND pu.period_start = c.period_start
       LEFT JOIN ${s}.period_usage pa ON pa.tenant = c.tenant AND pa.customer = c.customer AND pa.meter = iu.amount_meter AND pa.period_start = c.period_start
       WHERE (iu.held_unit_days IS NULL AND iu.billed_amount IS NULL AND COALESCE(pu.value, 0) <> iu.units
              -- An increase the next invoice will bill is not this job's.
              AND NOT (COALESCE(pu.value, 0) > iu.units AND ${laterPeriodSql(s, 'c')}))
          -- A prorated charge whose units or held unit-days moved: its price decides the direction (the service).
          OR (iu.held_unit_days IS NOT NULL AND (COALESCE(pu.value, 0) <> iu.units OR COALESCE(pu.held_unit_days, 0) <> iu.held_unit_days
              OR ${openingNowSql(s)} <> iu.opening_units))
          -- A dynamic charge whose units or amount meter's usage moved: the same.
          OR (iu.billed_amount IS NOT NULL AND (COALESCE(pu.value, 0) <> iu.units OR COALESCE(pa.value, 0) <> iu.billed_amount))
       ORDER BY c.period_start`,
    );
  }

  /**
   * The closed period, its row locked (ordering this with its close), and per meter what was billed against the
   * ledger, those rows locked too (ordering this with the next invoice's finalization); null when it is not closed.
   */
  async lockClosedPeriod(m: EntityManager, tenant: string, subscriptionId: string, periodStart: Date): Promise<{ period: ClosedPeriodRow; usage: ClosedPeriodUsage[] } | null> {
    const s = schemaOf(m.connection);
    const [period]: ClosedPeriodRow[] = await m.query(
      `SELECT c.*, ${laterPeriodSql(s, 'c')} AS later FROM (${closedPeriodsSql(s, 'bp.tenant = $1 AND bp.subscription_id = $2 AND bp.period_start = $3')}) c`,
      [tenant, subscriptionId, periodStart],
    );
    if (!period) return null;
    await m.query(`SELECT 1 FROM ${s}.billing_periods WHERE tenant = $1 AND subscription_id = $2 AND period_start = $3 FOR UPDATE`, [tenant, subscriptionId, periodStart]);
    const usage: ClosedPeriodUsage[] = await m.query(
      `SELECT iu.meter, iu.units::text AS billed, COALESCE(pu.value, 0)::text AS ledger,
         iu.held_unit_days::text AS billed_held, iu.opening_units::text AS billed_opening, pu.held_unit_days::text AS ledger_held,
         (${openingNowSql(s)})::text AS opening_now,
         iu.amount_meter, iu.billed_amount::text AS billed_amount, COALESCE(pa.value, 0)::text AS ledger_amount
       FROM ${s}.invoiced_usage iu
       LEFT JOIN ${s}.period_usage pu ON pu.tenant = iu.tenant AND pu.customer = $4 AND pu.meter = iu.meter AND pu.period_start = iu.period_start
       LEFT JOIN ${s}.period_usage pa ON pa.tenant = iu.tenant AND pa.customer = $4 AND pa.meter = iu.amount_meter AND pa.period_start = iu.period_start
       WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start = $3 ORDER BY iu.meter FOR UPDATE OF iu`,
      [tenant, subscriptionId, periodStart, period.customer],
    );
    return { period, usage };
  }

  /** The tenant's next credit-note sequence number (its row locked to commit: gap-free). */
  async nextCreditNoteSequence(m: EntityManager, tenant: string): Promise<number> {
    const [seq] = await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.credit_note_numbers (tenant, last) VALUES ($1, 1) ON CONFLICT (tenant) DO UPDATE SET last = credit_note_numbers.last + 1 RETURNING last`,
      [tenant],
    );
    return seq.last;
  }

  async insertCreditNote(m: EntityManager, row: Omit<CreditNoteRow, 'reason'>): Promise<void> {
    await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.credit_notes (tenant, credit_note_id, number, customer, subscription_id, invoice_id, period_start, period_end, reason, currency, document, total, issued_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'usage_decreased', $9, $10, $11, $12)`,
      [row.tenant, row.credit_note_id, row.number, row.customer, row.subscription_id, row.invoice_id, row.period_start, row.period_end, row.currency, JSON.stringify(row.document), row.document.total, row.issued_at],
    );
  }

  /** The units a document billed (negative for a credit note), in the ledger of billed units, and in what later corrections diff against. */
  async recordBilled(m: EntityManager, period: PeriodKey, kind: 'adjustment' | 'credit_note', documentId: string, lines: Array<{ meter: string; units: string; heldUnitDays?: string; openingUnits?: string; amountUsage?: string }>): Promise<void> {
    const s = schemaOf(m.connection);
    await m.query(
      `INSERT INTO ${s}.billed_usage (tenant, customer, subscription_id, period_start, meter, document_kind, document_id, units)
       SELECT $1, $2, $3, $4, t.meter, $5, $6, t.units FROM unnest($7::text[], $8::numeric[]) AS t(meter, units)`,
      [period.tenant, period.customer, period.subscription_id, period.period_start, kind, documentId, lines.map((l) => l.meter), lines.map((l) => l.units)],
    );
    await m.query(
      `UPDATE ${s}.invoiced_usage iu SET units = iu.units + t.units,
         held_unit_days = CASE WHEN t.held IS NULL THEN iu.held_unit_days ELSE iu.held_unit_days + t.held END,
         opening_units = CASE WHEN t.opening IS NULL THEN iu.opening_units ELSE iu.opening_units + t.opening END,
         billed_amount = CASE WHEN t.amount IS NULL THEN iu.billed_amount ELSE iu.billed_amount + t.amount END
       FROM unnest($4::text[], $5::numeric[], $6::numeric[], $7::numeric[], $8::numeric[]) AS t(meter, units, held, opening, amount)
       WHERE iu.tenant = $1 AND iu.subscription_id = $2 AND iu.period_start = $3 AND iu.meter = t.meter`,
      [period.tenant, period.subscription_id, period.period_start, lines.map((l) => l.meter), lines.map((l) => l.units), lines.map((l) => l.heldUnitDays ?? null), lines.map((l) => l.openingUnits ?? null),
        lines.map((l) => l.amountUsage ?? null)],
    );
  }

  async creditNotesOf(m: EntityManager, tenant: string, customer: string): Promise<CreditNoteRow[]> {
    return m.query(`SELECT * FROM ${schemaOf(m.connection)}.credit_notes WHERE tenant = $1 AND customer = $2 ORDER BY issued_at DESC, number DESC`, [tenant, customer]);
  }

  async creditNote(m: EntityManager, tenant: string, id: string): Promise<CreditNoteRow | null> {
    const [row] = await m.query(`SELECT * FROM ${schemaOf(m.connection)}.credit_notes WHERE tenant = $1 AND credit_note_id = $2`, [tenant, id]);
    return row ?? null;
  }

  /**
   * Per closed period overlapping [from, to) (every tenant's when `tenant` is null) and meter the invoice charged:
   * the ledger's units, the units billed (invoice + adjustments − credit notes) and whether a later invoice will bill an increase.
   */
  async reconciliationRows(m: EntityManager, tenant: string | null, from: Date, to: Date): Promise<ReconciliationRowSql[]> {
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
  }
}
