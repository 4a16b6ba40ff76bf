import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The plumbing tests' "service state": one row per application of a message. Deliberately without a
 * unique key, so a message applied twice shows up as two rows instead of being hidden by a constraint.
 */
export class CreateAppliedMessages1732400009000 implements MigrationInterface {
  name = 'CreateAppliedMessages1732400009000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE ${schemaOf(q.connection)}.applied_messages (
      partition int NOT NULL, "offset" bigint NOT NULL, body text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.applied_messages`);
  }
}
