import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The daily job asks every pass for customers that are debounced-due (indexed by customer_health_due) or not
 * scored since the start of the UTC day. Without an index on scored_at the OR makes that a sequential scan
 * of customer_health on every pass; with it Postgres answers with a BitmapOr touching only the due rows.
 */
export class IndexRescoringDue1732400000535 implements MigrationInterface {
  name = 'IndexRescoringDue1732400000535';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`CREATE INDEX IF NOT EXISTS customer_health_scored_at_idx ON ${s}.customer_health (scored_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP INDEX IF EXISTS ${s}.customer_health_scored_at_idx`);
  }
}
