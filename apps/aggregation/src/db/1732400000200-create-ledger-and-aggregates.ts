import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateLedgerAndAggregates1732400000200 implements MigrationInterface {
  name = 'CreateLedgerAndAggregates1732400000200';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // Dedupe: (tenant, source, id) is the idempotency key. Kept apart from the ledger because a unique
    // key on a partitioned table must include the partition key (time), and a resent event may carry
    // another time.
    await q.query(`
      CREATE TABLE ${s}.event_ids (
        tenant   text NOT NULL,
        source   text NOT NULL,
        event_id text NOT NULL,
        time     timestamptz NOT NULL,
        PRIMARY KEY (tenant, source, event_id)
      )`);
    await q.query(`CREATE INDEX event_ids_by_time ON ${s}.event_ids (time)`);
    // The event store customers reconcile invoices against, one partition per UTC day of event time so
    // retention drops whole days cheaply. Partitions are created as events arrive.
    await q.query(`
      CREATE TABLE ${s}.event_ledger (
        tenant      text NOT NULL,
        source      text NOT NULL,
        event_id    text NOT NULL,
        subject     text NOT NULL,
        type        text NOT NULL,
        time        timestamptz NOT NULL,
        readings    jsonb NOT NULL,
        data        jsonb NOT NULL,
        ingested_at timestamptz NOT NULL DEFAULT now()
      ) PARTITION BY RANGE (time)`);
    await q.query(`CREATE INDEX event_ledger_by_subject_time ON ${s}.event_ledger (tenant, subject, time)`);
    await q.query(`CREATE INDEX event_ledger_by_tenant_time ON ${s}.event_ledger (tenant, time)`);
    // Billing periods per customer, from billing.subscriptions.v1: the PERIOD window of an event.
    await q.query(`
      CREATE TABLE ${s}.customer_periods (
        tenant       text NOT NULL,
        customer     text NOT NULL,
        period_start timestamptz NOT NULL,
        period_end   timestamptz NOT NULL,
        PRIMARY KEY (tenant, customer, period_start)
      )`);
    await q.query(`
      CREATE TABLE ${s}.window_aggregates (
        tenant          text NOT NULL,
        customer        text NOT NULL,
        meter           text NOT NULL,
        window_kind     text NOT NULL,
        window_start    timestamptz NOT NULL,
        window_end      timestamptz NOT NULL,
        aggregation     text NOT NULL,
        sum_value       numeric NOT NULL DEFAULT 0,
        event_count     bigint NOT NULL DEFAULT 0,
        min_value       numeric,
        max_value       numeric,
        latest_value    numeric,
        latest_time     timestamptz,
        distinct_count  bigint NOT NULL DEFAULT 0,
        last_event_time timestamptz NOT NULL,
        version         bigint NOT NULL,
        PRIMARY KEY (tenant, customer, meter, window_kind, window_start)
      )`);
    await q.query(`
      CREATE TABLE ${s}.window_distinct_values (
        tenant       text NOT NULL,
        customer     text NOT NULL,
        meter        text NOT NULL,
        window_kind  text NOT NULL,
        window_start timestamptz NOT NULL,
        value        text NOT NULL,
        PRIMARY KEY (tenant, customer, meter, window_kind, window_start, value)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.window_distinct_values`);
    await q.query(`DROP TABLE ${s}.window_aggregates`);
    await q.query(`DROP TABLE ${s}.customer_periods`);
    await q.query(`DROP TABLE ${s}.event_ledger`);
    await q.query(`DROP TABLE ${s}.event_ids`);
  }
}
