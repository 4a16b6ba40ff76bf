import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Periods are recorded per subscription: canceling one of two subscriptions that share a period ends only
 * that subscription's period early, and must not cut the PERIOD window of the one still running.
 */
export class CustomerPeriodsPerSubscription1732400000210 implements MigrationInterface {
  name = 'CustomerPeriodsPerSubscription1732400000210';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.customer_periods ADD COLUMN subscription_id text NOT NULL DEFAULT ''`);
    await q.query(`ALTER TABLE ${s}.customer_periods DROP CONSTRAINT customer_periods_pkey`);
    await q.query(`ALTER TABLE ${s}.customer_periods ADD PRIMARY KEY (tenant, customer, period_start, subscription_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DELETE FROM ${s}.customer_periods a USING ${s}.customer_periods b
                   WHERE a.tenant = b.tenant AND a.customer = b.customer AND a.period_start = b.period_start
                     AND (a.period_end, a.subscription_id) < (b.period_end, b.subscription_id)`);
    await q.query(`ALTER TABLE ${s}.customer_periods DROP CONSTRAINT customer_periods_pkey`);
    await q.query(`ALTER TABLE ${s}.customer_periods DROP COLUMN subscription_id`);
    await q.query(`ALTER TABLE ${s}.customer_periods ADD PRIMARY KEY (tenant, customer, period_start)`);
  }
}
