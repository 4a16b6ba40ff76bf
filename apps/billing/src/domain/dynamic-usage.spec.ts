import { dynamicCorrection } from './dynamic-usage';

const CHARGE = { meter: 'tokens', model: 'dynamic', properties: { amount_meter: 'llm-cost' } };
const START = new Date('2026-11-01T00:00:00.000Z');
const correct = (billed: { units: string; amount: string }, ledger: { units: string; amount: string }) => dynamicCorrection(CHARGE, 'llm-cost', billed, ledger, START);

describe('dynamicCorrection', () => {
  it('bills the amount a late event carries (units and amount up): price(now) − price(billed)', () => {
    const c = correct({ units: '400', amount: '0.4951' }, { units: '500', amount: '0.7451' })!;
    expect({ units: c.units, amountUsage: c.amountUsage, amount: c.amount.toFixed() }).toEqual({ units: '100', amountUsage: '0.25', amount: '0.25' });
    expect(c.description).toBe('tokens: usage in the period from 2026-11-01T00:00:00.000Z changed after it was invoiced (+100 units, +0.25 llm-cost), dynamic');
  });

  it('credits a late negative amount (a refund event): the difference is negative', () => {
    const c = correct({ units: '400', amount: '0.4951' }, { units: '400', amount: '0.3951' })!;
    expect({ units: c.units, amountUsage: c.amountUsage, amount: c.amount.toFixed() }).toEqual({ units: '0', amountUsage: '-0.1', amount: '-0.1' });
  });

  it('re-prices an amount-only change (units unchanged)', () => {
    expect(correct({ units: '10', amount: '1' }, { units: '10', amount: '3.5' })!.amount.toFixed()).toBe('2.5');
  });

  it('re-prices a units-only change by Lago\'s 0-unit rule: 0 → some units bills the whole amount the events carried', () => {
    // Billed at 0 units (nothing charged though the events carried 3.5); a late event with units and no amount.
    const c = correct({ units: '0', amount: '3.5' }, { units: '20', amount: '3.5' })!;
    expect({ units: c.units, amountUsage: c.amountUsage, amount: c.amount.toFixed() }).toEqual({ units: '20', amountUsage: '0', amount: '3.5' });
    // A units-only change between non-zero units costs nothing: the amount follows the amount meter.
    expect(correct({ units: '10', amount: '2' }, { units: '15', amount: '2' })!.amount.toFixed()).toBe('0');
  });

  it('credits the whole amount when the units fall back to 0 (Lago charges nothing at 0 units)', () => {
    expect(correct({ units: '20', amount: '3.5' }, { units: '0', amount: '3.5' })!.amount.toFixed()).toBe('-3.5');
    // A late event with units at 0 and an amount: still nothing, both sides cost 0.
    expect(correct({ units: '0', amount: '3.5' }, { units: '0', amount: '10' })!.amount.toFixed()).toBe('0');
  });

  it('keeps a negative amount total at 0 on either side', () => {
    expect(correct({ units: '5', amount: '-1' }, { units: '5', amount: '2' })!.amount.toFixed()).toBe('2');
    expect(correct({ units: '5', amount: '2' }, { units: '5', amount: '-1' })!.amount.toFixed()).toBe('-2');
    expect(correct({ units: '5', amount: '-1' }, { units: '5', amount: '-3' })!.amount.toFixed()).toBe('0');
  });

  it('is null when nothing moved, and keeps amounts finer than the minor unit exact', () => {
    expect(correct({ units: '400', amount: '0.4951' }, { units: '400', amount: '0.4951' })).toBeNull();
    expect(correct({ units: '400.0', amount: '0.49510' }, { units: '400', amount: '0.4951' })).toBeNull();
    expect(correct({ units: '1', amount: '0.0001' }, { units: '1', amount: '0.00015' })!.amount.toFixed()).toBe('0.00005');
  });
});
