import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { schemaOf } from '@tally/postgres';
import { DEFAULT_INVOICE_NUMBERING, formatInvoiceNumber, type InvoiceNumbering } from '../domain/invoice-numbering';

/** Each tenant's invoice number format (the default `INV-000001` until one is set). */
@Injectable()
export class InvoiceNumberingRepository {
  constructor(private readonly dataSource: DataSource) {}

  async get(tenant: string, m: EntityManager = this.dataSource.manager): Promise<InvoiceNumbering> {
    const [row]: Array<{ prefix: string; include_year: boolean; digits: number }> = await m.query(
      `SELECT prefix, include_year, digits FROM ${schemaOf(m.connection)}.invoice_numbering WHERE tenant = $1`,
      [tenant],
    );
    return row ? { prefix: row.prefix, includeYear: row.include_year, digits: row.digits } : DEFAULT_INVOICE_NUMBERING;
  }

  /**
   * The tenant's next invoice number in its format, for an invoice finalized at `finalizedAt` (the year in the
   * customer's zone). The sequence row stays locked to commit, so numbers are gap-free per tenant: call it in
   * the finalizing transaction.
   */
  async next(m: EntityManager, tenant: string, finalizedAt: Date, timeZone: string): Promise<string> {
    const [seq]: Array<{ last: number }> = await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.invoice_numbers (tenant, last) VALUES ($1, 1) ON CONFLICT (tenant) DO UPDATE SET last = invoice_numbers.last + 1 RETURNING last`,
      [tenant],
    );
    return formatInvoiceNumber(await this.get(tenant, m), seq.last, finalizedAt, timeZone);
  }

  async set(tenant: string, numbering: InvoiceNumbering): Promise<InvoiceNumbering> {
    await this.dataSource.query(
      `INSERT INTO ${schemaOf(this.dataSource)}.invoice_numbering (tenant, prefix, include_year, digits) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant) DO UPDATE SET prefix = excluded.prefix, include_year = excluded.include_year, digits = excluded.digits, updated_at = now()`,
      [tenant, numbering.prefix, numbering.includeYear, numbering.digits],
    );
    return numbering;
  }
}
