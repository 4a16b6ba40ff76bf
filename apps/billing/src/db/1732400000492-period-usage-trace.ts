import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The trace contexts (W3C `traceparent`/`tracestate`, with when each was applied) of the last aggregate
 * messages that set each period usage row, newest first, a few per row: the period's close runs in a span that
 * links to them and continues the newest, so the invoice's events can be followed back to the usage they bill
 * (domain/usage-trace.ts).
 */
export class PeriodUsageTrace1732400000492 implements MigrationInterface {
  name = 'PeriodUsageTrace1732400000492';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.period_usage ADD COLUMN traces jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.period_usage DROP COLUMN traces`);
  }
}
