import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * What a period's invoice billed for a prorated charge besides its units: the held unit-days and the units held
 * at the opening, so a late event is corrected by Lago's price difference (domain/prorated-usage.ts
 * proratedCorrection). NULL for every other charge.
 */
export class InvoicedUsageProration1732400000498 implements MigrationInterface {
  name = 'InvoicedUsageProration1732400000498';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.invoiced_usage ADD COLUMN held_unit_days numeric, ADD COLUMN opening_units numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.invoiced_usage DROP COLUMN held_unit_days, DROP COLUMN opening_units`);
  }
}
