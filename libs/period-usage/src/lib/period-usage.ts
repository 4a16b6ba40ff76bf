import type { EntityManager, MigrationInterface, QueryRunner } from 'typeorm';
import type { UsageAggregate } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';

export class CreatePeriodUsage1732400000050 implements MigrationInterface {
  name = 'CreatePeriodUsage1732400000050';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE ${schemaOf(q.connection)}.period_usage (
        tenant       text NOT NULL,
        customer     text NOT NULL,
        meter        text NOT NULL,
        period_start timestamptz NOT NULL,
        period_end   timestamptz NOT NULL,
        value        numeric NOT NULL,
        event_count  bigint NOT NULL,
        version      bigint NOT NULL,
        PRIMARY KEY (tenant, customer, meter, period_start)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.period_usage`);
  }
}

export interface HasAggregate {
  value: UsageAggregate;
}

/** The PERIOD aggregates of a batch, newest version per (customer, meter, period). */
export function newestPeriodAggregates<M extends HasAggregate>(messages: M[]): M[] {
  return newestAggregates(messages, 'PERIOD');
}

/** The aggregates of one window kind in a batch, newest version per (customer, meter, window start). */
export function newestAggregates<M extends HasAggregate>(messages: M[], windowKind: UsageAggregate['windowKind']): M[] {
  const newest = new Map<string, M>();
  for (const m of messages) {
    const a = m.value;
    if (a.windowKind !== windowKind) continue;
    const id = `${a.tenant}\u0000${a.customer}\u0000${a.meter}\u0000${a.windowStart}`;
    const held = newest.get(id);
    if (!held || held.value.version < a.version) newest.set(id, m);
  }
  return [...newest.values()];
}

/**
 * Applies PERIOD aggregates; one older than the version held is ignored (idempotent and reorder-safe).
 * `heldUnitDays: true` also keeps the aggregate's `heldUnitDays` (NULL when absent) in a `held_unit_days`
 * column the consumer added (billing, for prorated charges).
 */
export async function applyPeriodUsage(manager: EntityManager, aggregates: UsageAggregate[], options: { heldUnitDays?: boolean } = {}): Promise<void> {
  if (aggregates.length === 0) return;
  if (options.heldUnitDays) return applyWithHeldUnitDays(manager, aggregates);
  await manager.query(
    `INSERT INTO ${schemaOf(manager.connection)}.period_usage AS u (tenant, customer, meter, period_start, period_end, value, event_count, version)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::bigint[], $8::bigint[])
     ON CONFLICT (tenant, customer, meter, period_start)
     DO UPDATE SET value = excluded.value, event_count = excluded.event_count, version = excluded.version
     WHERE u.version < excluded.version`,
    [
      aggregates.map((a) => a.tenant),
      aggregates.map((a) => a.customer),
      aggregates.map((a) => a.meter),
      aggregates.map((a) => a.windowStart),
      aggregates.map((a) => a.windowEnd),
      aggregates.map((a) => a.value),
      aggregates.map((a) => a.eventCount),
      aggregates.map((a) => a.version),
    ],
  );
}

async function applyWithHeldUnitDays(manager: EntityManager, aggregates: UsageAggregate[]): Promise<void> {
  await manager.query(
    `INSERT INTO ${schemaOf(manager.connection)}.period_usage AS u (tenant, customer, meter, period_start, period_end, value, event_count, version, held_unit_days)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::numeric[], $7::bigint[], $8::bigint[], $9::numeric[])
     ON CONFLICT (tenant, customer, meter, period_start)
     DO UPDATE SET value = excluded.value, event_count = excluded.event_count, version = excluded.version, held_unit_days = excluded.held_unit_days
     WHERE u.version < excluded.version`,
    [
      aggregates.map((a) => a.tenant),
      aggregates.map((a) => a.customer),
      aggregates.map((a) => a.meter),
      aggregates.map((a) => a.windowStart),
      aggregates.map((a) => a.windowEnd),
      aggregates.map((a) => a.value),
      aggregates.map((a) => a.eventCount),
      aggregates.map((a) => a.version),
      aggregates.map((a) => a.heldUnitDays ?? null),
    ],
  );
}
