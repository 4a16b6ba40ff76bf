import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateTenantsAndApiKeys1732400000110 implements MigrationInterface {
  name = 'CreateTenantsAndApiKeys1732400000110';

  async up(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`
      CREATE TABLE ${s}.tenants (
        id         text PRIMARY KEY,
        name       text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    // Only a SHA-256 of each key is stored; the key itself is shown once, when it is created.
    await q.query(`
      CREATE TABLE ${s}.api_keys (
        id         text PRIMARY KEY,
        tenant     text NOT NULL REFERENCES ${s}.tenants (id),
        key_hash   text NOT NULL UNIQUE,
        key_prefix text NOT NULL,
        name       text,
        created_at timestamptz NOT NULL DEFAULT now(),
        revoked_at timestamptz
      )`);
    await q.query(`CREATE INDEX api_keys_by_tenant ON ${s}.api_keys (tenant)`);
  }

  async down(q: QueryRunner): Promise<void> {
    const s = schemaOf(q.connection);
    await q.query(`DROP TABLE ${s}.api_keys`);
    await q.query(`DROP TABLE ${s}.tenants`);
  }
}
