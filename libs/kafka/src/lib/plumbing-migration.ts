import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The exactly-once plumbing's tables, in every service's schema:
 * - consumer_offsets: the next offset to apply per (group, topic, partition) — the source of truth,
 *   written in the same transaction as the state the messages produced;
 * - outbox: derived events written in that transaction, published by the relay.
 */
export class CreateKafkaPlumbing1732400000000 implements MigrationInterface {
  name = 'CreateKafkaPlumbing1732400000000';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.consumer_offsets (
        group_id    text   NOT NULL,
        topic       text   NOT NULL,
        partition   int    NOT NULL,
        next_offset bigint NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (group_id, topic, partition)
      )`);
    await q.query(`
      CREATE TABLE ${s}.outbox (
        id           bigserial PRIMARY KEY,
        topic        text  NOT NULL,
        message_key  text,
        value        text  NOT NULL,
        headers      jsonb NOT NULL DEFAULT '{}',
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_unpublished ON ${s}.outbox (id) WHERE published_at IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.outbox`);
    await q.query(`DROP TABLE ${s}.consumer_offsets`);
  }
}
