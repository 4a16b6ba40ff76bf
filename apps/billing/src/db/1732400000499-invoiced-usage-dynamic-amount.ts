import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * What a period's invoice billed for a dynamic charge besides its units: the amount meter and its period usage
 * billed, so a late event is corrected by the price difference (domain/dynamic-usage.ts dynamicCorrection). NULL
 * for every other charge, and for dynamic charges finalized before this migration (not re-priced).
 */
export class InvoicedUsageDynamicAmount1732400000499 implements MigrationInterface {
  name = 'InvoicedUsageDynamicAmount1732400000499';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.invoiced_usage ADD COLUMN amount_meter text, ADD COLUMN billed_amount numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.invoiced_usage DROP COLUMN amount_meter, DROP COLUMN billed_amount`);
  }
}
