import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AGGREGATIONS, TOPICS, type Aggregation } from '@tally/contracts';
import { OutboxPublisher } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { randomUUID } from 'node:crypto';
import { parseJsonPath } from './json-path';
import type { MeterRule } from './meter-readings';

export interface MeterInput {
  slug: string;
  description?: string;
  eventType: string;
  aggregation: Aggregation;
  valueProperty?: string;
  groupBy?: Record<string, string>;
}

/** Owns meter definitions; every change is also published to the compacted `catalog.meters.v1`. */
@Injectable()
export class MeterCatalogService {
  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly dataSource: DataSource,
  ) {}

  async upsert(tenant: string, input: MeterInput): Promise<MeterInput> {
    validateMeter(input);
    return this.outbox.inTransaction(async (manager, emit) => {
      const s = schemaOf(manager.connection);
      await manager.query(
        `INSERT INTO ${s}.meters (tenant, slug, description, event_type, aggregation, value_property, group_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (tenant, slug) DO UPDATE SET description = excluded.description, event_type = excluded.event_type,
           aggregation = excluded.aggregation, value_property = excluded.value_property, group_by = excluded.group_by,
           updated_at = now()`,
        [tenant, input.slug, input.description ?? null, input.eventType, input.aggregation, input.valueProperty ?? null, JSON.stringify(input.groupBy ?? {})],
      );
      emit({
        topic: TOPICS.catalogMeters,
        key: `${tenant}:${input.slug}`,
        value: {
          eventId: randomUUID(),
          occurredAt: new Date().toISOString(),
          tenant,
          slug: input.slug,
          description: input.description,
          eventType: input.eventType,
          aggregation: input.aggregation,
          valueProperty: input.valueProperty,
          groupBy: input.groupBy ?? {},
          deleted: false,
        },
      });
      return input;
    });
  }

  async list(tenant: string): Promise<MeterInput[]> {
    const rows = await this.dataSource.query(`SELECT * FROM ${schemaOf(this.dataSource)}.meters WHERE tenant = $1 ORDER BY slug`, [tenant]);
    return rows.map(toMeterInput);
  }

  async get(tenant: string, slug: string): Promise<MeterInput | null> {
    const rows = await this.dataSource.query(`SELECT * FROM ${schemaOf(this.dataSource)}.meters WHERE tenant = $1 AND slug = $2`, [tenant, slug]);
    return rows[0] ? toMeterInput(rows[0]) : null;
  }

  /** Deletes a meter and publishes its tombstone (`deleted: true`). */
  async remove(tenant: string, slug: string): Promise<boolean> {
    return this.outbox.inTransaction(async (manager, emit) => {
      // TypeORM answers UPDATE/DELETE with [rows, affected], not rows.
      const [rows] = await manager.query(`DELETE FROM ${schemaOf(manager.connection)}.meters WHERE tenant = $1 AND slug = $2 RETURNING *`, [tenant, slug]);
      if (rows.length === 0) return false;
      const meter = toMeterInput(rows[0]);
      emit({
        topic: TOPICS.catalogMeters,
        key: `${tenant}:${slug}`,
        value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant, ...meter, groupBy: meter.groupBy ?? {}, deleted: true },
      });
      return true;
    });
  }

  /** Meters of the given tenants, by tenant: one query per batch, not per event. */
  async metersFor(manager: EntityManager, tenants: string[]): Promise<Map<string, MeterRule[]>> {
    const s = schemaOf(manager.connection);
    const rows: Array<{ tenant: string; slug: string; event_type: string; aggregation: Aggregation; value_property: string | null; group_by: Record<string, string> }> =
      await manager.query(`SELECT tenant, slug, event_type, aggregation, value_property, group_by FROM ${s}.meters WHERE tenant = ANY($1::text[])`, [tenants]);
    const byTenant = new Map<string, MeterRule[]>();
    for (const r of rows) {
      const list = byTenant.get(r.tenant) ?? [];
      list.push({ slug: r.slug, eventType: r.event_type, aggregation: r.aggregation, valueProperty: r.value_property, groupBy: r.group_by });
      byTenant.set(r.tenant, list);
    }
    return byTenant;
  }
}

function toMeterInput(r: { slug: string; description: string | null; event_type: string; aggregation: Aggregation; value_property: string | null; group_by: Record<string, string> }): MeterInput {
  return {
    slug: r.slug,
    ...(r.description ? { description: r.description } : {}),
    eventType: r.event_type,
    aggregation: r.aggregation,
    ...(r.value_property ? { valueProperty: r.value_property } : {}),
    groupBy: r.group_by,
  };
}

export function validateMeter(input: MeterInput): void {
  const errors: string[] = [];
  if (typeof input !== 'object' || input === null) throw new MeterValidationError([': must be a JSON object']);
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(input.slug ?? '')) errors.push('slug: lower-case letters, digits, - and _');
  if (!input.eventType || typeof input.eventType !== 'string') errors.push('eventType: is required');
  if (!AGGREGATIONS.includes(input.aggregation)) errors.push(`aggregation: one of ${AGGREGATIONS.join(', ')}`);
  if (input.aggregation === 'COUNT' && input.valueProperty) errors.push('valueProperty: COUNT takes no value property');
  if (input.aggregation !== 'COUNT' && AGGREGATIONS.includes(input.aggregation) && !input.valueProperty) errors.push(`valueProperty: is required for ${input.aggregation}`);
  for (const [field, path] of [['valueProperty', input.valueProperty], ...Object.entries(input.groupBy ?? {}).map(([k, v]) => [`groupBy.${k}`, v])]) {
    // A group-by path may not be empty: extractReadings would throw on every event of the meter's type.
    if (field === 'valueProperty' && !path) continue;
    try {
      if (typeof path !== 'string') throw new Error('must be a JSONPath string');
      parseJsonPath(path);
    } catch (e) {
      errors.push(`${field}: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new MeterValidationError(errors);
}

export class MeterValidationError extends Error {
  constructor(readonly errors: string[]) {
    super(`invalid meter: ${errors.join('; ')}`);
  }
}
