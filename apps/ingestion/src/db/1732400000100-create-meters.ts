import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateMeters1732400000100 implements MigrationInterface {
  name = 'CreateMeters1732400000100';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.meters (
        tenant         text NOT NULL,
        slug           text NOT NULL,
        description    text,
        event_type     text NOT NULL,
        aggregation    text NOT NULL,
        value_property text,
        group_by       jsonb NOT NULL DEFAULT '{}',
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant, slug)
      )`);
    await q.query(`CREATE INDEX meters_by_event_type ON ${s}.meters (tenant, event_type)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.meters`);
  }
}
