import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateHealthInputs1732400000500 implements MigrationInterface {
  name = 'CreateHealthInputs1732400000500';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.customer_health (
        tenant         text NOT NULL,
        customer       text NOT NULL,
        usage_percent  numeric,
        active         boolean NOT NULL DEFAULT false,
        account_status text,
        open_tickets   int NOT NULL DEFAULT 0,
        nps            int,
        score          numeric,
        band           text,
        components     jsonb,
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, customer)
      )`);
    await q.query(`
      CREATE TABLE ${s}.score_history (
        tenant    text NOT NULL,
        customer  text NOT NULL,
        scored_at timestamptz NOT NULL DEFAULT now(),
        score     numeric NOT NULL,
        band      text NOT NULL
      )`);
    await q.query(`CREATE INDEX score_history_by_customer ON ${s}.score_history (tenant, customer, scored_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.score_history`);
    await q.query(`DROP TABLE ${s}.customer_health`);
  }
}
