import type { EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export interface OutboxRecord {
  /** Physical topic name. */
  topic: string;
  key: string | null;
  value: string;
  headers?: Record<string, string>;
}

/**
 * Writes derived events into the outbox inside the caller's transaction, so they exist if and only if
 * the state change that produced them committed. One multi-row INSERT per call.
 */
export async function writeOutbox(manager: EntityManager, records: OutboxRecord[]): Promise<void> {
  if (records.length === 0) return;
  const s = schemaOf(manager.connection);
  await manager.query(`INSERT INTO ${s}.outbox (topic, message_key, value, headers) ${FROM_RECORDS}`, recordParams(records));
}

/**
 * The end of a consumed batch in one round trip: its derived events into the outbox and the partition's
 * next offset stored, in the caller's transaction. (Round trips, not rows, are what a small batch costs.)
 */
export async function writeOutboxAndOffset(
  manager: EntityManager,
  records: OutboxRecord[],
  offset: { groupId: string; topic: string; partition: number; next: string },
): Promise<void> {
  const s = schemaOf(manager.connection);
  await manager.query(
    `WITH written AS (INSERT INTO ${s}.outbox (topic, message_key, value, headers) ${FROM_RECORDS})
     UPDATE ${s}.consumer_offsets SET next_offset = $8, updated_at = now() WHERE group_id = $5 AND topic = $6 AND partition = $7`,
    [...recordParams(records), offset.groupId, offset.topic, offset.partition, offset.next],
  );
}

const FROM_RECORDS = `SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`;

function recordParams(records: OutboxRecord[]): unknown[] {
  return [
    records.map((r) => r.topic),
    records.map((r) => r.key),
    records.map((r) => r.value),
    records.map((r) => JSON.stringify(r.headers ?? {})),
  ];
}
