/**
 * How a tenant's invoices are numbered: `<prefix>-[<year>-]<sequence>`, the sequence zero-padded to
 * `digits`, e.g. `ACME-2026-000123`. The sequence is the tenant's, gap-free (taken in the finalize
 * transaction) and never reset, so numbers stay unique when the format changes: the prefix has no dash
 * and the year has four digits, so two different sequences never print the same number.
 */
export interface InvoiceNumbering {
  prefix: string;
  /** The finalization year in the customer's time zone, between prefix and sequence. */
  includeYear: boolean;
  digits: number;
}

export const DEFAULT_INVOICE_NUMBERING: InvoiceNumbering = { prefix: 'INV', includeYear: false, digits: 6 };

export const PREFIX_PATTERN = /^[A-Za-z0-9]{1,20}$/;

export function formatInvoiceNumber(numbering: InvoiceNumbering, sequence: number, finalizedAt: Date, timeZone: string): string {
  if (!Number.isSafeInteger(sequence) || sequence < 1) throw new Error(`invoice sequence must be a positive integer, got ${sequence}`);
  if (!PREFIX_PATTERN.test(numbering.prefix)) throw new Error(`invoice number prefix must be 1 to 20 letters or digits, got ${JSON.stringify(numbering.prefix)}`);
  const seq = String(sequence).padStart(numbering.digits, '0');
  if (!numbering.includeYear) return `${numbering.prefix}-${seq}`;
  const year = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric' }).format(finalizedAt);
  return `${numbering.prefix}-${year}-${seq}`;
}
