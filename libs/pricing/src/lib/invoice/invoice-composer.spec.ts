import { PricingError } from '../charge-model';
import { priceCharge } from '../charges';
import { composeInvoice } from './invoice-composer';
import { Dec } from './money';
import type { Invoice, InvoiceChargeInput, InvoiceInput, InvoiceLineKind } from './invoice-types';
import { priceLateUsage } from './late-usage';

// Hand-computed expectations throughout; April 2025 has 30 days, January 31.
const APRIL = { start: '2025-04-01T00:00:00Z', end: '2025-05-01T00:00:00Z' };

function invoice(overrides: Partial<InvoiceInput>): Invoice {
  return composeInvoice({ currency: 'EUR', period: APRIL, ...overrides }, priceCharge);
}

function standard(code: string, amount: string, units: string, extra: Partial<InvoiceChargeInput> = {}): InvoiceChargeInput {
  return { code, meter: code, model: 'standard', properties: { amount }, usage: { units }, ...extra };
}

const GRADUATED = {
  graduated_ranges: [
    { from_value: 0, to_value: 100, per_unit_amount: '1.00', flat_amount: '0' },
    { from_value: 101, to_value: null, per_unit_amount: '0.50', flat_amount: '0' },
  ],
};

const amounts = (inv: Invoice, kind: InvoiceLineKind) => inv.lines.filter((l) => l.kind === kind).map((l) => l.amount);
const kinds = (inv: Invoice) => inv.lines.map((l) => l.kind);

describe('composeInvoice', () => {
  describe('hybrid plan: base fee + usage above included units', () => {
    const plan = (units: string) => invoice({ baseFee: { amount: '49.00' }, charges: [standard('api_calls', '0.002', units, { includedUnits: '10000' })] });

    it('bills no usage below the included units', () => {
      const inv = plan('8000');
      expect(amounts(inv, 'usage')).toEqual(['0.00']);
      expect(inv.lines[1].breakdown[0]).toEqual({ description: 'Included units', units: '8000', amount: '0' });
      expect(inv.lines[1].breakdown[1]).toMatchObject({ units: '0', amount: '0' });
      expect(inv.total).toBe('49.00');
    });

    it('bills no usage exactly at the included units', () => {
      expect(plan('10000').total).toBe('49.00');
    });

    it('bills only the overage above them', () => {
      const inv = plan('12500');
      const usage = inv.lines[1];
      expect(usage).toMatchObject({ kind: 'usage', code: 'api_calls', units: '12500', unitAmount: '0.002', amountUnrounded: '5', amount: '5.00' });
      expect(usage.description).toBe('api_calls (api_calls): 12500 units, 10000 included');
      expect(usage.breakdown).toEqual([
        { description: 'Included units', units: '10000', amount: '0' },
        { description: '2500 units × 0.002', units: '2500', amount: '5', unitAmount: '0.002' },
      ]);
      expect(inv).toMatchObject({ subtotal: '54.00', discountTotal: '0.00', taxableAmount: '54.00', tax: '0.00', total: '54.00', amountDue: '54.00' });
    });

    it('starts a graduated model tiers at the first overage unit', () => {
      // 200 units, 50 included → 150 billable: 100 × 1.00 + 50 × 0.50 = 125.00
      const inv = invoice({ charges: [{ code: 'gb', meter: 'storage', model: 'graduated', properties: GRADUATED, includedUnits: '50', usage: { units: '200' } }] });
      const line = inv.lines[0];
      expect(line.amount).toBe('125.00');
      expect(line.unitAmount).toBeUndefined();
      expect(line.breakdown).toEqual([
        { description: 'Included units', units: '50', amount: '0' },
        expect.objectContaining({ from: '0', to: '100', units: '100', amount: '100', unitAmount: '1', flatAmount: '0' }),
        expect.objectContaining({ from: '101', to: null, units: '50', amount: '25', unitAmount: '0.5' }),
      ]);
    });

    it('refuses included units on a charge priced per event', () => {
      const charge: InvoiceChargeInput = { code: 'pay', meter: 'payments', model: 'percentage', properties: { rate: '1' }, includedUnits: '10', usage: { units: '100', events: ['100'] } };
      expect(() => invoice({ charges: [charge] })).toThrow(/includedUnits cannot be combined with usage.events/);
    });
  });

  describe('usage lines', () => {
    it('bills several charges, each on its own line, in order', () => {
      const inv = invoice({
        charges: [
          standard('api_calls', '0.01', '1234'), // 12.34
          { code: 'storage', meter: 'gb_hours', model: 'graduated', properties: GRADUATED, usage: { units: '150' } }, // 100 + 25 = 125
          { code: 'seats', meter: 'seats', model: 'package', properties: { amount: '10', package_size: 100, free_units: 0 }, usage: { units: '250' } }, // 3 packages = 30
          { code: 'payments', meter: 'payments', model: 'percentage', properties: { rate: '2.5', fixed_amount: '0.10' }, usage: { units: '150.50', events: ['100', '50.50'] } }, // 3.7625 + 0.20 = 3.9625
        ],
      });
      expect(inv.lines.map((l) => [l.code, l.amountUnrounded, l.amount])).toEqual([
        ['api_calls', '12.34', '12.34'],
        ['storage', '125', '125.00'],
        ['seats', '30', '30.00'],
        ['payments', '3.9625', '3.96'],
      ]);
      expect(inv.lines[2].unitAmount).toBeUndefined(); // a package price is not a unit price
      expect(inv.subtotal).toBe('171.30'); // 12.34 + 125 + 30 + 3.96
      expect(inv.total).toBe('171.30');
    });

    it('shows zero usage as a zero line, and a plan with nothing to bill adds up to 0', () => {
      const inv = invoice({ charges: [standard('api_calls', '0.01', '0'), { code: 'gb', meter: 'gb', model: 'graduated', properties: GRADUATED, usage: { units: '0' } }] });
      expect(amounts(inv, 'usage')).toEqual(['0.00', '0.00']);
      expect(inv).toMatchObject({ subtotal: '0.00', total: '0.00', amountDue: '0.00', creditBalanceAfter: '0.00' });
      const empty = invoice({});
      expect(empty.lines).toEqual([]);
      expect(empty.total).toBe('0.00');
    });

    it('rounds every line once and sums the rounded lines', () => {
      // 0.0045 → 0.00 and 0.0105 → 0.01: the invoice says 0.01, not round(0.015) = 0.02
      const inv = invoice({ charges: [standard('a', '0.0015', '3'), standard('b', '0.0015', '7')] });
      expect(inv.lines.map((l) => [l.amountUnrounded, l.amount])).toEqual([
        ['0.0045', '0.00'],
        ['0.0105', '0.01'],
      ]);
      expect(inv.subtotal).toBe('0.01');
    });

    it('rounds half away from zero at .005', () => {
      expect(invoice({ charges: [standard('a', '0.001', '5')] }).lines[0].amount).toBe('0.01');
      expect(invoice({ charges: [standard('a', '0.001', '4.999')] }).lines[0].amount).toBe('0.00');
    });

    it('passes a pricing error through and names a bad usage field', () => {
      expect(() => invoice({ charges: [{ code: 'x', meter: 'x', model: 'flat', properties: {}, usage: { units: '1' } }] })).toThrow(/unknown charge model/);
      expect(() => invoice({ charges: [standard('x', '-1', '1')] })).toThrow(PricingError);
      expect(() => invoice({ charges: [standard('x', '1', 'lots')] })).toThrow(/charges\[0\].usage.units must be a decimal/);
    });
  });

  describe('any quantity a meter can produce (ingestion accepts negative values from meters that allow them)', () => {
    it('charges a negative period quantity 0 and shows it on the line (Lago lago-api#2966)', () => {
      const inv = invoice({ baseFee: { amount: '10' }, charges: [standard('refunds', '2', '-7.5', { includedUnits: '5' })], taxRatePercent: '19' });
      const line = inv.lines[1];
      expect(line).toMatchObject({ kind: 'usage', units: '-7.5', amountUnrounded: '0', amount: '0.00' });
      expect(line.breakdown).toEqual([{ description: 'Negative quantity -7.5 charged as 0', units: '-7.5', amount: '0' }]);
      expect(inv).toMatchObject({ subtotal: '10.00', tax: '1.90', total: '11.90', amountDue: '11.90' });
    });

    it('never credits money for negative usage: no flat amount, package or tier, in every model a plan can use', () => {
      const models: Array<[string, unknown]> = [
        ['standard', { amount: '3' }],
        ['graduated', { graduated_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '50' }] }],
        ['volume', { volume_ranges: [{ from_value: 0, to_value: null, per_unit_amount: '1', flat_amount: '50' }] }],
        ['package', { amount: '5', package_size: 10, free_units: 0 }],
        ['graduated_percentage', { graduated_percentage_ranges: [{ from_value: 0, to_value: null, rate: '2', flat_amount: '50' }] }],
      ];
      for (const [model, properties] of models) {
        const inv = invoice({ charges: [{ code: model, meter: 'm', model, properties, usage: { units: '-1000' } }] });
        expect([model, inv.total, inv.amountDue]).toEqual([model, '0.00', '0.00']);
      }
    });

    it.each([
      ['-0', '0.00'],
      ['-1e-30', '0.00'],
      ['0.000000000000000000000000000001', '0.00'],
      ['123456789012345678901234567890.123456789', '246913578024691357802469135780.25'],
      [`1${'0'.repeat(200)}`, `2${'0'.repeat(200)}.00`],
      [`-9${'9'.repeat(200)}`, '0.00'],
    ])('composes an invoice for %s units without throwing', (units, total) => {
      const inv = invoice({ charges: [standard('x', '2', units, { includedUnits: '0' })], taxRatePercent: '0' });
      expect(inv.total).toBe(total);
      expect(inv.lines[0].units).toBe(new Dec(units).toFixed());
    });
  });

  describe('currencies', () => {
    it('rounds yen lines and tax to whole yen', () => {
      // 333 × 0.5 = 166.5 → 167; 1000 + 167 = 1167; tax 10 % = 116.7 → 117; total 1284
      const inv = composeInvoice({ currency: 'JPY', period: APRIL, baseFee: { amount: '1000' }, charges: [standard('calls', '0.5', '333')], taxRatePercent: '10' }, priceCharge);
      expect(inv).toMatchObject({ subtotal: '1167', tax: '117', total: '1284', amountDue: '1284' });
      expect(inv.lines[1]).toMatchObject({ amountUnrounded: '166.5', amount: '167' });
    });

    it('rounds dinar lines and tax to three decimals', () => {
      // 3 × 0.0125 = 0.0375 → 0.038; 12.345 + 0.038 = 12.383; tax 5 % = 0.61915 → 0.619; total 13.002
      const inv = composeInvoice({ currency: 'KWD', period: APRIL, baseFee: { amount: '12.345' }, charges: [standard('calls', '0.0125', '3')], taxRatePercent: '5' }, priceCharge);
      expect(inv).toMatchObject({ subtotal: '12.383', tax: '0.619', total: '13.002' });
    });

    it('refuses a malformed currency', () => {
      expect(() => composeInvoice({ currency: 'euro', period: APRIL }, priceCharge)).toThrow(/ISO 4217/);
    });
  });

  describe('tax', () => {
    it('is the taxable subtotal times the rate, rounded once', () => {
      const inv = invoice({ baseFee: { amount: '49.00' }, charges: [standard('api', '0.002', '12500', { includedUnits: '10000' })], taxRatePercent: '19' });
      // 54.00 × 19 % = 10.26
      expect(inv.lines.at(-1)).toMatchObject({ kind: 'tax', amountUnrounded: '10.26', amount: '10.26', units: null, description: 'Tax 19 % of 54.00' });
      expect(inv).toMatchObject({ taxableAmount: '54.00', tax: '10.26', total: '64.26', amountDue: '64.26' });
    });

    it('rounds the tax half up: 12.35 × 19 % = 2.3465 → 2.35', () => {
      expect(invoice({ baseFee: { amount: '12.35' }, taxRatePercent: '19' })).toMatchObject({ tax: '2.35', total: '14.70' });
    });

    it('taxes the rounded lines, not their unrounded sum', () => {
      // lines 0.00 (0.0045) and 0.01 (0.0105): 100 % of 0.01, not of 0.015
      expect(invoice({ charges: [standard('a', '0.0015', '3'), standard('b', '0.0015', '7')], taxRatePercent: '100' }).tax).toBe('0.01');
    });

    it('adds a zero tax line for a 0 % rate and none without a rate', () => {
      expect(amounts(invoice({ baseFee: { amount: '10' }, taxRatePercent: '0' }), 'tax')).toEqual(['0.00']);
      expect(amounts(invoice({ baseFee: { amount: '10' } }), 'tax')).toEqual([]);
    });
  });

  describe('minimum commitment', () => {
    const plan = (units: string, extra: Partial<InvoiceInput> = {}) => invoice({ charges: [standard('api', '1.00', units)], minimumCommitment: { amount: '100' }, ...extra });

    it('adds a true-up for the shortfall below the minimum', () => {
      const inv = plan('60');
      expect(inv.lines[1]).toMatchObject({ kind: 'commitment_true_up', code: 'minimum_commitment', amount: '40.00', units: null });
      expect(inv.lines[1].description).toBe('Minimum commitment true-up (minimum 100.00, fees 60.00)');
      expect(inv.subtotal).toBe('100.00');
    });

    it('adds nothing exactly at the minimum', () => {
      const inv = plan('100');
      expect(kinds(inv)).toEqual(['usage']);
      expect(inv.subtotal).toBe('100.00');
    });

    it('adds nothing above the minimum', () => {
      expect(kinds(plan('150'))).toEqual(['usage']);
      expect(plan('150').subtotal).toBe('150.00');
    });

    it('counts the base fee and usage towards it', () => {
      const inv = plan('50', { baseFee: { amount: '20' } });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['30.00']);
      expect(inv.subtotal).toBe('100.00');
    });

    it('compares fees before discounts, and taxes the true-up', () => {
      // fees 60 → true-up 40; committed-use discount 10 % of usage 60 = 6; taxable 94; tax 19 % = 17.86
      const inv = plan('60', { committedUseDiscount: { percent: '10' }, taxRatePercent: '19' });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['40.00']);
      expect(amounts(inv, 'discount')).toEqual(['-6.00']);
      expect(inv).toMatchObject({ subtotal: '100.00', discountTotal: '6.00', taxableAmount: '94.00', tax: '17.86', total: '111.86' });
    });

    it('is prorated with the base fee for a partial period', () => {
      // active 16–30 April: 15/30 days → base fee 30 → 15.00, minimum 100 → 50; fees 15 + 20 = 35 → true-up 15
      const inv = plan('20', { baseFee: { amount: '30', proration: { from: '2025-04-16T00:00:00Z', to: APRIL.end } } });
      expect(inv.lines[0]).toMatchObject({ kind: 'base_fee', amount: '15.00', unitAmount: '30', description: 'Base fee from 2025-04-16 (15 of 30 days)' });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['15.00']);
      expect(inv.subtotal).toBe('50.00');
    });

    it('does not count late adjustments of an earlier period', () => {
      const inv = plan('60', { adjustments: [{ description: 'Late March usage', units: '10', amount: '10' }] });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['40.00']);
      expect(inv.subtotal).toBe('110.00');
    });
  });

  describe('committed-use discount', () => {
    it('takes a percentage off usage, not the base fee, before tax', () => {
      // usage 250 × 1.00; 20 % = 50.00; taxable 50 + 250 − 50 = 250; tax 10 % = 25
      const inv = invoice({ baseFee: { amount: '50' }, charges: [standard('api', '1.00', '250')], committedUseDiscount: { percent: '20' }, taxRatePercent: '10' });
      expect(inv.lines[2]).toMatchObject({ kind: 'discount', code: 'committed_use_discount', amount: '-50.00', units: null });
      expect(inv).toMatchObject({ subtotal: '300.00', discountTotal: '50.00', taxableAmount: '250.00', tax: '25.00', total: '275.00' });
    });

    it('can apply to base fee and usage', () => {
      const inv = invoice({ baseFee: { amount: '50' }, charges: [standard('api', '1.00', '250')], committedUseDiscount: { percent: '20', appliesTo: 'fees' } });
      expect(amounts(inv, 'discount')).toEqual(['-60.00']);
      expect(inv.total).toBe('240.00');
    });

    it('rounds the discount once: 15 % of 33.33 = 4.9995 → 5.00', () => {
      const inv = invoice({ charges: [standard('api', '0.01', '3333')], committedUseDiscount: { percent: '15' } });
      expect(inv.lines[1]).toMatchObject({ amountUnrounded: '-4.9995', amount: '-5.00' });
      expect(inv.total).toBe('28.33');
    });

    it('adds no line when there is no usage, and refuses more than 100 %', () => {
      expect(kinds(invoice({ baseFee: { amount: '50' }, charges: [standard('api', '1', '0')], committedUseDiscount: { percent: '20' } }))).toEqual(['base_fee', 'usage']);
      expect(() => invoice({ charges: [standard('api', '1', '1')], committedUseDiscount: { percent: '101' } })).toThrow(/at most 100/);
    });
  });

  describe('free tier allowance', () => {
    it('waives usage up to the allowance', () => {
      const inv = invoice({ charges: [standard('api', '0.01', '750')], freeTier: { amount: '10' } });
      expect(inv.lines[1]).toMatchObject({ kind: 'discount', code: 'free_tier', amount: '-7.50' });
      expect(inv.total).toBe('0.00');
    });

    it('waives at most the allowance, before the committed-use discount', () => {
      // usage 25; free tier 10; committed use 20 % of the remaining 15 = 3; total 12
      const inv = invoice({ charges: [standard('api', '0.01', '2500')], freeTier: { amount: '10' }, committedUseDiscount: { percent: '20' } });
      expect(amounts(inv, 'discount')).toEqual(['-10.00', '-3.00']);
      expect(inv).toMatchObject({ subtotal: '25.00', discountTotal: '13.00', total: '12.00' });
    });
  });

  describe('prepaid credits (after tax)', () => {
    const taxed = (balance: string) =>
      invoice({ baseFee: { amount: '49.00' }, charges: [standard('api', '0.002', '12500', { includedUnits: '10000' })], taxRatePercent: '19', prepaidCredits: { balance } });

    it('pays part of the total when the balance is smaller', () => {
      const inv = taxed('20');
      expect(inv.lines.at(-1)).toMatchObject({ kind: 'credit', code: 'prepaid_credits', amount: '-20.00' });
      // tax is on 54.00 whatever the credits: credits do not reduce the tax
      expect(inv).toMatchObject({ tax: '10.26', total: '64.26', creditsApplied: '20.00', amountDue: '44.26', creditBalanceAfter: '0.00' });
    });

    it('covers the whole total and keeps the rest of the balance', () => {
      expect(taxed('100')).toMatchObject({ total: '64.26', creditsApplied: '64.26', amountDue: '0.00', creditBalanceAfter: '35.74' });
    });

    it('uses up a balance equal to the total', () => {
      expect(taxed('64.26')).toMatchObject({ creditsApplied: '64.26', amountDue: '0.00', creditBalanceAfter: '0.00' });
    });

    it('pays only whole cents of a balance with more decimals', () => {
      expect(taxed('10.005')).toMatchObject({ creditsApplied: '10.00', amountDue: '54.26', creditBalanceAfter: '0.005' });
    });

    it('adds no credit line for an empty balance or an empty invoice', () => {
      expect(kinds(taxed('0'))).not.toContain('credit');
      expect(invoice({ prepaidCredits: { balance: '5' } })).toMatchObject({ creditsApplied: '0.00', creditBalanceAfter: '5.00' });
    });

    it('refuses a negative balance', () => {
      expect(() => taxed('-1')).toThrow(/prepaidCredits.balance must not be negative/);
    });
  });

  describe('adjustments for late usage', () => {
    it('bills late usage of an invoiced period as a taxed line', () => {
      const inv = invoice({ charges: [standard('api', '0.01', '1000')], adjustments: [{ description: 'Late usage for March 2025', units: '200', amount: '2' }], taxRatePercent: '19' });
      expect(inv.lines[1]).toEqual({ kind: 'adjustment', code: 'late_usage', description: 'Late usage for March 2025', units: '200', amountUnrounded: '2', amount: '2.00', breakdown: [] });
      expect(inv).toMatchObject({ subtotal: '12.00', tax: '2.28', total: '14.28' });
    });

    it('prices late units at the marginal rate of their period', () => {
      // 90 invoiced + 20 late on 0–100 @ 1.00, 101+ @ 0.50: (100 + 5) − 90 = 15
      expect(priceLateUsage({ model: 'graduated', properties: GRADUATED, invoicedUnits: '90', lateUnits: '20' }, priceCharge).toFixed()).toBe('15');
      // with 50 included: 120 → 70 billable, 180 → 130 billable: (100 + 15) − 70 = 45
      expect(priceLateUsage({ model: 'graduated', properties: GRADUATED, includedUnits: '50', invoicedUnits: '120', lateUnits: '60' }, priceCharge).toFixed()).toBe('45');
      // entirely within the included units: nothing
      expect(priceLateUsage({ model: 'standard', properties: { amount: '1' }, includedUnits: '100', invoicedUnits: '40', lateUnits: '50' }, priceCharge).toFixed()).toBe('0');
    });

    it('prices only what late units add above zero to a period invoiced with a negative quantity', () => {
      // -30 invoiced (priced as 0), 50 late: the period now holds 20 units, 20 × 1 = 20.
      expect(priceLateUsage({ model: 'standard', properties: { amount: '1' }, invoicedUnits: '-30', lateUnits: '50' }, priceCharge).toFixed()).toBe('20');
      expect(priceLateUsage({ model: 'standard', properties: { amount: '1' }, invoicedUnits: '-30', lateUnits: '10' }, priceCharge).toFixed()).toBe('0');
    });

    it('sets late usage against a true-up the earlier period already paid', () => {
      const late = [{ description: 'Late usage for March 2025', units: '200', amount: '2' }];
      const partly = invoice({ adjustments: late, previousPeriod: { commitmentTrueUp: '1.50' } });
      expect(partly.lines.map((l) => [l.code, l.amount])).toEqual([
        ['late_usage', '2.00'],
        ['late_usage_covered_by_commitment', '-1.50'],
      ]);
      expect(partly.total).toBe('0.50');
      expect(invoice({ adjustments: late, previousPeriod: { commitmentTrueUp: '5' } }).total).toBe('0.00');
      expect(invoice({ adjustments: late, previousPeriod: { commitmentTrueUp: '0' } }).total).toBe('2.00');
    });
  });

  describe('plan change in the period', () => {
    // Upgrade on 11 April (15:30 UTC): the old plan has the 1st–10th (10 days), the new one the 11th–30th (20 days).
    const changeAt = '2025-04-11T15:30:00Z';

    it('credits the unused part of an old fee paid in advance and charges the new fee for the remaining days', () => {
      const inv = invoice({ baseFee: { amount: '60', payInAdvance: true }, planChange: { changeAt, previousBaseFee: { amount: '30', payInAdvance: true, description: 'Starter' } } });
      expect(inv.lines.map((l) => [l.kind, l.amount, l.description])).toEqual([
        ['base_fee', '-20.00', 'Unused time on Starter from 2025-04-11 (20 of 30 days)'],
        ['base_fee', '40.00', 'Base fee from 2025-04-11 (20 of 30 days)'],
      ]);
      expect(inv.total).toBe('20.00');
    });

    it('charges the used part of an old fee paid in arrears', () => {
      const inv = invoice({ baseFee: { amount: '60' }, planChange: { changeAt, previousBaseFee: { amount: '30' } } });
      expect(amounts(inv, 'base_fee')).toEqual(['10.00', '40.00']);
      expect(inv.total).toBe('50.00');
    });

    it('prorates the new plan commitment from the change, against the new plan fees only', () => {
      // new minimum 90 × 20/30 = 60; new fee 40 + usage 5 = 45 → true-up 15 (the −20 credit does not count)
      const inv = invoice({
        baseFee: { amount: '60', payInAdvance: true },
        planChange: { changeAt, previousBaseFee: { amount: '30', payInAdvance: true } },
        charges: [standard('api', '1', '5')],
        minimumCommitment: { amount: '90' },
      });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['15.00']);
      expect(inv.subtotal).toBe('40.00'); // −20 + 40 + 5 + 15
    });

    it("with scope 'period', compares the whole period's fees (both plans) with the whole period's minimum", () => {
      // old plan in arrears 30 × 10/30 = 10, new 60 × 20/30 = 40, usage 5 → fees 55; minimum 90 (not prorated) → true-up 35
      const inv = invoice({
        baseFee: { amount: '60' },
        planChange: { changeAt, previousBaseFee: { amount: '30' } },
        charges: [standard('api', '1', '5')],
        minimumCommitment: { amount: '90', scope: 'period' },
      });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['35.00']);
      expect(inv.subtotal).toBe('90.00');
    });

    it("with scope 'period', prorates the minimum by the days the subscription was active", () => {
      // active the last 20 of 30 days: minimum 90 × 20/30 = 60; base fee 60 × 20/30 = 40 → true-up 20
      const inv = invoice({
        baseFee: { amount: '60', proration: { from: changeAt, to: APRIL.end } },
        minimumCommitment: { amount: '90', scope: 'period', activeWindow: { from: changeAt, to: APRIL.end } },
      });
      expect(amounts(inv, 'commitment_true_up')).toEqual(['20.00']);
    });

    it('adds no true-up when the fees meet a minimum prorated by a repeating fraction', () => {
      // minimum 90 × 20/30 = 60 exactly as printed (not 60.000…0001); fees 40 + 20 = 60
      const inv = invoice({
        baseFee: { amount: '60' },
        planChange: { changeAt, previousBaseFee: { amount: '30' } },
        charges: [standard('api', '1', '20')],
        minimumCommitment: { amount: '90' },
      });
      expect(kinds(inv)).toEqual(['base_fee', 'base_fee', 'usage']);
      expect(inv.lines[0].breakdown).toEqual([{ description: '10 of 30 days', units: '10', amount: '10' }]);
    });

    it('turns a negative total into credit balance, never into a negative amount due', () => {
      // downgrade: credit 90 × 20/30 = 60, new fee 30 × 20/30 = 20 → −40; tax 19 % = −7.60; total −47.60
      const inv = invoice({
        baseFee: { amount: '30', payInAdvance: true },
        planChange: { changeAt, previousBaseFee: { amount: '90', payInAdvance: true } },
        taxRatePercent: '19',
        prepaidCredits: { balance: '10' },
      });
      expect(inv).toMatchObject({ subtotal: '-40.00', tax: '-7.60', total: '-47.60', creditsApplied: '0.00', amountDue: '0.00', creditBalanceAfter: '57.60' });
    });
  });

  describe('a full invoice', () => {
    it('puts every kind of line in order and adds up as printed', () => {
      const inv = invoice({
        baseFee: { amount: '49.00' },
        charges: [standard('api', '0.002', '60000', { includedUnits: '10000' }), { code: 'gb', meter: 'storage', model: 'graduated', properties: GRADUATED, usage: { units: '120' } }],
        minimumCommitment: { amount: '300' },
        adjustments: [{ description: 'Late usage for March 2025', units: '1000', amount: '2.00' }],
        committedUseDiscount: { percent: '10' },
        taxRatePercent: '19',
        prepaidCredits: { balance: '50' },
      });
      // base 49; api 50000 × 0.002 = 100; gb 100 + 10 = 110; fees 259 → true-up 41; late 2
      // subtotal 302; discount 10 % of usage 210 = 21; taxable 281; tax 53.39; total 334.39; credits 50 → due 284.39
      expect(inv.lines.map((l) => [l.kind, l.amount])).toEqual([
        ['base_fee', '49.00'],
        ['usage', '100.00'],
        ['usage', '110.00'],
        ['commitment_true_up', '41.00'],
        ['adjustment', '2.00'],
        ['discount', '-21.00'],
        ['tax', '53.39'],
        ['credit', '-50.00'],
      ]);
      expect(inv).toEqual(
        expect.objectContaining({
          currency: 'EUR',
          period: { start: '2025-04-01T00:00:00.000Z', end: '2025-05-01T00:00:00.000Z', timeZone: 'UTC' },
          subtotal: '302.00',
          discountTotal: '21.00',
          taxableAmount: '281.00',
          tax: '53.39',
          total: '334.39',
          creditsApplied: '50.00',
          amountDue: '284.39',
          creditBalanceAfter: '0.00',
        }),
      );
    });

    it('counts the base fee days in the customer time zone (DST month)', () => {
      // Berlin March 2025: 31 days; subscribed from the 30th (the DST day) → 2/31 of 31.00 = 2.00
      const inv = composeInvoice(
        {
          currency: 'EUR',
          period: { start: '2025-03-01T00:00:00+01:00', end: '2025-04-01T00:00:00+02:00', timeZone: 'Europe/Berlin' },
          baseFee: { amount: '31.00', proration: { from: '2025-03-30T00:00:00+01:00', to: '2025-04-01T00:00:00+02:00' } },
        },
        priceCharge,
      );
      expect(inv.lines[0]).toMatchObject({ amount: '2.00', description: 'Base fee from 2025-03-30 (2 of 31 days)' });
      expect(inv.period).toEqual({ start: '2025-02-28T23:00:00.000Z', end: '2025-03-31T22:00:00.000Z', timeZone: 'Europe/Berlin' });
    });

    it('refuses a period that ends before it starts', () => {
      expect(() => invoice({ period: { start: APRIL.end, end: APRIL.start } })).toThrow(/period.end must be after/);
    });
  });
});

describe('composeInvoice with the Lago parity rules', () => {
  const platformFee = {
    graduated_ranges: [
      { from_value: 0, to_value: 100, per_unit_amount: '1', flat_amount: '20' },
      { from_value: 101, to_value: null, per_unit_amount: '0.5', flat_amount: '0' },
    ],
  };
  const graduated = (units: string, extra: Partial<InvoiceChargeInput> = {}): InvoiceChargeInput => ({ code: 'g', meter: 'g', model: 'graduated', properties: platformFee, usage: { units }, ...extra });

  it('charges a first-range flat amount at 0 units, also when every unit is included, and not for a negative quantity', () => {
    expect(invoice({ charges: [graduated('0')] }).total).toBe('20.00');
    expect(invoice({ charges: [graduated('40', { includedUnits: '50' })] }).total).toBe('20.00');
    expect(invoice({ charges: [graduated('-40', { includedUnits: '50' })] }).total).toBe('0.00');
  });

  it('prices late units of a period invoiced negative from what the period then holds, flat amount included', () => {
    // -30 invoiced (charged 0), 35 late: 5 units, 20 + 5 × 1.
    expect(priceLateUsage({ model: 'graduated', properties: platformFee, invoicedUnits: '-30', lateUnits: '35' }, priceCharge).toFixed()).toBe('25');
    // 0 invoiced (the flat amount was charged), 5 late: only the 5 units.
    expect(priceLateUsage({ model: 'graduated', properties: platformFee, invoicedUnits: '0', lateUnits: '5' }, priceCharge).toFixed()).toBe('5');
  });

  it('feeds an event count to percentage and the events\' amounts to dynamic', () => {
    const inv = invoice({
      charges: [
        { code: 'p', meter: 'p', model: 'percentage', properties: { rate: '1.3', fixed_amount: '2' }, usage: { units: '800', eventCount: 4 } },
        { code: 'd', meter: 'd', model: 'dynamic', properties: {}, usage: { units: '3', eventAmountTotal: '12.345' } },
      ],
    });
    expect(inv.lines.map((l) => [l.code, l.amount])).toEqual([
      ['p', '18.40'],
      ['d', '12.35'],
    ]);
    expect(() => invoice({ charges: [{ code: 'd', meter: 'd', model: 'dynamic', properties: {}, usage: { units: '3', eventAmountTotal: 'x' } }] })).toThrow(
      /charges\[0\].usage.eventAmountTotal must be a decimal/,
    );
  });

  describe('prorated charges (usage.prorated)', () => {
    // April: 30 days. 10 seats held since before the period (10 prorated), 6 added on April 21 (10 days: 2 prorated).
    const seats = (extra: Partial<InvoiceChargeInput> = {}, model = 'standard', properties: unknown = { amount: '3' }): InvoiceChargeInput => ({
      code: 'seats', meter: 'seats', model, properties,
      usage: { units: '16', prorated: [{ units: '10', proratedUnits: '10' }, { units: '6', proratedUnits: '2' }] },
      ...extra,
    });

    it('prices the prorated units: standard 12 × 3 = 36', () => {
      const line = invoice({ charges: [seats()] }).lines[0];
      expect(line).toMatchObject({ kind: 'usage', units: '16', amount: '36.00', description: 'seats (seats): 16 units, prorated by days held' });
      expect(line.unitAmount).toBeUndefined();
      expect(line.breakdown).toEqual([{ description: '12 prorated units × 3', units: '12', amount: '36', unitAmount: '3' }]);
    });

    it('prices volume by the full units at period end: 16 in 11–∞ at 2, × 12 prorated, + flat 5 = 29', () => {
      const volume = { volume_ranges: [{ from_value: 0, to_value: 10, per_unit_amount: '3', flat_amount: '0' }, { from_value: 11, to_value: null, per_unit_amount: '2', flat_amount: '5' }] };
      expect(invoice({ charges: [seats({}, 'volume', volume)] }).lines[0].amount).toBe('29.00');
    });

    it('charges a negative holding 0 and refuses included units, per-event values and inconsistent events', () => {
      const negative = seats({ usage: { units: '-2', prorated: [{ units: '-2', proratedUnits: '-1' }] } });
      expect(invoice({ charges: [negative] }).lines[0].amount).toBe('0.00');
      expect(() => invoice({ charges: [seats({ includedUnits: '5' })] })).toThrow(/includedUnits cannot be combined with usage.prorated/);
      expect(() => invoice({ charges: [seats({ usage: { units: '1', events: ['1'], prorated: [] } })] })).toThrow(PricingError);
      expect(() => invoice({ charges: [seats({ usage: { units: '1', prorated: [{ units: '1', proratedUnits: '2' }] } })] })).toThrow(/must lie between 0 and units/);
      expect(() => invoice({ charges: [seats({}, 'package', { amount: '1', package_size: 10, free_units: 0 })] })).toThrow(/prorated charges use the standard, graduated, volume models/);
    });
  });
});
