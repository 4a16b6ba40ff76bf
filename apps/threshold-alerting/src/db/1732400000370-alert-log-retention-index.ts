import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * alert_log's indexes all lead with tenant, so retention's `occurred_at < cut-off` across every tenant would scan
 * the whole table per batch. This one lets each batch read just the oldest rows.
 */
export class AlertLogRetentionIndex1732400000370 implements MigrationInterface {
  name = 'AlertLogRetentionIndex1732400000370';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX alert_log_retention ON ${schemaOf(q.connection)}.alert_log (occurred_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX ${schemaOf(q.connection)}.alert_log_retention`);
  }
}
