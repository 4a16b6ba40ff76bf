import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/** A customer may hold several subscriptions; each subscription message replaces only its own entitlements. */
export class EntitlementsPerSubscription1732400000310 implements MigrationInterface {
  name = 'EntitlementsPerSubscription1732400000310';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.entitlements ADD COLUMN subscription_id text NOT NULL DEFAULT ''`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.entitlements DROP COLUMN subscription_id`);
  }
}
