import PDFDocument from 'pdfkit';
import type { InvoiceView } from './invoice.service';

/**
 * PDF's standard fonts (Helvetica, no embedded file) cover WinAnsi (Latin-1 and a few more): other
 * characters (a customer name in Chinese...) are printed as "?" rather than as wrong glyphs. The HTML
 * and JSON invoices keep them.
 */
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const printable = (v: unknown): string =>
  [...String(v ?? '')].map((c) => ((c >= ' ' && c <= '~') || (c >= '\u00a0' && c <= '\u00ff') || WIN_ANSI_EXTRA.has(c) ? c : '?')).join('');

/**
 * The invoice as a PDF (A4), with what the HTML rendering shows: number, status, customer, period,
 * issue and due dates, every line with its tier breakdown, and the totals. The JSON document stays the
 * source of truth. Deterministic for a given invoice (its dates are the document's dates).
 */
export function renderInvoicePdf(invoice: InvoiceView, customerName: string): Promise<Buffer> {
  const d = invoice.document;
  const issued = invoice.issuedAt ? new Date(invoice.issuedAt) : new Date(invoice.periodEnd);
  const doc = new PDFDocument({
    size: 'A4',
    margin: 50,
    info: { Title: `Invoice ${invoice.number ?? 'draft'}`, Author: 'Tally', CreationDate: issued, ModDate: issued },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve, reject) => {
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });

  const money = (v: string) => `${v} ${d.currency}`;
  const left = doc.page.margins.left;
  const width = doc.page.width - left - doc.page.margins.right;
  const cols = { kind: left, description: left + 90, units: left + width - 170, amount: left + width - 90 };
  const row = (kind: string, description: string, units: string, amount: string, opts: { bold?: boolean; size?: number; indent?: number } = {}) => {
    doc.font(opts.bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(opts.size ?? 9);
    if (doc.y > doc.page.height - doc.page.margins.bottom - 40) doc.addPage();
    const y = doc.y;
    doc.text(printable(kind), cols.kind, y, { width: 85 });
    doc.text(printable(description), cols.description + (opts.indent ?? 0), y, { width: cols.units - cols.description - 10 - (opts.indent ?? 0) });
    const after = doc.y;
    doc.text(printable(units), cols.units, y, { width: 75, align: 'right' });
    doc.text(printable(amount), cols.amount, y, { width: 90, align: 'right' });
    doc.x = left;
    doc.y = Math.max(after, doc.y) + 3;
  };

  doc.font('Helvetica-Bold').fontSize(18).text(printable(`Invoice ${invoice.number ?? '(draft)'}`), left, doc.y);
  doc.moveDown(0.3);
  doc.font('Helvetica-Bold').fontSize(10).text(invoice.status.toUpperCase());
  doc.font('Helvetica').fontSize(10).text(printable(`${customerName} (${invoice.customer})`));
  doc.text(`Period ${invoice.periodStart} - ${invoice.periodEnd}`);
  if (invoice.issuedAt) doc.text(`Issued ${invoice.issuedAt}`);
  if (invoice.dueAt) doc.text(`Due ${invoice.dueAt}`);
  doc.moveDown();
  row('Kind', 'Description', 'Units', 'Amount', { bold: true });
  for (const l of d.lines) {
    row(l.kind.replace(/_/g, ' '), l.description, l.units ?? '', money(l.amount));
    for (const b of l.breakdown) row('', b.description, b.units, b.amount, { size: 8, indent: 12 });
  }
  doc.moveDown(0.5);
  const total = (label: string, value: string) => row('', label, '', money(value), { bold: true });
  total('Subtotal', d.subtotal);
  total('Discounts', `-${d.discountTotal}`.replace('--', ''));
  total('Tax', d.tax);
  total('Total', d.total);
  total('Prepaid credits applied', d.creditsApplied);
  total('Amount due', d.amountDue);
  doc.moveDown();
  doc.font('Helvetica').fontSize(7).text(
    "Amounts are rounded once per line to the currency's minor unit, half away from zero; the JSON invoice keeps every line's unrounded amount.",
    left,
    doc.y,
    { width },
  );
  doc.end();
  return done;
}
