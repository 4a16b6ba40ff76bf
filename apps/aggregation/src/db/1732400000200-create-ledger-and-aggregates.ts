import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateLedgerAndAggregates1732400000200 implements MigrationInterface {
  name = 'CreateLedgerAndAggregates1732400000200';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // The ledger is both the dedupe set ((tenant, source, id) is the idempotency key) and the event
    // store customers reconcile invoices against.
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
        ingested_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, source, event_id)
      )`);
    await q.query(`CREATE INDEX event_ledger_by_subject_time ON ${s}.event_ledger (tenant, subject, time)`);
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
    await q.query(`DROP TABLE ${s}.event_ledger`);
  }
}
