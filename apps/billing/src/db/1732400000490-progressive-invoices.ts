import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Progressive billing: invoices issued mid-period when the period's usage so far reaches a plan's threshold.
 * A period keeps exactly one invoice of kind 'period' (the close path's idempotency, index
 * invoices_one_per_period); its progressive invoices are unique per threshold level reached, so a level is
 * invoiced at most once whatever the redeliveries or concurrent consumers. `threshold_level` counts the
 * levels the invoice covers (fixed thresholds ascending, then recurring steps), `threshold_amount` is the
 * highest threshold it was issued for.
 */
export class ProgressiveInvoices1732400000490 implements MigrationInterface {
  name = 'ProgressiveInvoices1732400000490';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.invoices ADD COLUMN threshold_level int, ADD COLUMN threshold_amount numeric`);
    await q.query(`ALTER TABLE ${s}.invoices ADD CONSTRAINT invoices_kind CHECK (kind IN ('period', 'adjustment', 'progressive'))`);
    await q.query(`ALTER TABLE ${s}.invoices ADD CONSTRAINT invoices_progressive_level CHECK ((kind = 'progressive') = (threshold_level IS NOT NULL) AND (threshold_level IS NULL OR threshold_level > 0))`);
    await q.query(`CREATE UNIQUE INDEX invoices_one_per_threshold_level ON ${s}.invoices (tenant, subscription_id, period_start, threshold_level) WHERE kind = 'progressive'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DELETE FROM ${s}.invoices WHERE kind = 'progressive'`);
    await q.query(`DROP INDEX ${s}.invoices_one_per_threshold_level`);
    await q.query(`ALTER TABLE ${s}.invoices DROP CONSTRAINT invoices_progressive_level`);
    await q.query(`ALTER TABLE ${s}.invoices DROP CONSTRAINT invoices_kind`);
    await q.query(`ALTER TABLE ${s}.invoices DROP COLUMN threshold_level, DROP COLUMN threshold_amount`);
  }
}
