import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateIdempotentRequests1732400000471 implements MigrationInterface {
  name = 'CreateIdempotentRequests1732400000471';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // Every POST of the billing API by Idempotency-Key, per tenant: reserved (status NULL) while the first
    // request runs, then its answer, replayed for the same request until it expires.
    await q.query(`
      CREATE TABLE ${s}.idempotent_requests (
        tenant       text NOT NULL,
        key          text NOT NULL,
        fingerprint  text NOT NULL,
        status       int,
        -- text, not jsonb: a replay answers byte for byte what the first request got
        response     text,
        created_at   timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL,
        PRIMARY KEY (tenant, key)
      )`);
    await q.query(`CREATE INDEX idempotent_requests_expiry ON ${s}.idempotent_requests (expires_at)`);
    // The payment attempt a retry request was published for: each scheduled attempt is requested once.
    await q.query(`ALTER TABLE ${s}.invoices ADD COLUMN retry_requested_attempt int NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`ALTER TABLE ${s}.invoices DROP COLUMN retry_requested_attempt`);
    await q.query(`DROP TABLE ${s}.idempotent_requests`);
  }
}
