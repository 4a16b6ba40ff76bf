import type { MigrationInterface, QueryRunner } from 'typeorm';
import { schemaOf } from '@tally/postgres';

export class CreateInvoiceNumbering1732400000472 implements MigrationInterface {
  name = 'CreateInvoiceNumbering1732400000472';

  async up(q: QueryRunner): Promise<void> {
    // A tenant's invoice number format; its sequence stays invoice_numbers (one counter per tenant).
    await q.query(`
      CREATE TABLE ${schemaOf(q.connection)}.invoice_numbering (
        tenant       text PRIMARY KEY,
        prefix       text NOT NULL,
        include_year boolean NOT NULL,
        digits       int NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.invoice_numbering`);
  }
}
