import { creditNoteIssuedSchema } from '@tally/contracts';
import { priceCharge } from '@tally/pricing';
import { correctionDirection, correctionRoute, creditNoteFor, creditNoteIssued, creditNoteNumber, lateUsageLine, proratedCreditNoteLine, reconcile, type UsageDecrease } from './usage-corrections';

const perUnit = { model: 'standard', properties: { amount: '0.25' } };
const graduated = {
  model: 'graduated',
  properties: { graduated_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '10' },
    { from_value: 100, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
  ] },
};
const decrease = (over: Partial<UsageDecrease>): UsageDecrease => ({ meter: 'api-calls', code: 'api-calls', charge: perUnit, billedUnits: '10', ledgerUnits: '4', ...over });

describe('correctionDirection', () => {
  it.each([
    ['10', '10', 'none'],
    ['10', '10.000', 'none'],
    ['10', '12', 'increase'],
    ['10', '9.999999999999999999', 'decrease'],
    ['-5', '0', 'increase'],
    ['0', '-0.5', 'decrease'],
  ])('billed %s, ledger %s: %s', (billed, ledger, direction) => expect(correctionDirection(billed, ledger)).toBe(direction));
});

describe('correctionRoute', () => {
  it('credits a decrease at once, whether or not a later period is still to be invoiced', () => {
    expect(correctionRoute('decrease', true)).toBe('credit_note');
    expect(correctionRoute('decrease', false)).toBe('credit_note');
  });
  it('bills an increase on the next invoice when there is one, else on an adjustment invoice of its own (canceled subscription)', () => {
    expect(correctionRoute('increase', true)).toBe('next_invoice');
    expect(correctionRoute('increase', false)).toBe('adjustment_invoice');
  });
  it('does nothing without a change', () => expect(correctionRoute('none', false)).toBe('none'));
});

describe('creditNoteFor', () => {
  it('credits price(billed) − price(ledger) per meter, tax on the rounded subtotal', () => {
    const note = creditNoteFor([decrease({}), decrease({ meter: 'storage', code: 'gb', billedUnits: '3', ledgerUnits: '2.98' })], 'EUR', '19', priceCharge);
    expect(note.lines.map((l) => [l.code, l.units, l.amountUnrounded, l.amount])).toEqual([
      ['api-calls', '-6', '1.5', '1.50'],
      ['gb', '-0.02', '0.005', '0.01'], // half away from zero
    ]);
    expect({ subtotal: note.subtotal, tax: note.tax, total: note.total }).toEqual({ subtotal: '1.51', tax: '0.29', total: '1.80' });
  });

  it('respects tiers and flat amounts: units leaving the second tier are credited at its price', () => {
    const note = creditNoteFor([decrease({ charge: graduated, billedUnits: '150', ledgerUnits: '120' })], 'EUR', '0', priceCharge);
    expect(note.lines[0].amount).toBe('15.00');
    // Falling to 0 units: Lago charges the first range's flat amount at 0 units, so 10 stays billed.
    expect(creditNoteFor([decrease({ charge: graduated, billedUnits: '50', ledgerUnits: '0' })], 'EUR', '0', priceCharge).lines[0].amount).toBe('50.00');
  });

  it('credits only the units that were charged: included units first, negative totals cost 0', () => {
    const included = { ...perUnit, includedUnits: '5' };
    expect(creditNoteFor([decrease({ charge: included, billedUnits: '8', ledgerUnits: '3' })], 'EUR', '0', priceCharge).lines[0].amount).toBe('0.75');
    expect(creditNoteFor([decrease({ charge: included, billedUnits: '4', ledgerUnits: '1' })], 'EUR', '0', priceCharge).total).toBe('0.00');
    // A meter that allows negative values: 2 billed, -3 now (charged 0): the 2 units are credited, nothing more.
    expect(creditNoteFor([decrease({ billedUnits: '2', ledgerUnits: '-3' })], 'EUR', '0', priceCharge).lines[0]).toMatchObject({ units: '-5', amount: '0.50' });
  });

  it("rounds in the currency's precision (JPY has none)", () => {
    expect(creditNoteFor([decrease({ billedUnits: '7', ledgerUnits: '1' })], 'JPY', '10', priceCharge)).toMatchObject({ subtotal: '2', tax: '0', total: '2' });
  });

  it('refuses a "decrease" that is not one', () => {
    expect(() => creditNoteFor([decrease({ billedUnits: '4', ledgerUnits: '4' })], 'EUR', '0', priceCharge)).toThrow('needs fewer units than billed');
  });
});

describe('lateUsageLine', () => {
  const periodStart = new Date('2027-03-01T00:00:00Z');
  it('bills the late units at the tier they fall in, with the period they belong to', () => {
    expect(lateUsageLine({ meter: 'api-calls', code: 'calls', charge: graduated, billedUnits: '90', ledgerUnits: '120', periodStart }, priceCharge)).toEqual({
      code: 'calls',
      description: 'api-calls: 30 units reported after the period from 2027-03-01T00:00:00.000Z was invoiced',
      units: '30',
      // 10 units at 1 up to 100, 20 at 0.5 above it
      amount: '20',
    });
  });
  it('included units are free first; only what exceeds them is priced', () => {
    expect(lateUsageLine({ meter: 'm', code: 'm', charge: { ...perUnit, includedUnits: '100' }, billedUnits: '80', ledgerUnits: '130.5', periodStart }, priceCharge)).toMatchObject({ units: '50.5', amount: '7.625' });
  });
  it('a period invoiced negative (charged 0) pays only what the late units add above zero, a first range flat amount included', () => {
    expect(lateUsageLine({ meter: 'm', code: 'm', charge: graduated, billedUnits: '-20', ledgerUnits: '5', periodStart }, priceCharge)).toMatchObject({ units: '25', amount: '15' });
  });
});

describe('creditNoteNumber', () => {
  it('numbers per tenant sequence', () => {
    expect(creditNoteNumber(1)).toBe('CN-000001');
    expect(creditNoteNumber(1234567)).toBe('CN-1234567');
  });
  it.each([0, -1, 1.5, Number.NaN])('refuses the sequence %p', (n) => expect(() => creditNoteNumber(n)).toThrow('positive integer'));
});

describe('reconcile', () => {
  it('matches equal units in any notation', () => expect(reconcile({ ledgerUnits: '17', invoicedUnits: '17.0', laterPeriodToInvoice: false })).toEqual({ matches: true }));
  it('tells an increase the next invoice will bill from one nothing will', () => {
    expect(reconcile({ ledgerUnits: '19', invoicedUnits: '17', laterPeriodToInvoice: true })).toEqual({ matches: false, difference: '2', state: 'pending_next_invoice' });
    expect(reconcile({ ledgerUnits: '19', invoicedUnits: '17', laterPeriodToInvoice: false })).toEqual({ matches: false, difference: '2', state: 'unbilled' });
  });
  it('reports more invoiced than used', () => expect(reconcile({ ledgerUnits: '10', invoicedUnits: '17', laterPeriodToInvoice: true })).toEqual({ matches: false, difference: '-7', state: 'overbilled' }));
});

describe('creditNoteIssued (billing.credit-notes.v1)', () => {
  it('carries the credit note, the invoice it credits and its lines, and fits the contract', () => {
    const document = creditNoteFor([decrease({ billedUnits: '10', ledgerUnits: '4' })], 'EUR', '10', priceCharge);
    const event = creditNoteIssued(
      { tenant: 'acme', customer: 'c', creditNoteId: 'cn-1', number: 'CN-000001', invoiceId: 'inv-1', invoiceNumber: 'INV-000003', subscriptionId: 'sub',
        periodStart: new Date('2027-03-01T00:00:00Z'), periodEnd: new Date('2027-04-01T00:00:00Z'), document },
      { eventId: 'e-1', occurredAt: new Date('2027-04-03T00:00:00Z') },
    );
    expect(event).toMatchObject({
      eventId: 'e-1', occurredAt: '2027-04-03T00:00:00.000Z', creditNoteId: 'cn-1', number: 'CN-000001', invoiceId: 'inv-1', invoiceNumber: 'INV-000003', reason: 'usage_decreased',
      periodStart: '2027-03-01T00:00:00.000Z', periodEnd: '2027-04-01T00:00:00.000Z', currency: 'EUR', subtotal: '1.50', tax: '0.15', total: '1.65',
    });
    expect(event.lines).toEqual([{ meter: 'api-calls', code: 'api-calls', description: expect.stringContaining('6 units fewer'), units: '-6', amount: '1.50' }]);
    expect(creditNoteIssuedSchema.parse(event)).toEqual(event);
  });
});

describe('proratedCreditNoteLine', () => {
  it('credits a prorated charge beside unit lines, the same tax on the rounded sum', () => {
    const line = proratedCreditNoteLine({ meter: 'seats', code: 'seats', description: 'seats: −1 from Nov 21', units: '-1', credit: '0.8333333333' }, 'EUR');
    expect(line).toEqual({ meter: 'seats', code: 'seats', description: 'seats: −1 from Nov 21', units: '-1', amountUnrounded: '0.8333333333', amount: '0.83' });
    const doc = creditNoteFor([], 'EUR', '10', priceCharge, [line]);
    expect([doc.subtotal, doc.tax, doc.total]).toEqual(['0.83', '0.08', '0.91']);
    // An add/remove pair credited by its days only: 0 units.
    expect(proratedCreditNoteLine({ meter: 'seats', code: 's', description: 'pair', units: '0', credit: '1.5' }, 'JPY').amount).toBe('2');
  });
});

