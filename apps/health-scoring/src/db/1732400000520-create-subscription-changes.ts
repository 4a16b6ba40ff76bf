import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/** Every state a subscription went through (plan, included quantity), for upgrade conversion and plans per month. */
export class CreateSubscriptionChanges1732400000520 implements MigrationInterface {
  name = 'CreateSubscriptionChanges1732400000520';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.subscription_changes (
        tenant text NOT NULL, event_id text NOT NULL, customer text NOT NULL, subscription_id text NOT NULL,
        plan text NOT NULL, status text NOT NULL, included_total numeric NOT NULL, changed_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, event_id))`);
    await q.query(`CREATE INDEX subscription_changes_by_customer ON ${s}.subscription_changes (tenant, customer, subscription_id, changed_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.subscription_changes`);
  }
}
