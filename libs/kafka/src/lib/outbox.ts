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
  await manager.query(
    `INSERT INTO ${s}.outbox (topic, message_key, value, headers)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[])`,
    [
      records.map((r) => r.topic),
      records.map((r) => r.key),
      records.map((r) => r.value),
      records.map((r) => JSON.stringify(r.headers ?? {})),
    ],
  );
}
