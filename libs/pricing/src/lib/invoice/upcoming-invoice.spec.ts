import { PricingError } from '../charge-model';
import { priceCharge } from '../charges';
import type { InvoiceInput } from './invoice-types';
import { elapsedFraction, projectPeriodEnd, upcomingInvoice } from './upcoming-invoice';

const APRIL = { start: '2025-04-01T00:00:00Z', end: '2025-05-01T00:00:00Z' };
const DAY_10 = '2025-04-11T00:00:00Z'; // 10 of 30 days elapsed: 1/3

describe('projectPeriodEnd: linear run-rate', () => {
  it.each([
    ['30', '0.25', '120'],
    ['10', '1', '10'],
    ['0', '0.5', '0'],
    ['12.5', '0.5', '25'],
  ])('%s so far at %s of the period → %s', (usage, fraction, expected) => {
    expect(projectPeriodEnd(usage, fraction).toFixed()).toBe(expected);
  });

  it('keeps the projection unrounded', () => {
    expect(projectPeriodEnd('10', '0.3').toFixed(4)).toBe('33.3333');
  });

  it.each(['0', '-0.1', '1.5'])('refuses an elapsed fraction of %s', (fraction) => {
    expect(() => projectPeriodEnd('10', fraction)).toThrow(PricingError);
  });

  it('projects negative usage linearly too (the composer prices it as zero units)', () => {
    expect(projectPeriodEnd('-1', '0.5').toFixed()).toBe('-2');
  });
});

describe('elapsedFraction', () => {
  it('is the share of the period elapsed by time', () => {
    expect(elapsedFraction(APRIL.start, APRIL.end, DAY_10).times(3).toFixed(10)).toBe('1.0000000000');
    expect(elapsedFraction(APRIL.start, APRIL.end, '2025-04-16T00:00:00Z').toFixed()).toBe('0.5');
  });

  it('is 1 at and after the end, and refuses a time at or before the start', () => {
    expect(elapsedFraction(APRIL.start, APRIL.end, APRIL.end).toFixed()).toBe('1');
    expect(elapsedFraction(APRIL.start, APRIL.end, '2025-06-01T00:00:00Z').toFixed()).toBe('1');
    expect(() => elapsedFraction(APRIL.start, APRIL.end, APRIL.start)).toThrow(/nothing has elapsed/);
  });
});

describe('upcomingInvoice', () => {
  const hybrid: InvoiceInput = {
    currency: 'EUR',
    period: APRIL,
    baseFee: { amount: '49.00' },
    charges: [{ code: 'api', meter: 'api_calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '1000', usage: { units: '600' } }],
  };

  it('shows the invoice so far and prices the projected units through the same composer', () => {
    const up = upcomingInvoice(hybrid, DAY_10, priceCharge);
    expect(up.asOf).toBe('2025-04-11T00:00:00.000Z');
    expect(up.elapsedFraction.startsWith('0.33333333')).toBe(true);
    // so far: 600 units, all included → 49.00
    expect(up.invoiceSoFar.total).toBe('49.00');
    // projected: 600 × 3 = 1800 units, 800 above the included 1000 → 8.00; 57.00
    expect(up.projectedInvoice.lines[1]).toMatchObject({ units: '1800', amount: '8.00' });
    expect(up.projectedTotal).toBe('57.00');
    expect(up.projectedAmountDue).toBe('57.00');
  });

  it('projects from when usage started accruing when that is inside the period', () => {
    // Started on day 6 (Apr 6); on Apr 11, 5 of its 25 days have elapsed: 600 so far projects to 3000.
    const up = upcomingInvoice(hybrid, DAY_10, priceCharge, { start: '2025-04-06T00:00:00Z', end: APRIL.end });
    expect(up.elapsedFraction).toBe('0.2');
    // 3000 - 1000 included = 2000 x 0.01 = 20.00
    expect(up.projectedInvoice.lines[1]).toMatchObject({ units: '3000', amount: '20.00' });
  });

  it('owes the minimum-commitment true-up only in the projection', () => {
    const up = upcomingInvoice({ ...hybrid, minimumCommitment: { amount: '100' }, taxRatePercent: '19' }, DAY_10, priceCharge);
    expect(up.invoiceSoFar.lines.map((l) => l.kind)).toEqual(['base_fee', 'usage', 'tax']);
    expect(up.invoiceSoFar.total).toBe('58.31'); // 49 + 19 % (9.31)
    // 49 + 8 = 57 → true-up 43 → 100; tax 19 → 119
    expect(up.projectedInvoice.lines.map((l) => [l.kind, l.amount])).toEqual([
      ['base_fee', '49.00'],
      ['usage', '8.00'],
      ['commitment_true_up', '43.00'],
      ['tax', '19.00'],
    ]);
    expect(up.projectedTotal).toBe('119.00');
  });

  it('applies prepaid credits to both', () => {
    const up = upcomingInvoice({ ...hybrid, prepaidCredits: { balance: '50' } }, DAY_10, priceCharge);
    expect(up.invoiceSoFar).toMatchObject({ amountDue: '0.00', creditBalanceAfter: '1.00' });
    expect(up.projectedInvoice).toMatchObject({ total: '57.00', amountDue: '7.00', creditBalanceAfter: '0.00' });
  });

  it('projects per-event charges by repeating the events so far', () => {
    // events 10 and 20 in a third of the period → 6 events (10, 20, 10, 20, 10, 20), 90 units:
    // 1 % of 90 = 0.90 plus 6 × 0.05 = 0.30 → 1.20 (so far: 0.30 + 0.10 = 0.40)
    const up = upcomingInvoice(
      {
        currency: 'EUR',
        period: APRIL,
        charges: [{ code: 'pay', meter: 'payments', model: 'percentage', properties: { rate: '1', fixed_amount: '0.05' }, usage: { units: '30', events: ['10', '20'] } }],
      },
      DAY_10,
      priceCharge,
    );
    expect(up.invoiceSoFar.total).toBe('0.40');
    expect(up.projectedInvoice.lines[0]).toMatchObject({ units: '90', amount: '1.20' });
  });

  it('equals the invoice itself once the period is over', () => {
    const up = upcomingInvoice(hybrid, APRIL.end, priceCharge);
    expect(up.elapsedFraction).toBe('1');
    expect(up.projectedInvoice).toEqual(up.invoiceSoFar);
  });
});

describe('upcomingInvoice with an event count or the events\' amounts', () => {
  it('projects them linearly with the units', () => {
    const input: InvoiceInput = {
      currency: 'EUR',
      period: APRIL,
      charges: [
        { code: 'p', meter: 'p', model: 'percentage', properties: { rate: '1', fixed_amount: '1' }, usage: { units: '100', eventCount: 5 } },
        { code: 'd', meter: 'd', model: 'dynamic', properties: {}, usage: { units: '2', eventAmountTotal: '10' } },
      ],
    };
    const up = upcomingInvoice(input, DAY_10, priceCharge); // a third of April elapsed
    // percentage: 300 × 1 % + 15 events × 1 = 18; dynamic: 30.
    expect(up.projectedInvoice.lines.map((l) => [l.code, l.amount])).toEqual([
      ['p', '18.00'],
      ['d', '30.00'],
    ]);
  });

  it('leaves a prorated charge as it is: the units held now already count until period end', () => {
    const input: InvoiceInput = {
      currency: 'EUR',
      period: APRIL,
      charges: [{ code: 'seats', meter: 'seats', model: 'standard', properties: { amount: '3' }, usage: { units: '16', prorated: [{ units: '10', proratedUnits: '10' }, { units: '6', proratedUnits: '2' }] } }],
    };
    const preview = upcomingInvoice(input, DAY_10, priceCharge);
    expect(preview.invoiceSoFar.total).toBe('36.00');
    expect(preview.projectedInvoice.total).toBe('36.00');
  });
});
