import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateIdempotency1732400000430 implements MigrationInterface {
  name = 'CreateIdempotency1732400000430';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // Money-moving requests by Idempotency-Key: the first answer, replayed for the same request; the
    // fingerprint tells a retry from a different request reusing the key.
    await q.query(`
      CREATE TABLE ${s}.idempotency_keys (
        tenant       text NOT NULL,
        operation    text NOT NULL,
        key          text NOT NULL,
        fingerprint  text NOT NULL,
        status       int NOT NULL,
        -- text, not jsonb: a replay answers byte for byte what the first request got (jsonb reorders keys)
        response     text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, operation, key)
      )`);
    // Each payment the provider reported, applied once: a redelivered or re-sent report changes nothing.
    await q.query(`
      CREATE TABLE ${s}.applied_payments (
        tenant      text NOT NULL,
        payment_id  text NOT NULL,
        customer    text NOT NULL,
        invoice_id  text NOT NULL,
        outcome     text NOT NULL,
        amount      numeric NOT NULL,
        occurred_at timestamptz NOT NULL,
        applied_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, payment_id)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.applied_payments`);
    await q.query(`DROP TABLE ${s}.idempotency_keys`);
  }
}
