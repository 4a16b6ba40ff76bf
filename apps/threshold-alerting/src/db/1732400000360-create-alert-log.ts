import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * alert_log: every alert published on `alerts.usage-threshold.v1`, as published (payload), for the alerts API.
 * fired_thresholds keeps only the latest generation of each threshold and not what the alert said, so the
 * feed is read back from the topic by its own consumer group (src/alerts). One row per event id: a redelivered
 * alert is the same row. `id` orders rows that share an occurred_at (all alerts of one evaluation do).
 */
export class CreateAlertLog1732400000360 implements MigrationInterface {
  name = 'CreateAlertLog1732400000360';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.alert_log (
        id          bigserial NOT NULL,
        tenant      text NOT NULL,
        event_id    text NOT NULL,
        customer    text NOT NULL,
        meter       text NOT NULL,
        kind        text NOT NULL,
        occurred_at timestamptz NOT NULL,
        payload     jsonb NOT NULL,
        PRIMARY KEY (tenant, event_id)
      )`);
    await q.query(`CREATE UNIQUE INDEX alert_log_feed ON ${s}.alert_log (tenant, occurred_at DESC, id DESC)`);
    await q.query(`CREATE INDEX alert_log_customer_feed ON ${s}.alert_log (tenant, customer, occurred_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.alert_log`);
  }
}
