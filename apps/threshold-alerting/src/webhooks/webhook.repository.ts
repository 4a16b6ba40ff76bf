import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { READ_DATA_SOURCE } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import type { EndpointSubscription, PlannedDelivery, WebhookEventKind } from './domain/event-kinds';

export const DELIVERY_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Endpoint {
  id: string;
  url: string;
  eventKinds: WebhookEventKind[];
  description: string | null;
  createdAt: string;
}

export interface Delivery {
  id: string;
  endpointId: string;
  eventKind: WebhookEventKind;
  eventType: string;
  eventId: string;
  status: DeliveryStatus;
  attempts: number;
  redeliveries: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: string;
  completedAt: string | null;
}

export interface DeliveryAttempt {
  round: number;
  attempt: number;
  startedAt: string;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
}

/** A delivery claimed for one attempt: what the sender needs, and the attempt it is (the guard of its result). */
export interface ClaimedDelivery {
  id: string;
  tenant: string;
  endpointId: string;
  url: string;
  secret: string;
  payload: string;
  attempt: number;
  round: number;
}

export interface AttemptRecord {
  startedAt: Date;
  durationMs: number;
  statusCode?: number;
  error?: string;
  responseBody?: string;
}

export type NextState = { status: 'succeeded' } | { status: 'failed' } | { status: 'pending'; delayMs: number };

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

interface EndpointRow {
  id: string;
  url: string;
  event_kinds: WebhookEventKind[];
  description: string | null;
  created_at: Date;
}

const endpointOf = (r: EndpointRow): Endpoint => ({ id: r.id, url: r.url, eventKinds: r.event_kinds, description: r.description, createdAt: r.created_at.toISOString() });

interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_kind: WebhookEventKind;
  event_type: string;
  event_id: string;
  status: DeliveryStatus;
  attempts: number;
  redeliveries: number;
  next_attempt_at: Date | null;
  last_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  completed_at: Date | null;
}

const DELIVERY_COLUMNS = `id, endpoint_id, event_kind, event_type, event_id, status, attempts, redeliveries, next_attempt_at, last_attempt_at, last_status_code, last_error, created_at, completed_at`;

const deliveryOf = (r: DeliveryRow): Delivery => ({
  id: r.id,
  endpointId: r.endpoint_id,
  eventKind: r.event_kind,
  eventType: r.event_type,
  eventId: r.event_id,
  status: r.status,
  attempts: r.attempts,
  redeliveries: r.redeliveries,
  // A pending delivery's next attempt; while an attempt is in flight this is its lease.
  nextAttemptAt: r.status === 'pending' ? iso(r.next_attempt_at) : null,
  lastAttemptAt: iso(r.last_attempt_at),
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  createdAt: r.created_at.toISOString(),
  completedAt: iso(r.completed_at),
});

/** Listing position: created_at and id of the last delivery of a page. */
export interface DeliveryCursor {
  createdAt: string;
  id: string;
}

/**
 * Webhook endpoints and deliveries. Every tenant API query names the tenant; reads use the API's read pool,
 * writes and the sender's claims the service's pool.
 */
@Injectable()
export class WebhookRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(READ_DATA_SOURCE) private readonly reads: DataSource,
  ) {}

  private get s(): string {
    return schemaOf(this.dataSource);
  }

  /** Registers an endpoint unless the tenant has `max` already (counted under a per-tenant lock). */
  async createEndpoint(tenant: string, e: { id: string; url: string; secret: string; eventKinds: string[]; description: string | null }, max: number): Promise<Endpoint | 'limit'> {
    return this.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('webhook-endpoints:' || $1))`, [tenant]);
      const [{ n }] = await m.query(`SELECT count(*)::int AS n FROM ${this.s}.webhook_endpoints WHERE tenant = $1 AND deleted_at IS NULL`, [tenant]);
      if (n >= max) return 'limit';
      const [row] = await m.query(
        `INSERT INTO ${this.s}.webhook_endpoints (id, tenant, url, secret, event_kinds, description) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, url, event_kinds, description, created_at`,
        [e.id, tenant, e.url, e.secret, e.eventKinds, e.description],
      );
      return endpointOf(row);
    });
  }

  async listEndpoints(tenant: string): Promise<Endpoint[]> {
    const rows: EndpointRow[] = await this.reads.query(
      `SELECT id, url, event_kinds, description, created_at FROM ${this.s}.webhook_endpoints WHERE tenant = $1 AND deleted_at IS NULL ORDER BY created_at, id`,
      [tenant],
    );
    return rows.map(endpointOf);
  }

  async getEndpoint(tenant: string, id: string): Promise<Endpoint | null> {
    const [row]: EndpointRow[] = await this.reads.query(
      `SELECT id, url, event_kinds, description, created_at FROM ${this.s}.webhook_endpoints WHERE tenant = $1 AND id = $2 AND deleted_at IS NULL`,
      [tenant, id],
    );
    return row ? endpointOf(row) : null;
  }

  /** Deletes an endpoint; its pending deliveries are recorded as failed (nothing is sent to it any more). */
  async deleteEndpoint(tenant: string, id: string): Promise<boolean> {
    return this.dataSource.transaction(async (m) => {
      const [, deleted]: [unknown[], number] = await m.query(`UPDATE ${this.s}.webhook_endpoints SET deleted_at = now() WHERE tenant = $1 AND id = $2 AND deleted_at IS NULL`, [tenant, id]);
      if (deleted === 0) return false;
      await m.query(
        `UPDATE ${this.s}.webhook_deliveries SET status = 'failed', last_error = 'endpoint deleted', completed_at = now() WHERE endpoint_id = $1 AND status = 'pending'`,
        [id],
      );
      return true;
    });
  }

  /** The live endpoints of these tenants (in the consumer's transaction). */
  async subscriptions(manager: EntityManager, tenants: string[]): Promise<EndpointSubscription[]> {
    if (tenants.length === 0) return [];
    const rows: Array<{ id: string; tenant: string; event_kinds: string[]; created_ms: string }> = await manager.query(
      `SELECT id, tenant, event_kinds, (extract(epoch FROM created_at) * 1000)::bigint AS created_ms
         FROM ${this.s}.webhook_endpoints WHERE tenant = ANY($1::text[]) AND deleted_at IS NULL`,
      [tenants],
    );
    return rows.map((r) => ({ id: r.id, tenant: r.tenant, eventKinds: r.event_kinds, createdAtMs: Number(r.created_ms) }));
  }

  /** Writes planned deliveries, due now; one already there (the same event consumed again) is left as it is. */
  async insertDeliveries(manager: EntityManager, planned: PlannedDelivery[]): Promise<number> {
    if (planned.length === 0) return 0;
    const rows: unknown[] = await manager.query(
      `INSERT INTO ${this.s}.webhook_deliveries (id, tenant, endpoint_id, event_kind, event_type, event_id, payload, status, next_attempt_at)
       SELECT d.id, d.tenant, d.endpoint_id, d.event_kind, d.event_type, d.event_id, d.payload, 'pending', now()
         FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[])
           AS d (id, tenant, endpoint_id, event_kind, event_type, event_id, payload)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        planned.map((p) => p.id),
        planned.map((p) => p.tenant),
        planned.map((p) => p.endpointId),
        planned.map((p) => p.eventKind),
        planned.map((p) => p.eventType),
        planned.map((p) => p.eventId),
        planned.map((p) => p.payload),
      ],
    );
    return rows.length;
  }

  /**
   * Newest first, `limit` per page; `after` continues from a page's last delivery (`last`). The cursor keeps
   * created_at to the microsecond: deliveries of one batch share it, and a millisecond cursor would skip some.
   */
  async listDeliveries(tenant: string, q: { status?: DeliveryStatus; endpointId?: string; limit: number; after?: DeliveryCursor }): Promise<{ deliveries: Delivery[]; last: DeliveryCursor | null }> {
    const params: unknown[] = [tenant];
    const where = ['tenant = $1'];
    if (q.status) where.push(`status = $${params.push(q.status)}`);
    if (q.endpointId) where.push(`endpoint_id = $${params.push(q.endpointId)}`);
    if (q.after) where.push(`(created_at, id) < ($${params.push(q.after.createdAt)}::timestamptz, $${params.push(q.after.id)})`);
    const rows: Array<DeliveryRow & { created_exact: string }> = await this.reads.query(
      `SELECT ${DELIVERY_COLUMNS}, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_exact
         FROM ${this.s}.webhook_deliveries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT $${params.push(q.limit)}`,
      params,
    );
    const last = rows[rows.length - 1];
    return { deliveries: rows.map(deliveryOf), last: last ? { createdAt: last.created_exact, id: last.id } : null };
  }

  async getDelivery(tenant: string, id: string): Promise<(Delivery & { payload: unknown; attemptLog: DeliveryAttempt[] }) | null> {
    const [row]: Array<DeliveryRow & { payload: string }> = await this.reads.query(
      `SELECT ${DELIVERY_COLUMNS}, payload FROM ${this.s}.webhook_deliveries WHERE tenant = $1 AND id = $2`,
      [tenant, id],
    );
    if (!row) return null;
    const attempts: Array<{ round: number; attempt: number; started_at: Date; duration_ms: number; status_code: number | null; error: string | null; response_body: string | null }> =
      await this.reads.query(`SELECT * FROM ${this.s}.webhook_delivery_attempts WHERE delivery_id = $1 ORDER BY round, attempt`, [id]);
    return {
      ...deliveryOf(row),
      payload: JSON.parse(row.payload) as unknown,
      attemptLog: attempts.map((a) => ({
        round: a.round, attempt: a.attempt, startedAt: a.started_at.toISOString(), durationMs: a.duration_ms, statusCode: a.status_code, error: a.error, responseBody: a.response_body,
      })),
    };
  }

  /**
   * Queues a finished delivery again, from attempt 1 of a new round, due now. A pending one (waiting or in flight)
   * is left alone, as is one whose endpoint was deleted.
   */
  async redeliver(tenant: string, id: string): Promise<Delivery | 'not_found' | 'pending' | 'endpoint_deleted'> {
    return this.dataSource.transaction(async (m) => {
      const [row]: Array<{ status: DeliveryStatus; deleted: boolean }> = await m.query(
        `SELECT d.status, e.deleted_at IS NOT NULL AS deleted FROM ${this.s}.webhook_deliveries d JOIN ${this.s}.webhook_endpoints e ON e.id = d.endpoint_id
          WHERE d.tenant = $1 AND d.id = $2 FOR UPDATE OF d`,
        [tenant, id],
      );
      if (!row) return 'not_found';
      if (row.deleted) return 'endpoint_deleted';
      if (row.status === 'pending') return 'pending';
      // TypeORM answers an UPDATE … RETURNING on Postgres with [rows, affected count].
      const [[updated]]: [DeliveryRow[], number] = await m.query(
        `UPDATE ${this.s}.webhook_deliveries SET status = 'pending', attempts = 0, redeliveries = redeliveries + 1, next_attempt_at = now(), completed_at = NULL
          WHERE id = $1 RETURNING ${DELIVERY_COLUMNS}`,
        [id],
      );
      return deliveryOf(updated);
    });
  }

  /**
   * Claims due deliveries for one attempt each. Per live endpoint (not one of `skipEndpoints`/`skipTenants`,
   * which are at their in-flight limit) at most `perEndpoint` of its longest-due deliveries are locked with SKIP
   * LOCKED — another instance claiming at the same time takes others — then `pick` chooses what fits the limits,
   * and those get the attempt counted and a lease (`next_attempt_at` = now + `leaseMs`): if this process dies
   * mid-request, the delivery is due again when the lease ends. The transaction holds no lock while sending.
   */
  async claimDue<C extends ClaimedDelivery>(
    o: { perEndpoint: number; skipEndpoints: string[]; skipTenants: string[]; leaseMs: number },
    pick: (candidates: ClaimedDelivery[]) => C[],
  ): Promise<C[]> {
    return this.dataSource.transaction(async (m) => {
      const rows: Array<{ id: string; tenant: string; endpoint_id: string; url: string; secret: string; payload: string; attempts: number; redeliveries: number }> = await m.query(
        `SELECT d.id, d.tenant, d.endpoint_id, e.url, e.secret, d.payload, d.attempts, d.redeliveries
           FROM ${this.s}.webhook_endpoints e
           CROSS JOIN LATERAL (
             SELECT dd.id, dd.tenant, dd.endpoint_id, dd.payload, dd.attempts, dd.redeliveries, dd.next_attempt_at
               FROM ${this.s}.webhook_deliveries dd
              WHERE dd.endpoint_id = e.id AND dd.status = 'pending' AND dd.next_attempt_at <= now()
              ORDER BY dd.next_attempt_at
              LIMIT $1
                FOR UPDATE SKIP LOCKED
           ) d
          WHERE e.deleted_at IS NULL AND NOT (e.id = ANY($2::uuid[])) AND NOT (e.tenant = ANY($3::text[]))
          ORDER BY d.next_attempt_at`,
        [o.perEndpoint, o.skipEndpoints, o.skipTenants],
      );
      const picked = pick(
        rows.map((r) => ({ id: r.id, tenant: r.tenant, endpointId: r.endpoint_id, url: r.url, secret: r.secret, payload: r.payload, attempt: r.attempts + 1, round: r.redeliveries })),
      );
      if (picked.length > 0) {
        await m.query(
          `UPDATE ${this.s}.webhook_deliveries SET attempts = attempts + 1, last_attempt_at = now(), next_attempt_at = now() + $2 * interval '1 millisecond' WHERE id = ANY($1::text[])`,
          [picked.map((p) => p.id), o.leaseMs],
        );
      }
      return picked;
    });
  }

  /**
   * Records an attempt and the delivery's next state. Applied only while the delivery is still in this claim
   * (pending, same round and attempt): a delivery whose endpoint was deleted meanwhile keeps its state.
   */
  async recordAttempt(claimed: ClaimedDelivery, record: AttemptRecord, next: NextState): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO ${this.s}.webhook_delivery_attempts (delivery_id, round, attempt, started_at, duration_ms, status_code, error, response_body)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
        [claimed.id, claimed.round, claimed.attempt, record.startedAt, record.durationMs, record.statusCode ?? null, record.error ?? null, record.responseBody ?? null],
      );
      await m.query(
        `UPDATE ${this.s}.webhook_deliveries
            SET status = $4,
                next_attempt_at = CASE WHEN $4 = 'pending' THEN now() + $5 * interval '1 millisecond' END,
                completed_at = CASE WHEN $4 = 'pending' THEN NULL ELSE now() END,
                last_status_code = $6, last_error = $7
          WHERE id = $1 AND redeliveries = $2 AND attempts = $3 AND status = 'pending'`,
        [claimed.id, claimed.round, claimed.attempt, next.status, next.status === 'pending' ? next.delayMs : 0, record.statusCode ?? null, record.error ?? null],
      );
    });
  }

  /** Gives a claim back uncounted (the attempt was aborted before an answer, e.g. at shutdown): due again now. */
  async releaseClaim(claimed: ClaimedDelivery): Promise<void> {
    await this.dataSource.query(
      `UPDATE ${this.s}.webhook_deliveries SET attempts = attempts - 1, next_attempt_at = now()
        WHERE id = $1 AND redeliveries = $2 AND attempts = $3 AND status = 'pending'`,
      [claimed.id, claimed.round, claimed.attempt],
    );
  }
}
