import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * The dedupe set keyed by a fixed-size hash of `(tenant, source, id)` instead of the three text columns:
 * `event_key(tenant, source, id)` = SHA-256 of the UTF-8 bytes of tenant and source, each preceded by its
 * length (4 bytes, big-endian), then the id's. The length prefixes make the boundaries part of what is
 * hashed, so tenant "a" + source "bc" and tenant "ab" + source "c" get different keys. 32 bytes: a collision
 * (two different ids taken for one, and one of them not counted) is as likely as a SHA-256 collision.
 * The B-tree then compares 32 bytes with memcmp instead of three strings under the database collation, its
 * rows have a fixed size (ids up to INPUT_LIMITS fit whatever the tenant and source), and the heap no
 * longer holds source and id (the ledger does). `tenant` stays for counting per tenant (not indexed).
 *
 * `payload_hash` goes: the counted payload is the ledger row of the same id (inserted in the same
 * statement as the claim, dropped by retention together with the id), so a duplicate's payload is compared
 * with a hash of that row when a duplicate arrives, instead of hashing every event's payload up front.
 * Ids counted before 1732400000220 had no hash and could not be compared; their ledger rows can, so a
 * conflicting copy of one is now recorded too.
 *
 * Existing ids are copied with their key in the same transaction (ordered by time: the time index and the
 * heap then follow the order retention deletes in), so an id counted before this migration is still a
 * duplicate after it. The copy takes the table's lock for its duration: on a large dedupe set, run it in a
 * maintenance window.
 */
export class EventIdsHashedKey1732400000400 implements MigrationInterface {
  name = 'EventIdsHashedKey1732400000400';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // One definition for the copy below and for every claim (usage-ledger.repository.ts). The planner inlines
    // a SQL function of one expression, so calling it costs no more than the expression — but only when it
    // is declared no less volatile than its body: convert_to is STABLE, and an IMMUTABLE event_key was called
    // as a function per row (~1.5 µs more per event).
    await q.query(`
      CREATE FUNCTION ${s}.event_key(tenant text, source text, event_id text) RETURNS bytea
      LANGUAGE sql STABLE STRICT PARALLEL SAFE
      RETURN sha256(int4send(octet_length(convert_to(tenant, 'UTF8'))) || convert_to(tenant, 'UTF8')
                    || int4send(octet_length(convert_to(source, 'UTF8'))) || convert_to(source, 'UTF8')
                    || convert_to(event_id, 'UTF8'))`);
    await q.query(`LOCK TABLE ${s}.event_ids IN ACCESS EXCLUSIVE MODE`);
    await q.query(`
      CREATE TABLE ${s}.event_ids_keyed (
        key    bytea NOT NULL,
        tenant text NOT NULL,
        time   timestamptz NOT NULL
      )`);
    await q.query(`
      INSERT INTO ${s}.event_ids_keyed (key, tenant, time)
      SELECT ${s}.event_key(tenant, source, event_id), tenant, time FROM ${s}.event_ids ORDER BY time`);
    await q.query(`DROP TABLE ${s}.event_ids`);
    await q.query(`ALTER TABLE ${s}.event_ids_keyed RENAME TO event_ids`);
    await q.query(`ALTER TABLE ${s}.event_ids ADD CONSTRAINT event_ids_pkey PRIMARY KEY (key)`);
    await q.query(`CREATE INDEX event_ids_by_time ON ${s}.event_ids (time)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // The hash cannot be reversed: the ids come back from the ledger (which holds every counted id still
    // within retention, the same ones event_ids holds), payload hashes from the ledger rows.
    await q.query(`
      CREATE TABLE ${s}.event_ids_text (
        tenant       text NOT NULL,
        source       text NOT NULL,
        event_id     text NOT NULL,
        time         timestamptz NOT NULL,
        payload_hash bytea,
        PRIMARY KEY (tenant, source, event_id)
      )`);
    await q.query(`
      INSERT INTO ${s}.event_ids_text (tenant, source, event_id, time, payload_hash)
      SELECT l.tenant, l.source, l.event_id, l.time,
             sha256(convert_to(jsonb_build_array(l.subject, l.type, extract(epoch FROM l.time), l.readings, l.data)::text, 'UTF8'))
      FROM ${s}.event_ledger l JOIN ${s}.event_ids e ON e.key = ${s}.event_key(l.tenant, l.source, l.event_id) AND e.time = l.time`);
    await q.query(`DROP TABLE ${s}.event_ids`);
    await q.query(`ALTER TABLE ${s}.event_ids_text RENAME TO event_ids`);
    await q.query(`CREATE INDEX event_ids_by_time ON ${s}.event_ids (time)`);
    await q.query(`DROP FUNCTION ${s}.event_key(text, text, text)`);
  }
}
