import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateJobFailures1732400000420 implements MigrationInterface {
  name = 'CreateJobFailures1732400000420';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // An item a billing job could not process (a period that would not close...): its last error and when
    // it is tried again. The row goes in the transaction that finally processes the item.
    await q.query(`
      CREATE TABLE ${s}.job_failures (
        tenant          text NOT NULL,
        job             text NOT NULL,
        item_key        text NOT NULL,
        item            jsonb NOT NULL,
        error           text NOT NULL,
        attempts        int NOT NULL,
        first_failed_at timestamptz NOT NULL,
        last_failed_at  timestamptz NOT NULL,
        next_attempt_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, job, item_key)
      )`);
    await q.query(`CREATE INDEX job_failures_next_attempt ON ${s}.job_failures (job, next_attempt_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.job_failures`);
  }
}
