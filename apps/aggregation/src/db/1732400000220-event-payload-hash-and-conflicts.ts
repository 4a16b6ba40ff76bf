import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Conflicting duplicates: the same `(tenant, source, id)` sent again with another payload. The first one is
 * counted (exactly once); each other payload is recorded here, so a producer bug is visible instead of
 * silently dropped. `event_ids.payload_hash` is the first payload's hash (null for ids recorded before
 * this migration: those cannot be compared and are never reported).
 */
export class EventPayloadHashAndConflicts1732400000220 implements MigrationInterface {
  name = 'EventPayloadHashAndConflicts1732400000220';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // Nullable without a default: no table rewrite on a large event_ids.
    await q.query(`ALTER TABLE ${s}.event_ids ADD COLUMN payload_hash bytea`);
    await q.query(`
      CREATE TABLE ${s}.event_conflicts (
        tenant            text NOT NULL,
        source            text NOT NULL,
        event_id          text NOT NULL,
        first_hash        bytea NOT NULL,
        conflicting_hash  bytea NOT NULL,
        count             bigint NOT NULL,
        first_seen        timestamptz NOT NULL DEFAULT now(),
        last_seen         timestamptz NOT NULL DEFAULT now(),
        sample            text NOT NULL,
        sample_truncated  boolean NOT NULL,
        PRIMARY KEY (tenant, source, event_id, conflicting_hash)
      )`);
    await q.query(`CREATE INDEX event_conflicts_by_tenant_first_seen ON ${s}.event_conflicts (tenant, first_seen DESC, source, event_id, conflicting_hash)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.event_conflicts`);
    await q.query(`ALTER TABLE ${s}.event_ids DROP COLUMN payload_hash`);
  }
}
