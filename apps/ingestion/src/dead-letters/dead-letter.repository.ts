import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { feedAtSql, READ_DATA_SOURCE, type FeedPage } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import type { DeadLetterEntry } from './dead-letter-entry';

export interface StoredDeadLetter {
  id: string;
  at: string;
  dlq_topic: string;
  tenant: string | null;
  reason: string;
  source_topic: string | null;
  source_partition: number | null;
  source_offset: string | null;
  source_timestamp: string | null;
  message_key: string | null;
  headers: Record<string, string>;
  value: string | null;
  value_base64: string | null;
  value_size: number;
  value_sha256: string | null;
  truncated: boolean;
}

/** Who reads: one tenant (its dead letters only), or the operator (all, optionally one tenant's or the tenantless). */
export type DeadLetterScope = { tenant: string } | { operator: true; tenant: string | null; tenantless: boolean };

@Injectable()
export class DeadLetterRepository {
  constructor(@Inject(READ_DATA_SOURCE) private readonly read: DataSource) {}

  /** In the consumer's transaction; a DLQ offset read twice (e.g. after an offset reset) is the same row. */
  async record(manager: EntityManager, entries: Array<{ topic: string; partition: number; offset: string; entry: DeadLetterEntry }>): Promise<void> {
    if (entries.length === 0) return;
    const col = <T>(f: (e: (typeof entries)[number]) => T) => entries.map(f);
    await manager.query(
      `INSERT INTO ${schemaOf(manager.connection)}.dead_letters (dlq_topic, dlq_partition, dlq_offset, tenant, reason, source_topic, source_partition, source_offset,
         source_timestamp, message_key, headers, value, value_base64, value_size, value_sha256, truncated, dead_lettered_at)
       SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::text[],
         $11::jsonb[], $12::text[], $13::text[], $14::int[], $15::text[], $16::boolean[], $17::timestamptz[])
       ON CONFLICT (dlq_topic, dlq_partition, dlq_offset) DO NOTHING`,
      [
        col((e) => e.topic), col((e) => e.partition), col((e) => e.offset), col((e) => e.entry.tenant), col((e) => e.entry.reason),
        col((e) => e.entry.source.topic), col((e) => e.entry.source.partition), col((e) => e.entry.source.offset), col((e) => e.entry.source.timestamp),
        col((e) => e.entry.key), col((e) => JSON.stringify(e.entry.headers)), col((e) => e.entry.value), col((e) => e.entry.valueBase64),
        col((e) => e.entry.valueSize), col((e) => e.entry.valueSha256), col((e) => e.entry.truncated), col((e) => e.entry.deadLetteredAt),
      ],
    );
  }

  /** Newest first; `page.limit + 1` rows. A tenant's scope is `tenant = $1`: a null tenant never equals anything. */
  async list(scope: DeadLetterScope, page: FeedPage): Promise<StoredDeadLetter[]> {
    const operator = 'operator' in scope;
    const tenant = scope.tenant;
    return this.read.query(
      `SELECT id::text, ${feedAtSql('dead_lettered_at')} AS at, dlq_topic, tenant, reason, source_topic, source_partition, source_offset, source_timestamp,
              message_key, headers, value, value_base64, value_size, value_sha256, truncated
       FROM ${schemaOf(this.read)}.dead_letters
       WHERE ${operator ? '($1::text IS NULL OR tenant = $1) AND (NOT $2::boolean OR tenant IS NULL)' : 'tenant = $1 AND $2::boolean IS NOT NULL'}
         AND ($3::timestamptz IS NULL OR dead_lettered_at >= $3) AND ($4::timestamptz IS NULL OR (dead_lettered_at, id) < ($4, $5::bigint))
       ORDER BY dead_lettered_at DESC, id DESC LIMIT $6`,
      [tenant, operator ? scope.tenantless : false, page.since, page.after?.at ?? null, page.after?.id ?? null, page.limit + 1],
    );
  }

  /**
   * Deletes at most `limit` dead letters older than `cutoff` (every tenant and the tenantless) in one statement of its
   * own (autocommit), so a pass of many batches holds each row lock only for its batch. dead_letters_feed
   * (dead_lettered_at DESC, id DESC) serves the oldest-first read; rows another instance's pass holds are skipped.
   * By ctid (the selected rows are locked, so they cannot move): a TID scan rather than a join on the key.
   */
  async deleteOlderThan(write: DataSource, cutoff: Date, limit: number): Promise<number> {
    const s = schemaOf(write);
    const [{ n }] = await write.query(
      `WITH gone AS (
         DELETE FROM ${s}.dead_letters WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${s}.dead_letters WHERE dead_lettered_at < $1 ORDER BY dead_lettered_at LIMIT $2 FOR UPDATE SKIP LOCKED))
         RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [cutoff.toISOString(), limit],
    );
    return n as number;
  }
}
