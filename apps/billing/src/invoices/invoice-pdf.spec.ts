import { composeInvoice, priceCharge } from '@tally/pricing';
import type { InvoiceView } from './invoice.service';
import { renderInvoicePdf } from './invoice-pdf';
import { pdfText } from './pdf-text.testing';

const document = composeInvoice(
  {
    currency: 'EUR',
    period: { start: '2026-09-01T00:00:00Z', end: '2026-10-01T00:00:00Z' },
    baseFee: { amount: '49', description: 'Pro base fee' },
    charges: [{ code: 'api', meter: 'api-calls', model: 'graduated', properties: { graduated_ranges: [
      { from_value: 0, to_value: 1000, per_unit_amount: '0.01', flat_amount: '0' },
      { from_value: 1001, to_value: null, per_unit_amount: '0.005', flat_amount: '0' }] }, usage: { units: '2500' } }],
    taxRatePercent: '19',
  },
  priceCharge,
);
const invoice = (over: Partial<InvoiceView> = {}): InvoiceView => ({
  id: 'inv-1', number: 'ACME-2026-000123', kind: 'period', customer: 'c-1', subscriptionId: 's-1', status: 'finalized', periodStart: '2026-09-01T00:00:00.000Z',
  periodEnd: '2026-10-01T00:00:00.000Z', currency: 'EUR', issuedAt: '2026-10-01T02:00:00.000Z', dueAt: '2026-10-15T02:00:00.000Z', paidAt: null,
  paymentAttempts: 0, nextPaymentAttemptAt: null, document, ...over,
});

describe('renderInvoicePdf', () => {
  it('is a PDF that parses back, showing the number, every line, its tiers and the totals', async () => {
    const pdf = await renderInvoicePdf(invoice(), 'One GmbH');
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(pdf.subarray(-6).toString('latin1')).toMatch(/%%EOF\s*$/);
    const { pages, text, title } = await pdfText(pdf);
    expect(pages).toBe(1);
    expect(title).toBe('Invoice ACME-2026-000123');
    expect(text).toContain('Invoice ACME-2026-000123');
    expect(text).toContain('FINALIZED');
    expect(text).toContain('One GmbH (c-1)');
    expect(text).toContain('Due 2026-10-15T02:00:00.000Z');
    for (const line of document.lines) {
      expect(text).toContain(line.description);
      expect(text).toContain(`${line.amount} EUR`);
      // ∞ is not in the standard fonts' encoding.
      for (const b of line.breakdown) expect(text).toContain(b.description.replace('∞', '?'));
    }
    // 49 + 17.50 usage = 66.50, 19 % tax 12.64: 79.14.
    expect(document.total).toBe('79.14');
    const totals = text.slice(text.indexOf('Subtotal'));
    expect(totals).toMatch(/Subtotal\n66\.50 EUR\nDiscounts\n-0\.00 EUR\nTax\n12\.64 EUR\nTotal\n79\.14 EUR\nPrepaid credits applied\n0\.00 EUR\nAmount due\n79\.14 EUR/);
  });

  it('is the same bytes for the same invoice (its dates are the document dates)', async () => {
    expect((await renderInvoicePdf(invoice(), 'One GmbH')).equals(await renderInvoicePdf(invoice(), 'One GmbH'))).toBe(true);
  });

  it('prints characters the standard fonts lack as "?", and hostile text as text', async () => {
    const { text } = await pdfText(await renderInvoicePdf(invoice({ customer: 'c-<x>' }), '上海 Ltd ) Tj (injected) € é'));
    expect(text).toContain('?? Ltd ) Tj (injected) € é (c-<x>)');
  });

  it('a draft says so; a long invoice flows onto more pages', async () => {
    const many = composeInvoice({ currency: 'EUR', period: { start: '2026-09-01T00:00:00Z', end: '2026-10-01T00:00:00Z' },
      charges: Array.from({ length: 80 }, (_, i) => ({ code: `m${i}`, meter: `m${i}`, model: 'standard', properties: { amount: '1' }, usage: { units: String(i) } })) }, priceCharge);
    const { pages, text } = await pdfText(await renderInvoicePdf(invoice({ number: null, status: 'draft', issuedAt: null, dueAt: null, document: many }), 'X'));
    expect(pages).toBeGreaterThan(1);
    expect(text).toContain('Invoice (draft)');
    expect(text).toContain('Amount due');
    expect(text).toContain(`${many.total} EUR`);
  });
});
