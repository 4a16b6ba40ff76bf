import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/** The trace context of the message behind a debounced rescoring, so the job's events continue its trace. */
export class AddRescoreTrace1732400000530 implements MigrationInterface {
  name = 'AddRescoreTrace1732400000530';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.customer_health ADD COLUMN rescore_trace jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.customer_health DROP COLUMN rescore_trace`);
  }
}
