import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The signals feed (GET /api/v1/health/signals) pages newest first by keyset: churn-risk signals are the score
 * history rows with a trigger, expansion signals get an id to break ties of one emitted_at (bigserial fills the
 * existing rows too).
 */
export class IndexSignalFeeds1732400000540 implements MigrationInterface {
  name = 'IndexSignalFeeds1732400000540';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`CREATE INDEX score_history_churn_feed ON ${s}.score_history (tenant, scored_at DESC, id DESC) WHERE trigger IS NOT NULL`);
    await q.query(`ALTER TABLE ${s}.expansion_signals ADD COLUMN id bigserial`);
    await q.query(`CREATE UNIQUE INDEX expansion_signals_feed ON ${s}.expansion_signals (tenant, emitted_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP INDEX ${s}.expansion_signals_feed`);
    await q.query(`ALTER TABLE ${s}.expansion_signals DROP COLUMN id`);
    await q.query(`DROP INDEX ${s}.score_history_churn_feed`);
  }
}
