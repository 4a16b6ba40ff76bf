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

/**
 * - outbox.parked_at / park_reason / attempts: a record the broker refuses for good (too large, invalid)
 *   is parked instead of blocking every record behind it; parked rows stay for an operator to inspect and
 *   re-queue (`UPDATE ... SET parked_at = NULL`).
 * - consumer_offsets.topic_id: the broker's id of the topic the offset belongs to, so offsets of a
 *   deleted-and-recreated topic are never applied to the new one.
 */
export class HardenKafkaPlumbing1764460800000 implements MigrationInterface {
  name = 'HardenKafkaPlumbing1764460800000';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.outbox ADD COLUMN parked_at timestamptz, ADD COLUMN park_reason text, ADD COLUMN attempts int NOT NULL DEFAULT 0`);
    await q.query(`DROP INDEX ${s}.outbox_unpublished`);
    await q.query(`CREATE INDEX outbox_unpublished ON ${s}.outbox (id) WHERE published_at IS NULL AND parked_at IS NULL`);
    await q.query(`CREATE INDEX outbox_parked ON ${s}.outbox (id) WHERE parked_at IS NOT NULL`);
    await q.query(`ALTER TABLE ${s}.consumer_offsets ADD COLUMN topic_id text`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.consumer_offsets DROP COLUMN topic_id`);
    await q.query(`DROP INDEX ${s}.outbox_parked`);
    await q.query(`DROP INDEX ${s}.outbox_unpublished`);
    await q.query(`CREATE INDEX outbox_unpublished ON ${s}.outbox (id) WHERE published_at IS NULL`);
    await q.query(`ALTER TABLE ${s}.outbox DROP COLUMN parked_at, DROP COLUMN park_reason, DROP COLUMN attempts`);
  }
}

/** The plumbing's migrations in order; every service schema runs them before its own. */
export const KAFKA_PLUMBING_MIGRATIONS = [CreateKafkaPlumbing1732400000000, HardenKafkaPlumbing1764460800000];
