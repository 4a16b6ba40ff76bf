import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateSubscriptions1732400000400 implements MigrationInterface {
  name = 'CreateSubscriptions1732400000400';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.subscriptions (
        tenant          text NOT NULL,
        subscription_id text NOT NULL,
        customer        text NOT NULL,
        plan            text NOT NULL,
        status          text NOT NULL,
        period_start    timestamptz NOT NULL,
        period_end      timestamptz NOT NULL,
        entitlements    jsonb NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, subscription_id)
      )`);
    await q.query(`CREATE INDEX subscriptions_by_customer ON ${s}.subscriptions (tenant, customer)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.subscriptions`);
  }
}
