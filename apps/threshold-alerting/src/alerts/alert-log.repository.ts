import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AlertKind, UsageThresholdAlert } from '@tally/contracts';
import { feedAtSql, READ_DATA_SOURCE, type FeedCursor, type FeedPage } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';

export interface AlertFilter {
  customer: string | null;
  meter: string | null;
  kind: AlertKind | null;
}

export interface AlertLogRow {
  id: string;
  at: string;
  payload: UsageThresholdAlert;
}

/** The alert log (migration 1732400000360): written by AlertLogConsumer, read by the alerts API on the read pool. */
@Injectable()
export class AlertLogRepository {
  constructor(@Inject(READ_DATA_SOURCE) private readonly read: DataSource) {}

  /** In the consumer's transaction; a redelivered alert (same event id) is the same row. */
  async record(manager: EntityManager, alerts: UsageThresholdAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    await manager.query(
      `INSERT INTO ${schemaOf(manager.connection)}.alert_log (tenant, event_id, customer, meter, kind, occurred_at, payload)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::jsonb[])
       ON CONFLICT (tenant, event_id) DO NOTHING`,
      [
        alerts.map((a) => a.tenant),
        alerts.map((a) => a.eventId),
        alerts.map((a) => a.customer),
        alerts.map((a) => a.meter),
        alerts.map((a) => a.kind),
        alerts.map((a) => a.occurredAt),
        alerts.map((a) => JSON.stringify(a)),
      ],
    );
  }

  /** The tenant's alerts newest first; `page.limit + 1` rows so the caller knows whether there are more. */
  async list(tenant: string, filter: AlertFilter, page: FeedPage): Promise<AlertLogRow[]> {
    const s = schemaOf(this.read);
    return this.read.query(
      `SELECT id::text, ${feedAtSql('occurred_at')} AS at, payload FROM ${s}.alert_log
       WHERE tenant = $1
         AND ($2::text IS NULL OR customer = $2) AND ($3::text IS NULL OR meter = $3) AND ($4::text IS NULL OR kind = $4)
         AND ($5::timestamptz IS NULL OR occurred_at >= $5)
         AND ($6::timestamptz IS NULL OR (occurred_at, id) < ($6, $7::bigint))
       ORDER BY occurred_at DESC, id DESC LIMIT $8`,
      [tenant, filter.customer, filter.meter, filter.kind, page.since, page.after?.at ?? null, page.after?.id ?? null, page.limit + 1],
    );
  }

  /**
   * Deletes at most `limit` alerts older than `cutoff` (all tenants) in one statement of its own (autocommit), so a
   * pass of many batches holds each row lock only for its batch. Reads the oldest first through alert_log_retention;
   * rows another instance's pass has locked are skipped (left for it) rather than waited for. By ctid (the selected
   * rows are locked, so they cannot move): a TID scan, where joining on the key seq-scanned the table per batch.
   */
  async deleteOlderThan(write: DataSource, cutoff: Date, limit: number): Promise<number> {
    const s = schemaOf(write);
    const [{ n }] = await write.query(
      `WITH gone AS (
         DELETE FROM ${s}.alert_log WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${s}.alert_log WHERE occurred_at < $1 ORDER BY occurred_at LIMIT $2 FOR UPDATE SKIP LOCKED))
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff.toISOString(), limit],
    );
    return n as number;
  }
}

export const alertCursor = (r: AlertLogRow): FeedCursor => ({ at: r.at, id: r.id });
