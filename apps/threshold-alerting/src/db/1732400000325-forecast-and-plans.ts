import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Forecast alerts and upgrade recommendations:
 * - day_usage: DAY aggregates (the newest version per customer, meter and UTC day), for the forecast's daily trend;
 * - plans: the latest version of each plan of a tenant from `billing.plans.v1`, to price the projected period;
 * - entitlements.plan: the plan code of the subscription an entitlement comes from (the current plan).
 * The forecast's fired state lives in fired_thresholds as threshold `forecast:100`.
 */
export class ForecastAndPlans1732400000325 implements MigrationInterface {
  name = 'ForecastAndPlans1732400000325';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.day_usage (
        tenant text NOT NULL, customer text NOT NULL, meter text NOT NULL,
        day_start timestamptz NOT NULL, day_end timestamptz NOT NULL, value numeric NOT NULL, version bigint NOT NULL,
        PRIMARY KEY (tenant, customer, meter, day_start))`);
    await q.query(`
      CREATE TABLE ${s}.plans (
        tenant text NOT NULL, plan_code text NOT NULL, version int NOT NULL, currency text NOT NULL, interval text NOT NULL,
        base_fee numeric NOT NULL, charges jsonb NOT NULL,
        PRIMARY KEY (tenant, plan_code))`);
    await q.query(`ALTER TABLE ${s}.entitlements ADD COLUMN plan text`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.entitlements DROP COLUMN plan`);
    await q.query(`DROP TABLE ${s}.plans`);
    await q.query(`DROP TABLE ${s}.day_usage`);
  }
}
