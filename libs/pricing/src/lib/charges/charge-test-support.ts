import Decimal from 'decimal.js';
import type { ChargeBreakdownLine } from '../charge-model';
import { priceCharge } from './price-charge';
import { PricingDecimal } from './pricing-decimal';

// Test support for the charge specs: prices with plain strings in and out, so expected values read
// as the hand-computed decimals they are.

export interface PlainLine {
  description: string;
  units: string;
  amount: string;
  [field: string]: string | null;
}

export function plainLine(line: ChargeBreakdownLine): PlainLine {
  const plain: PlainLine = { description: line.description, units: line.units.toFixed(), amount: line.amount.toFixed() };
  if (line.fromValue !== undefined) plain['fromValue'] = line.fromValue.toFixed();
  if (line.toValue !== undefined) plain['toValue'] = line.toValue === null ? null : line.toValue.toFixed();
  if (line.perUnitAmount !== undefined) plain['perUnitAmount'] = line.perUnitAmount.toFixed();
  if (line.flatAmount !== undefined) plain['flatAmount'] = line.flatAmount.toFixed();
  if (line.rate !== undefined) plain['rate'] = line.rate.toFixed();
  return plain;
}

export function price(model: string, properties: unknown, units: string, events?: string[]) {
  const result = priceCharge(model, properties, {
    units: new Decimal(units),
    ...(events === undefined ? {} : { events: events.map((e) => new Decimal(e)) }),
  });
  const breakdownTotal = result.breakdown.reduce((total, line) => total.plus(line.amount), new PricingDecimal(0));
  if (!breakdownTotal.eq(result.amount)) {
    throw new Error(`breakdown sums to ${breakdownTotal.toFixed()}, amount is ${result.amount.toFixed()}`);
  }
  return { amount: result.amount.toFixed(), units: result.units.toFixed(), breakdown: result.breakdown.map(plainLine) };
}

export function amountOf(model: string, properties: unknown, units: string, events?: string[]): string {
  return price(model, properties, units, events).amount;
}
