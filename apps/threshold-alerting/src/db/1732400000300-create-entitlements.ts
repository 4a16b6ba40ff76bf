import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateEntitlements1732400000300 implements MigrationInterface {
  name = 'CreateEntitlements1732400000300';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    // Projection of billing.subscriptions.v1: what each customer may use this period.
    await q.query(`
      CREATE TABLE ${s}.entitlements (
        tenant       text NOT NULL,
        customer     text NOT NULL,
        meter        text NOT NULL,
        period_start timestamptz NOT NULL,
        period_end   timestamptz NOT NULL,
        included     numeric NOT NULL,
        thresholds   int[] NOT NULL,
        hard_limit   boolean NOT NULL,
        PRIMARY KEY (tenant, customer, meter)
      )`);
    // Each threshold fires once per customer, meter and period: the primary key enforces it.
    await q.query(`
      CREATE TABLE ${s}.fired_thresholds (
        tenant       text NOT NULL,
        customer     text NOT NULL,
        meter        text NOT NULL,
        period_start timestamptz NOT NULL,
        percent      int NOT NULL,
        kind         text NOT NULL,
        usage        numeric NOT NULL,
        fired_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, customer, meter, period_start, percent)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    for (const t of ['fired_thresholds', 'entitlements']) await q.query(`DROP TABLE ${s}.${t}`);
  }
}
