import type { EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/** Which of the given tenant ids exist in ingestion's tenants table: one query per batch. */
export async function knownTenants(manager: EntityManager, ids: string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows: Array<{ id: string }> = await manager.query(`SELECT id FROM ${schemaOf(manager.connection)}.tenants WHERE id = ANY($1::text[])`, [ids]);
  return new Set(rows.map((r) => r.id));
}
