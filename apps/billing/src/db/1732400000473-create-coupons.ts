import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateCoupons1732400000473 implements MigrationInterface {
  name = 'CreateCoupons1732400000473';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.coupons (
        tenant     text NOT NULL,
        code       text NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, code)
      )`);
    // A coupon applied to a customer (subscription_id NULL: all its subscriptions) or one subscription, with
    // the definition as applied and what is left of it; updated by the finalize transaction that uses it.
    await q.query(`
      CREATE TABLE ${s}.applied_coupons (
        tenant            text NOT NULL,
        id                text NOT NULL,
        customer          text NOT NULL,
        coupon_code       text NOT NULL,
        definition        jsonb NOT NULL,
        subscription_id   text,
        applied_at        timestamptz NOT NULL,
        status            text NOT NULL,
        amount_remaining  numeric,
        periods_remaining int,
        PRIMARY KEY (tenant, id)
      )`);
    await q.query(`CREATE INDEX applied_coupons_by_customer ON ${s}.applied_coupons (tenant, customer) WHERE status = 'active'`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.applied_coupons`);
    await q.query(`DROP TABLE ${s}.coupons`);
  }
}
