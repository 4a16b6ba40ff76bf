import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/**
 * Every input kept as facts (not as a running maximum), so a score can be recomputed at any time as the
 * facts age: DAY usage windows (newest version wins), subscriptions (entitlements), meter kinds, invoices,
 * support tickets, NPS answers, threshold alerts per period. Plus per-tenant weights, signals already sent,
 * the rescoring job's failures, and a fuller score history.
 */
export class CreateHealthSignals1732400000510 implements MigrationInterface {
  name = 'CreateHealthSignals1732400000510';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // usage_percent and active were running values that never reset; the facts below replace them.
    await q.query(`ALTER TABLE ${s}.customer_health DROP COLUMN usage_percent, DROP COLUMN active, DROP COLUMN open_tickets, DROP COLUMN nps,
      ADD COLUMN overdue_invoices int NOT NULL DEFAULT 0,
      ADD COLUMN account_status_at timestamptz,
      ADD COLUMN contributions jsonb,
      ADD COLUMN scored_at timestamptz,
      ADD COLUMN rescore_due_at timestamptz,
      ADD COLUMN last_drop_signal_at timestamptz`);
    await q.query(`CREATE INDEX customer_health_due ON ${s}.customer_health (rescore_due_at) WHERE rescore_due_at IS NOT NULL`);
    await q.query(`CREATE INDEX customer_health_band ON ${s}.customer_health (tenant, band, customer)`);
    await q.query(`ALTER TABLE ${s}.score_history ADD COLUMN id bigserial, ADD COLUMN inputs jsonb, ADD COLUMN contributions jsonb, ADD COLUMN trigger text`);
    await q.query(`
      CREATE TABLE ${s}.usage_days (
        tenant text NOT NULL, customer text NOT NULL, meter text NOT NULL, day date NOT NULL,
        value numeric NOT NULL, version bigint NOT NULL,
        PRIMARY KEY (tenant, customer, meter, day))`);
    await q.query(`CREATE TABLE ${s}.meter_kinds (tenant text NOT NULL, meter text NOT NULL, aggregation text NOT NULL, PRIMARY KEY (tenant, meter))`);
    await q.query(`
      CREATE TABLE ${s}.subscriptions (
        tenant text NOT NULL, customer text NOT NULL, subscription_id text NOT NULL,
        plan text NOT NULL, status text NOT NULL, period_start timestamptz NOT NULL, period_end timestamptz NOT NULL,
        entitlements jsonb NOT NULL, first_seen_at timestamptz NOT NULL, changed_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, customer, subscription_id))`);
    await q.query(`
      CREATE TABLE ${s}.invoices (
        tenant text NOT NULL, customer text NOT NULL, invoice_id text NOT NULL, subscription_id text NOT NULL,
        status text NOT NULL, currency text NOT NULL, period_start timestamptz NOT NULL, period_end timestamptz NOT NULL,
        total numeric NOT NULL, due_at timestamptz, paid_at timestamptz, first_failed_at timestamptz, changed_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, invoice_id))`);
    await q.query(`CREATE INDEX invoices_by_customer ON ${s}.invoices (tenant, customer)`);
    await q.query(`
      CREATE TABLE ${s}.support_tickets (
        tenant text NOT NULL, ticket_id text NOT NULL, customer text NOT NULL,
        status text NOT NULL, priority text NOT NULL, opened_at timestamptz NOT NULL, changed_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, ticket_id))`);
    await q.query(`CREATE INDEX support_tickets_by_customer ON ${s}.support_tickets (tenant, customer)`);
    await q.query(`
      CREATE TABLE ${s}.nps_responses (
        tenant text NOT NULL, response_id text NOT NULL, customer text NOT NULL, score int NOT NULL, answered_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, response_id))`);
    await q.query(`CREATE INDEX nps_responses_by_customer ON ${s}.nps_responses (tenant, customer, answered_at)`);
    await q.query(`
      CREATE TABLE ${s}.threshold_periods (
        tenant text NOT NULL, customer text NOT NULL, meter text NOT NULL, period_start timestamptz NOT NULL, period_end timestamptz NOT NULL,
        max_percent numeric NOT NULL, overage boolean NOT NULL, first_alert_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, customer, meter, period_start))`);
    await q.query(`CREATE TABLE ${s}.tenant_weights (tenant text PRIMARY KEY, weights jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
    await q.query(`
      CREATE TABLE ${s}.expansion_signals (
        tenant text NOT NULL, customer text NOT NULL, signal text NOT NULL, signal_key text NOT NULL, emitted_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, customer, signal, signal_key))`);
    await q.query(`
      CREATE TABLE ${s}.rescore_failures (
        tenant text NOT NULL, customer text NOT NULL, error text NOT NULL, attempts int NOT NULL,
        first_failed_at timestamptz NOT NULL, last_failed_at timestamptz NOT NULL, next_attempt_at timestamptz NOT NULL,
        PRIMARY KEY (tenant, customer))`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    for (const t of ['rescore_failures', 'expansion_signals', 'tenant_weights', 'threshold_periods', 'nps_responses', 'support_tickets', 'invoices', 'subscriptions', 'meter_kinds', 'usage_days']) {
      await q.query(`DROP TABLE ${s}.${t}`);
    }
    await q.query(`ALTER TABLE ${s}.score_history DROP COLUMN id, DROP COLUMN inputs, DROP COLUMN contributions, DROP COLUMN trigger`);
    await q.query(`DROP INDEX ${s}.customer_health_due`);
    await q.query(`DROP INDEX ${s}.customer_health_band`);
    await q.query(`ALTER TABLE ${s}.customer_health DROP COLUMN overdue_invoices, DROP COLUMN account_status_at, DROP COLUMN contributions, DROP COLUMN scored_at,
      DROP COLUMN rescore_due_at, DROP COLUMN last_drop_signal_at,
      ADD COLUMN usage_percent numeric, ADD COLUMN active boolean NOT NULL DEFAULT false, ADD COLUMN open_tickets int NOT NULL DEFAULT 0, ADD COLUMN nps int`);
  }
}
