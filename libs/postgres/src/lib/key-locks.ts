import type { EntityManager } from 'typeorm';

/**
 * Above this many distinct keys a transaction takes one exclusive lock on the whole namespace instead of a lock
 * per key. Postgres keeps every advisory lock in a shared table of max_locks_per_transaction × max_connections
 * entries (64 × 100 by default, for every session of the server): a batch spanning 10,000 customers, one lock
 * each, fails with "out of shared memory" (53200) and is retried, for ever if it stays that large.
 */
export const KEY_LOCK_ESCALATION_THRESHOLD = 500;

/**
 * Exclusive transaction-scoped advisory locks on `keys` within `namespace`, at most
 * KEY_LOCK_ESCALATION_THRESHOLD + 1 of them: every transaction first takes the namespace lock (shared when it
 * locks keys one by one, exclusive when it has more keys than the threshold), then its key locks in one sorted
 * order. So a transaction holding the namespace exclusively excludes every key, two transactions sharing a key
 * are serialized, and none can deadlock (the namespace first, then keys ascending). The namespace lock lives
 * in the two-int4 key space and the key locks in the bigint one, which Postgres keeps apart.
 */
export async function lockKeys(manager: EntityManager, namespace: string, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const distinct = new Set(keys);
  if (distinct.size > KEY_LOCK_ESCALATION_THRESHOLD) {
    await manager.query(`SELECT pg_advisory_xact_lock(hashtext($1), 0)`, [namespace]);
    return;
  }
  await manager.query(`SELECT pg_advisory_xact_lock_shared(hashtext($1), 0)`, [namespace]);
  await manager.query(
    `SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended($1 || ':' || k, 0) AS h FROM unnest($2::text[]) AS k ORDER BY 1) locks`,
    [namespace, [...distinct]],
  );
}
