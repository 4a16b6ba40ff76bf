import { DEFAULT_INVOICE_NUMBERING, formatInvoiceNumber } from './invoice-numbering';

const at = new Date('2026-12-31T20:00:00Z');

describe('formatInvoiceNumber', () => {
  it('keeps the former numbers by default', () => {
    expect(formatInvoiceNumber(DEFAULT_INVOICE_NUMBERING, 1, at, 'UTC')).toBe('INV-000001');
    expect(formatInvoiceNumber(DEFAULT_INVOICE_NUMBERING, 1234567, at, 'UTC')).toBe('INV-1234567');
  });

  it('prints prefix, year and padded sequence', () => {
    expect(formatInvoiceNumber({ prefix: 'ACME', includeYear: true, digits: 6 }, 123, at, 'UTC')).toBe('ACME-2026-000123');
    expect(formatInvoiceNumber({ prefix: 'acme2', includeYear: false, digits: 1 }, 42, at, 'UTC')).toBe('acme2-42');
  });

  it('takes the year in the customer time zone: New Year in Tokyo comes before UTC', () => {
    expect(formatInvoiceNumber({ prefix: 'A', includeYear: true, digits: 4 }, 7, at, 'Asia/Tokyo')).toBe('A-2027-0007');
    expect(formatInvoiceNumber({ prefix: 'A', includeYear: true, digits: 4 }, 7, at, 'America/New_York')).toBe('A-2026-0007');
  });

  it.each([0, -1, 1.5, Number.NaN, 2 ** 53])('refuses the sequence %p', (seq) => {
    expect(() => formatInvoiceNumber(DEFAULT_INVOICE_NUMBERING, seq, at, 'UTC')).toThrow(/positive integer/);
  });

  it.each(['', 'A-B', 'ÄCME', 'x'.repeat(21), 'A B'])('refuses the prefix %p', (prefix) => {
    expect(() => formatInvoiceNumber({ ...DEFAULT_INVOICE_NUMBERING, prefix }, 1, at, 'UTC')).toThrow(/prefix/);
  });

  it('never prints one number for two sequences, across formats', () => {
    const formats = [DEFAULT_INVOICE_NUMBERING, { prefix: 'INV', includeYear: true, digits: 6 }, { prefix: 'INV', includeYear: false, digits: 1 }, { prefix: 'INV2026', includeYear: false, digits: 6 }];
    const seen = new Map<string, number>();
    for (const f of formats) {
      for (const seq of [1, 2, 20, 2026, 202601, 1000000]) {
        const n = formatInvoiceNumber(f, seq, at, 'UTC');
        if (seen.has(n)) expect(seen.get(n)).toBe(seq);
        seen.set(n, seq);
      }
    }
  });
});
