import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Lago's prorated charges: each subscription period records the customer's time zone and the meters its
 * plan charges prorated (from billing.subscriptions.v1), and a PERIOD window of such a meter keeps
 * `held_unit_days` (Σ value × days held to the period's last local day). NULL where not maintained, so
 * existing rows and every other meter are untouched.
 */
export class ProratedHeldUnitDays1732400000350 implements MigrationInterface {
  name = 'ProratedHeldUnitDays1732400000350';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.customer_periods ADD COLUMN time_zone text, ADD COLUMN prorated_meters text[]`);
    await q.query(`ALTER TABLE ${s}.window_aggregates ADD COLUMN held_unit_days numeric`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.window_aggregates DROP COLUMN held_unit_days`);
    await q.query(`ALTER TABLE ${s}.customer_periods DROP COLUMN time_zone, DROP COLUMN prorated_meters`);
  }
}
