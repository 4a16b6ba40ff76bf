import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * A prorated charge's held unit-days (usage.aggregates.v1 `heldUnitDays`: Σ value × local days held to the
 * period's last day), kept with the period usage it came with; NULL where aggregation does not maintain it.
 */
export class PeriodUsageHeldUnitDays1732400000497 implements MigrationInterface {
  name = 'PeriodUsageHeldUnitDays1732400000497';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.period_usage ADD COLUMN held_unit_days numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.period_usage DROP COLUMN held_unit_days`);
  }
}
