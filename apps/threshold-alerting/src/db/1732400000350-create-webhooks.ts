import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Webhooks (src/webhooks):
 * - webhook_endpoints: a tenant's URL, signing secret (kept readable: every attempt signs with it) and event
 *   kinds; deleted endpoints stay (deleted_at) so their deliveries remain visible.
 * - webhook_deliveries: one row per (endpoint, event type, event id), written in the webhooks consumer's
 *   transaction with its offsets; `payload` is the exact body every attempt sends. `next_attempt_at` doubles as
 *   the lease of a claimed delivery, so a crashed sender's delivery is tried again when the lease runs out.
 * - webhook_delivery_attempts: every attempt with its answer, for the deliveries API; `round` is 0 for the first
 *   delivery and n for the n-th redelivery (each starts again at attempt 1).
 */
export class CreateWebhooks1732400000350 implements MigrationInterface {
  name = 'CreateWebhooks1732400000350';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.webhook_endpoints (
        id          uuid PRIMARY KEY,
        tenant      text NOT NULL,
        url         text NOT NULL,
        secret      text NOT NULL,
        event_kinds text[] NOT NULL,
        description text,
        created_at  timestamptz NOT NULL DEFAULT now(),
        deleted_at  timestamptz
      )`);
    await q.query(`CREATE INDEX webhook_endpoints_tenant ON ${s}.webhook_endpoints (tenant) WHERE deleted_at IS NULL`);
    await q.query(`
      CREATE TABLE ${s}.webhook_deliveries (
        id               text PRIMARY KEY,
        tenant           text NOT NULL,
        endpoint_id      uuid NOT NULL REFERENCES ${s}.webhook_endpoints (id),
        event_kind       text NOT NULL,
        event_type       text NOT NULL,
        event_id         text NOT NULL,
        payload          text NOT NULL,
        status           text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
        attempts         int  NOT NULL DEFAULT 0,
        redeliveries     int  NOT NULL DEFAULT 0,
        next_attempt_at  timestamptz,
        last_attempt_at  timestamptz,
        last_status_code int,
        last_error       text,
        created_at       timestamptz NOT NULL DEFAULT now(),
        completed_at     timestamptz,
        UNIQUE (endpoint_id, event_type, event_id)
      )`);
    await q.query(`CREATE INDEX webhook_deliveries_due ON ${s}.webhook_deliveries (endpoint_id, next_attempt_at) WHERE status = 'pending'`);
    await q.query(`CREATE INDEX webhook_deliveries_listing ON ${s}.webhook_deliveries (tenant, created_at DESC, id DESC)`);
    await q.query(`
      CREATE TABLE ${s}.webhook_delivery_attempts (
        delivery_id   text NOT NULL REFERENCES ${s}.webhook_deliveries (id),
        round         int  NOT NULL,
        attempt       int  NOT NULL,
        started_at    timestamptz NOT NULL,
        duration_ms   int  NOT NULL,
        status_code   int,
        error         text,
        response_body text,
        PRIMARY KEY (delivery_id, round, attempt)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.webhook_delivery_attempts`);
    await q.query(`DROP TABLE ${s}.webhook_deliveries`);
    await q.query(`DROP TABLE ${s}.webhook_endpoints`);
  }
}
