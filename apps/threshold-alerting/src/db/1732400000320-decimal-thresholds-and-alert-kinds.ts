import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Exact decimal thresholds and the alert kinds beyond percentages. Keeps every stored row:
 * - entitlements.thresholds int[] → numeric[] (33.3 was stored as 33, 0.4 as 0); plus the alert policy
 *   (absolute, spend, step), the plan's charge of the meter and the currency, for spend and overage cost.
 * - fired_thresholds is keyed by a threshold id (`percent:50`, `absolute:5000`, `spend:100`, `step-units:1200`)
 *   instead of an int percent; an existing row becomes `percent:<its percent>`. `generation` and `recovered_at`
 *   let a threshold re-arm when usage falls back below it and fire again, once per generation.
 * - projection_revision orders the in-memory entitlement projection's updates (see EntitlementProjection).
 */
export class DecimalThresholdsAndAlertKinds1732400000320 implements MigrationInterface {
  name = 'DecimalThresholdsAndAlertKinds1732400000320';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.entitlements ALTER COLUMN thresholds TYPE numeric[] USING thresholds::numeric[]`);
    await q.query(`ALTER TABLE ${s}.entitlements ADD COLUMN alerts jsonb NOT NULL DEFAULT '{}', ADD COLUMN charge jsonb, ADD COLUMN currency text`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ADD COLUMN threshold text`);
    await q.query(`UPDATE ${s}.fired_thresholds SET threshold = 'percent:' || percent::text`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ALTER COLUMN threshold SET NOT NULL, DROP CONSTRAINT fired_thresholds_pkey`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ADD PRIMARY KEY (tenant, customer, meter, period_start, threshold), DROP COLUMN percent`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ADD COLUMN generation int NOT NULL DEFAULT 1, ADD COLUMN recovered_at timestamptz`);
    await q.query(`CREATE SEQUENCE ${s}.projection_revision`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP SEQUENCE ${s}.projection_revision`);
    // Only percentages fit the old table; their percent is rounded as the old code did.
    await q.query(`DELETE FROM ${s}.fired_thresholds WHERE threshold NOT LIKE 'percent:%'`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ADD COLUMN percent int`);
    await q.query(`UPDATE ${s}.fired_thresholds SET percent = round(substr(threshold, 9)::numeric)`);
    await q.query(`DELETE FROM ${s}.fired_thresholds a USING ${s}.fired_thresholds b
      WHERE a.ctid > b.ctid AND (a.tenant, a.customer, a.meter, a.period_start, a.percent) = (b.tenant, b.customer, b.meter, b.period_start, b.percent)`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds DROP CONSTRAINT fired_thresholds_pkey, DROP COLUMN threshold, DROP COLUMN generation, DROP COLUMN recovered_at`);
    await q.query(`ALTER TABLE ${s}.fired_thresholds ALTER COLUMN percent SET NOT NULL, ADD PRIMARY KEY (tenant, customer, meter, period_start, percent)`);
    await q.query(`ALTER TABLE ${s}.entitlements DROP COLUMN alerts, DROP COLUMN charge, DROP COLUMN currency`);
    await q.query(`ALTER TABLE ${s}.entitlements ALTER COLUMN thresholds TYPE int[] USING thresholds::int[]`);
  }
}
