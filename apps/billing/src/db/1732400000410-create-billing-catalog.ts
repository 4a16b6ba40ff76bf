import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateBillingCatalog1732400000410 implements MigrationInterface {
  name = 'CreateBillingCatalog1732400000410';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.customers (
        tenant         text NOT NULL,
        customer_id    text NOT NULL,
        name           text NOT NULL,
        currency       text NOT NULL,
        timezone       text NOT NULL,
        billing_email  text,
        tax_rate       numeric NOT NULL DEFAULT 0,
        account_status text NOT NULL DEFAULT 'good_standing',
        created_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, customer_id)
      )`);
    // Plans are versioned: a change inserts a new version; subscriptions keep theirs until migrated.
    await q.query(`
      CREATE TABLE ${s}.plans (
        tenant     text NOT NULL,
        code       text NOT NULL,
        version    int NOT NULL,
        definition jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, code, version)
      )`);
    await q.query(`ALTER TABLE ${s}.subscriptions
      ADD COLUMN plan_version int NOT NULL DEFAULT 1,
      ADD COLUMN currency text NOT NULL DEFAULT 'USD',
      ADD COLUMN billing_time text NOT NULL DEFAULT 'calendar',
      ADD COLUMN started_at timestamptz,
      ADD COLUMN cancel_at_period_end boolean NOT NULL DEFAULT false,
      ADD COLUMN ended_at timestamptz`);
    // One row per subscription period: what it was on (plan changes, pauses) and whether it is invoiced.
    await q.query(`
      CREATE TABLE ${s}.billing_periods (
        tenant          text NOT NULL,
        subscription_id text NOT NULL,
        period_start    timestamptz NOT NULL,
        period_end      timestamptz NOT NULL,
        customer        text NOT NULL,
        plan_code       text NOT NULL,
        plan_version    int NOT NULL,
        active_from     timestamptz NOT NULL,
        active_to       timestamptz,
        plan_change     jsonb,
        paused_ms       bigint NOT NULL DEFAULT 0,
        paused_at       timestamptz,
        invoice_id      text,
        PRIMARY KEY (tenant, subscription_id, period_start)
      )`);
    await q.query(`CREATE INDEX billing_periods_open ON ${s}.billing_periods (period_end) WHERE invoice_id IS NULL`);
    // Exactly one invoice per subscription and period: the unique key makes a repeated close a no-op.
    await q.query(`
      CREATE TABLE ${s}.invoices (
        tenant                  text NOT NULL,
        invoice_id              text NOT NULL,
        number                  text NOT NULL,
        customer                text NOT NULL,
        subscription_id         text NOT NULL,
        period_start            timestamptz NOT NULL,
        period_end              timestamptz NOT NULL,
        currency                text NOT NULL,
        status                  text NOT NULL,
        document                jsonb NOT NULL,
        total                   numeric NOT NULL,
        amount_due              numeric NOT NULL,
        created_at              timestamptz NOT NULL DEFAULT now(),
        finalized_at            timestamptz,
        due_at                  timestamptz,
        paid_at                 timestamptz,
        payment_attempts        int NOT NULL DEFAULT 0,
        last_payment_failed_at  timestamptz,
        next_payment_attempt_at timestamptz,
        PRIMARY KEY (tenant, invoice_id),
        UNIQUE (tenant, subscription_id, period_start),
        UNIQUE (tenant, number)
      )`);
    await q.query(`CREATE INDEX invoices_by_customer ON ${s}.invoices (tenant, customer, period_start DESC)`);
    await q.query(`CREATE TABLE ${s}.invoice_numbers (tenant text PRIMARY KEY, last int NOT NULL)`);
    // Units each invoice billed per meter: usage arriving later is billed as the difference next time.
    await q.query(`
      CREATE TABLE ${s}.invoiced_usage (
        tenant          text NOT NULL,
        subscription_id text NOT NULL,
        period_start    timestamptz NOT NULL,
        meter           text NOT NULL,
        units           numeric NOT NULL,
        PRIMARY KEY (tenant, subscription_id, period_start, meter)
      )`);
    await q.query(`
      CREATE TABLE ${s}.credit_wallets (
        tenant   text NOT NULL,
        customer text NOT NULL,
        currency text NOT NULL,
        balance  numeric NOT NULL,
        PRIMARY KEY (tenant, customer, currency)
      )`);
    await q.query(`
      CREATE TABLE ${s}.credit_transactions (
        id         bigserial PRIMARY KEY,
        tenant     text NOT NULL,
        customer   text NOT NULL,
        currency   text NOT NULL,
        amount     numeric NOT NULL,
        reason     text NOT NULL,
        invoice_id text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    for (const t of ['credit_transactions', 'credit_wallets', 'invoiced_usage', 'invoice_numbers', 'invoices', 'billing_periods', 'plans', 'customers']) {
      await q.query(`DROP TABLE ${s}.${t}`);
    }
    await q.query(`ALTER TABLE ${s}.subscriptions DROP COLUMN plan_version, DROP COLUMN currency, DROP COLUMN billing_time,
      DROP COLUMN started_at, DROP COLUMN cancel_at_period_end, DROP COLUMN ended_at`);
  }
}
