import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * dead_letters: every message on a DLQ topic (each service dead-letters through its outbox to
 * `<topic>.dlq.v<N>`; the outbox forgets published rows), read back by ingestion's dead-letter consumer group for
 * the dead-letters API. One row per DLQ (topic, partition, offset). `tenant` is null when the dead letter's
 * tenant claims disagree or are missing: only the operator sees those.
 */
export class CreateDeadLetters1732400000130 implements MigrationInterface {
  name = 'CreateDeadLetters1732400000130';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.dead_letters (
        id               bigserial PRIMARY KEY,
        dlq_topic        text NOT NULL,
        dlq_partition    int NOT NULL,
        dlq_offset       bigint NOT NULL,
        tenant           text,
        reason           text NOT NULL,
        source_topic     text,
        source_partition int,
        source_offset    text,
        source_timestamp text,
        message_key      text,
        headers          jsonb NOT NULL,
        value            text,
        value_base64     text,
        value_size       int NOT NULL,
        value_sha256     text,
        truncated        boolean NOT NULL,
        dead_lettered_at timestamptz NOT NULL,
        UNIQUE (dlq_topic, dlq_partition, dlq_offset)
      )`);
    await q.query(`CREATE INDEX dead_letters_tenant_feed ON ${s}.dead_letters (tenant, dead_lettered_at DESC, id DESC)`);
    await q.query(`CREATE INDEX dead_letters_feed ON ${s}.dead_letters (dead_lettered_at DESC, id DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.dead_letters`);
  }
}
