import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { OutboxPublisher, problem } from '@tally/nest-platform';
import { planKey, TOPICS, type PlanChanged } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { CustomerDefinition } from './customer-definition';
import type { PlanDefinition } from './plan-definition';

export interface Customer extends CustomerDefinition {
  accountStatus: string;
}

export interface PlanVersion {
  version: number;
  plan: PlanDefinition;
  createdAt: string;
}

/** Customers and versioned plans of each tenant. */
@Injectable()
export class CatalogRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxPublisher,
  ) {}

  private get s(): string {
    return schemaOf(this.dataSource);
  }

  async upsertCustomer(tenant: string, c: CustomerDefinition): Promise<{ customer: Customer; created: boolean }> {
    // Live subscriptions' periods are cut in the customer's time zone: changing it under them would leave a
    // gap or an overlap between the stored period and the next, so the update is refused while any is live.
    const [row] = await this.dataSource.query(
      `INSERT INTO ${this.s}.customers AS c (tenant, customer_id, name, currency, timezone, billing_email, tax_rate)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (tenant, customer_id) DO UPDATE SET name = excluded.name, currency = excluded.currency, timezone = excluded.timezone,
         billing_email = excluded.billing_email, tax_rate = excluded.tax_rate
       WHERE c.timezone = excluded.timezone OR NOT EXISTS (
         SELECT 1 FROM ${this.s}.subscriptions s WHERE s.tenant = c.tenant AND s.customer = c.customer_id AND s.status <> 'canceled')
       RETURNING (xmax = 0) AS created, *`,
      [tenant, c.id, c.name, c.currency, c.timezone, c.billingEmail ?? null, c.taxRate],
    );
    if (!row) {
      throw problem(409, `customer "${c.id}" has live subscriptions: its time zone cannot change until they end`, [
        { pointer: '/timezone', detail: 'cannot change while subscriptions are live' },
      ]);
    }
    return { customer: toCustomer(row), created: row.created };
  }

  async customer(tenant: string, id: string, manager: EntityManager = this.dataSource.manager): Promise<Customer | null> {
    const [row] = await manager.query(`SELECT * FROM ${this.s}.customers WHERE tenant = $1 AND customer_id = $2`, [tenant, id]);
    return row ? toCustomer(row) : null;
  }

  async customers(tenant: string): Promise<Customer[]> {
    const rows = await this.dataSource.query(`SELECT * FROM ${this.s}.customers WHERE tenant = $1 ORDER BY customer_id`, [tenant]);
    return rows.map(toCustomer);
  }

  /**
   * Stores the definition as the plan's next version (1 for a new plan); an unchanged definition keeps its version.
   * Either way the plan's latest version goes to `billing.plans.v1` through the outbox, in this transaction
   * (re-posting an unchanged plan republishes it: consumers keep the highest version, so it is harmless).
   */
  async addPlanVersion(tenant: string, plan: PlanDefinition): Promise<{ version: PlanVersion; created: boolean }> {
    return this.outbox.inTransaction(async (m, emit) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.s}:plan:${tenant}:${plan.code}`]);
      // jsonb equality ignores key order, so re-posting the same plan is recognised as unchanged.
      const [latest] = await m.query(
        `SELECT version, definition, created_at, definition = $3::jsonb AS unchanged FROM ${this.s}.plans WHERE tenant = $1 AND code = $2 ORDER BY version DESC LIMIT 1`,
        [tenant, plan.code, JSON.stringify(plan)],
      );
      if (latest?.unchanged) {
        const kept = { version: latest.version, plan: latest.definition, createdAt: latest.created_at.toISOString() };
        emit({ topic: TOPICS.billingPlans, key: planKey(tenant, plan.code), value: planChanged(tenant, kept) });
        return { version: kept, created: false };
      }
      const version = (latest?.version ?? 0) + 1;
      const [row] = await m.query(
        `INSERT INTO ${this.s}.plans (tenant, code, version, definition) VALUES ($1, $2, $3, $4) RETURNING created_at`,
        [tenant, plan.code, version, JSON.stringify(plan)],
      );
      const created = { version, plan, createdAt: row.created_at.toISOString() };
      emit({ topic: TOPICS.billingPlans, key: planKey(tenant, plan.code), value: planChanged(tenant, created) });
      return { version: created, created: true };
    });
  }

  async planVersions(tenant: string, code: string): Promise<PlanVersion[]> {
    const rows = await this.dataSource.query(`SELECT version, definition, created_at FROM ${this.s}.plans WHERE tenant = $1 AND code = $2 ORDER BY version`, [tenant, code]);
    return rows.map((r: { version: number; definition: PlanDefinition; created_at: Date }) => ({ version: r.version, plan: r.definition, createdAt: r.created_at.toISOString() }));
  }

  async plan(tenant: string, code: string, version?: number, manager: EntityManager = this.dataSource.manager): Promise<PlanVersion | null> {
    const [row] = await manager.query(
      `SELECT version, definition, created_at FROM ${this.s}.plans WHERE tenant = $1 AND code = $2 AND ($3::int IS NULL OR version = $3)
       ORDER BY version DESC LIMIT 1`,
      [tenant, code, version ?? null],
    );
    return row ? { version: row.version, plan: row.definition, createdAt: row.created_at.toISOString() } : null;
  }

  async plans(tenant: string): Promise<Array<PlanVersion & { code: string }>> {
    const rows = await this.dataSource.query(
      `SELECT DISTINCT ON (code) code, version, definition, created_at FROM ${this.s}.plans WHERE tenant = $1 ORDER BY code, version DESC`,
      [tenant],
    );
    return rows.map((r: { code: string; version: number; definition: PlanDefinition; created_at: Date }) => ({ code: r.code, version: r.version, plan: r.definition, createdAt: r.created_at.toISOString() }));
  }
}

/** `billing.plans.v1`: what other services need to price a plan (threshold-alerting's upgrade recommendation). */
function planChanged(tenant: string, v: PlanVersion): PlanChanged {
  const p = v.plan;
  return {
    eventId: `${tenant}:plan:${p.code}:${v.version}`, occurredAt: v.createdAt, tenant, planCode: p.code, version: v.version, name: p.name,
    currency: p.currency, interval: p.interval, baseFee: p.baseFee,
    charges: p.charges.map((c) => ({ meter: c.meter, model: c.model, properties: c.properties, ...(c.includedUnits !== undefined ? { includedUnits: c.includedUnits } : {}) })),
  };
}

function toCustomer(r: Record<string, unknown>): Customer {
  return {
    id: r.customer_id as string,
    name: r.name as string,
    currency: r.currency as string,
    timezone: r.timezone as string,
    ...(r.billing_email ? { billingEmail: r.billing_email as string } : {}),
    taxRate: String(r.tax_rate),
    accountStatus: r.account_status as string,
  };
}
