import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

/** The per-meter negative-values policy: existing meters keep refusing negative readings. */
export class MetersAllowNegative1732400000120 implements MigrationInterface {
  name = 'MetersAllowNegative1732400000120';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.meters ADD COLUMN allow_negative boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE ${schemaOf(q.connection)}.meters DROP COLUMN allow_negative`);
  }
}
