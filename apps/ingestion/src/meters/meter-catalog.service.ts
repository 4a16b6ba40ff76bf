import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { AGGREGATIONS, attributeProblem, INPUT_LIMITS, TOPICS, type Aggregation } from '@tally/contracts';
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
  /** Whether readings may be negative (default false: a negative value refuses the event). Numeric aggregations only. */
  allowNegative?: boolean;
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
        `INSERT INTO ${s}.meters (tenant, slug, description, event_type, aggregation, value_property, group_by, allow_negative)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (tenant, slug) DO UPDATE SET description = excluded.description, event_type = excluded.event_type,
           aggregation = excluded.aggregation, value_property = excluded.value_property, group_by = excluded.group_by,
           allow_negative = excluded.allow_negative, updated_at = now()`,
        [
          tenant,
          input.slug,
          input.description ?? null,
          input.eventType,
          input.aggregation,
          input.valueProperty ?? null,
          JSON.stringify(input.groupBy ?? {}),
          input.allowNegative ?? false,
        ],
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
          allowNegative: input.allowNegative ?? false,
          deleted: false,
        },
      });
      return { ...input, allowNegative: input.allowNegative ?? false };
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
        value: {
          eventId: randomUUID(),
          occurredAt: new Date().toISOString(),
          tenant,
          ...meter,
          groupBy: meter.groupBy ?? {},
          allowNegative: meter.allowNegative ?? false,
          deleted: true,
        },
      });
      return true;
    });
  }

  /** Meters of the given tenants, by tenant: one query per batch, not per event. */
  async metersFor(manager: EntityManager, tenants: string[]): Promise<Map<string, MeterRule[]>> {
    const s = schemaOf(manager.connection);
    const rows: Array<{
      tenant: string;
      slug: string;
      event_type: string;
      aggregation: Aggregation;
      value_property: string | null;
      group_by: Record<string, string>;
      allow_negative: boolean;
    }> = await manager.query(
      `SELECT tenant, slug, event_type, aggregation, value_property, group_by, allow_negative FROM ${s}.meters WHERE tenant = ANY($1::text[])`,
      [tenants],
    );
    const byTenant = new Map<string, MeterRule[]>();
    for (const r of rows) {
      const list = byTenant.get(r.tenant) ?? [];
      list.push({
        slug: r.slug,
        eventType: r.event_type,
        aggregation: r.aggregation,
        valueProperty: r.value_property,
        groupBy: r.group_by,
        allowNegative: r.allow_negative,
      });
      byTenant.set(r.tenant, list);
    }
    return byTenant;
  }
}

function toMeterInput(r: {
  slug: string;
  description: string | null;
  event_type: string;
  aggregation: Aggregation;
  value_property: string | null;
  group_by: Record<string, string>;
  allow_negative: boolean;
}): MeterInput {
  return {
    slug: r.slug,
    ...(r.description ? { description: r.description } : {}),
    eventType: r.event_type,
    aggregation: r.aggregation,
    ...(r.value_property ? { valueProperty: r.value_property } : {}),
    groupBy: r.group_by,
    allowNegative: r.allow_negative,
  };
}

/** Meter definitions are index keys and labels downstream (aggregation keys aggregates by slug). */
export const METER_LIMITS = { slugLength: 64, descriptionLength: 1024, groupByProperties: 16, groupByNameLength: 64 } as const;
const NEGATIVE_CAPABLE: ReadonlySet<Aggregation> = new Set(['SUM', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM']);

export function validateMeter(input: MeterInput): void {
  const errors: string[] = [];
  if (typeof input !== 'object' || input === null) throw new MeterValidationError([': must be a JSON object']);
  if (typeof input.slug !== 'string' || !/^[a-z0-9][a-z0-9_-]*$/.test(input.slug)) errors.push('slug: lower-case letters, digits, - and _');
  else if (input.slug.length > METER_LIMITS.slugLength) errors.push(`slug: at most ${METER_LIMITS.slugLength} characters`);
  if (input.description !== undefined && input.description !== null) {
    if (typeof input.description !== 'string') errors.push('description: must be a string');
    else if (input.description.length > METER_LIMITS.descriptionLength) errors.push(`description: at most ${METER_LIMITS.descriptionLength} characters`);
    else if (attributeProblem(input.description, Infinity)) errors.push(`description: ${attributeProblem(input.description, Infinity)}`);
  }
  if (!input.eventType || typeof input.eventType !== 'string') errors.push('eventType: is required');
  // An event type no event can carry would make a meter that never counts.
  else if (attributeProblem(input.eventType, INPUT_LIMITS.attributeBytes.type)) errors.push(`eventType: ${attributeProblem(input.eventType, INPUT_LIMITS.attributeBytes.type)}`);
  if (input.allowNegative !== undefined && typeof input.allowNegative !== 'boolean') errors.push('allowNegative: must be true or false');
  else if (input.allowNegative === true && !NEGATIVE_CAPABLE.has(input.aggregation)) errors.push(`allowNegative: only numeric aggregations read values that can be negative, not ${input.aggregation}`);
  if (input.groupBy !== undefined && (input.groupBy === null || typeof input.groupBy !== 'object' || Array.isArray(input.groupBy))) {
    errors.push('groupBy: must be an object of name -> JSONPath');
    throw new MeterValidationError(errors);
  }
  const groupByNames = Object.keys(input.groupBy ?? {});
  if (groupByNames.length > METER_LIMITS.groupByProperties) errors.push(`groupBy: at most ${METER_LIMITS.groupByProperties} properties`);
  for (const name of groupByNames) {
    const problem = name === '' ? 'must not be empty' : attributeProblem(name, METER_LIMITS.groupByNameLength);
    if (problem) errors.push(`groupBy.${name}: the name ${problem}`);
  }
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
