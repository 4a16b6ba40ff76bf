import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Progressive billing looks up the open (not yet invoiced) periods of every usage batch's customers, in the
 * consumer's transaction: without this index that is a scan of every period ever billed, per batch.
 */
export class OpenPeriodsByCustomer1732400000491 implements MigrationInterface {
  name = 'OpenPeriodsByCustomer1732400000491';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX billing_periods_open_by_customer ON ${schemaOf(q.connection)}.billing_periods (tenant, customer) WHERE invoice_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ${schemaOf(q.connection)}.billing_periods_open_by_customer`);
  }
}
