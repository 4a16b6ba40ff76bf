import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Corrections of finalized periods (ADR 0006): credit notes, adjustment invoices, and the ledger of units
 * billed per period and meter that reconciliation compares with period usage.
 */
export class CreateCreditNotes1732400000480 implements MigrationInterface {
  name = 'CreateCreditNotes1732400000480';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.credit_notes (
        tenant          text NOT NULL,
        credit_note_id  text NOT NULL,
        number          text NOT NULL,
        customer        text NOT NULL,
        subscription_id text NOT NULL,
        invoice_id      text NOT NULL,
        period_start    timestamptz NOT NULL,
        period_end      timestamptz NOT NULL,
        reason          text NOT NULL,
        currency        text NOT NULL,
        document        jsonb NOT NULL,
        total           numeric NOT NULL,
        issued_at       timestamptz NOT NULL,
        PRIMARY KEY (tenant, credit_note_id),
        UNIQUE (tenant, number),
        FOREIGN KEY (tenant, invoice_id) REFERENCES ${s}.invoices (tenant, invoice_id)
      )`);
    await q.query(`CREATE INDEX credit_notes_by_customer ON ${s}.credit_notes (tenant, customer, issued_at DESC)`);
    await q.query(`CREATE TABLE ${s}.credit_note_numbers (tenant text PRIMARY KEY, last int NOT NULL)`);
    // An adjustment invoice bills late units of a period whose subscription has nothing left to invoice
    // (canceled): it carries that period's bounds, so one period may have several invoices, one of kind 'period'.
    await q.query(`ALTER TABLE ${s}.invoices ADD COLUMN kind text NOT NULL DEFAULT 'period'`);
    await q.query(`ALTER TABLE ${s}.invoices DROP CONSTRAINT invoices_tenant_subscription_id_period_start_key`);
    await q.query(`CREATE UNIQUE INDEX invoices_one_per_period ON ${s}.invoices (tenant, subscription_id, period_start) WHERE kind = 'period'`);
    // Units billed per period and meter, one row per document: the period's invoice, each adjustment (on a
    // later invoice or an adjustment invoice, positive) and each credit note (negative). Their sum is what
    // reconciliation compares with the period's usage.
    await q.query(`
      CREATE TABLE ${s}.billed_usage (
        tenant          text NOT NULL,
        customer        text NOT NULL,
        subscription_id text NOT NULL,
        period_start    timestamptz NOT NULL,
        meter           text NOT NULL,
        document_kind   text NOT NULL CHECK (document_kind IN ('invoice', 'adjustment', 'credit_note')),
        document_id     text NOT NULL,
        units           numeric NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, subscription_id, period_start, meter, document_kind, document_id)
      )`);
    // Periods finalized before this table: what they billed so far, as one invoice row.
    await q.query(`
      INSERT INTO ${s}.billed_usage (tenant, customer, subscription_id, period_start, meter, document_kind, document_id, units)
      SELECT iu.tenant, bp.customer, iu.subscription_id, iu.period_start, iu.meter, 'invoice', bp.invoice_id, iu.units
      FROM ${s}.invoiced_usage iu
      JOIN ${s}.billing_periods bp ON bp.tenant = iu.tenant AND bp.subscription_id = iu.subscription_id AND bp.period_start = iu.period_start
      WHERE bp.invoice_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.billed_usage`);
    await q.query(`DROP INDEX ${s}.invoices_one_per_period`);
    await q.query(`ALTER TABLE ${s}.invoices ADD CONSTRAINT invoices_tenant_subscription_id_period_start_key UNIQUE (tenant, subscription_id, period_start)`);
    await q.query(`ALTER TABLE ${s}.invoices DROP COLUMN kind`);
    await q.query(`DROP TABLE ${s}.credit_note_numbers`);
    await q.query(`DROP TABLE ${s}.credit_notes`);
  }
}
