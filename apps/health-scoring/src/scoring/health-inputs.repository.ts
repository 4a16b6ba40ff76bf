import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import type { HealthInputs, HealthScore } from '../domain/health-scorer';

export interface Customer {
  tenant: string;
  customer: string;
}

export interface StoredHealth extends Customer {
  inputs: HealthInputs;
  previous: HealthScore | null;
}

@Injectable()
export class HealthInputsRepository {
  async markActive(manager: EntityManager, customers: Customer[]): Promise<void> {
    await this.upsert(manager, customers, 'active', customers.map(() => true), 'boolean', 'true');
  }

  async raiseUsagePercent(manager: EntityManager, customers: Customer[], percents: number[]): Promise<void> {
    await this.upsert(manager, customers, 'usage_percent', percents, 'numeric', 'GREATEST(h.usage_percent, excluded.usage_percent)');
  }

  async setAccountStatus(manager: EntityManager, customers: Customer[], statuses: string[]): Promise<void> {
    await this.upsert(manager, customers, 'account_status', statuses, 'text', 'excluded.account_status');
  }

  async load(manager: EntityManager, customers: Customer[]): Promise<StoredHealth[]> {
    if (customers.length === 0) return [];
    const rows: Array<Customer & { usage_percent: string | null; active: boolean; account_status: HealthInputs['accountStatus']; open_tickets: number; nps: number | null; score: string | null; band: HealthScore['band'] | null; components: HealthScore['components'] | null }> =
      await manager.query(
        `SELECT * FROM ${schemaOf(manager.connection)}.customer_health
         WHERE (tenant, customer) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
        [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
      );
    return rows.map((r) => ({
      tenant: r.tenant,
      customer: r.customer,
      inputs: {
        usagePercent: r.usage_percent === null ? null : Number(r.usage_percent),
        active: r.active,
        accountStatus: r.account_status,
        openTickets: r.open_tickets,
        nps: r.nps,
      },
      previous: r.score === null || !r.band || !r.components ? null : { score: Number(r.score), band: r.band, components: r.components },
    }));
  }

  async saveScores(manager: EntityManager, scored: Array<Customer & { score: HealthScore }>): Promise<void> {
    if (scored.length === 0) return;
    const s = schemaOf(manager.connection);
    const params = [
      scored.map((c) => c.tenant),
      scored.map((c) => c.customer),
      scored.map((c) => c.score.score),
      scored.map((c) => c.score.band),
      scored.map((c) => JSON.stringify(c.score.components)),
    ];
    await manager.query(
      `UPDATE ${s}.customer_health h SET score = t.score, band = t.band, components = t.components, updated_at = now()
       FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[], $5::jsonb[]) AS t(tenant, customer, score, band, components)
       WHERE h.tenant = t.tenant AND h.customer = t.customer`,
      params,
    );
    await manager.query(
      `INSERT INTO ${s}.score_history (tenant, customer, score, band)
       SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[], $4::text[])`,
      params.slice(0, 4),
    );
  }

  private async upsert(manager: EntityManager, customers: Customer[], column: string, values: unknown[], type: string, onConflict: string): Promise<void> {
    if (customers.length === 0) return;
    await manager.query(
      `INSERT INTO ${schemaOf(manager.connection)}.customer_health AS h (tenant, customer, ${column})
       SELECT * FROM unnest($1::text[], $2::text[], $3::${type}[])
       ON CONFLICT (tenant, customer) DO UPDATE SET ${column} = ${onConflict}, updated_at = now()`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer), values],
    );
  }
}
