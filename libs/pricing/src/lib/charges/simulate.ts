import type Decimal from 'decimal.js';
import { PricingError } from '../charge-model';
import { describeValue, parseDecimal } from './charge-properties';
import { priceCharge } from './price-charge';
import { sum } from './pricing-decimal';

/** One simulated charge: decimal strings in plain notation, unrounded; or what is wrong with the input. */
export type SimulationResult = { amount: string; units: string } | { error: string };

const FIELDS = ['model', 'properties', 'units', 'events', 'eventCount', 'amounts'];
const EXAMPLE = '{"model": "standard", "properties": {"amount": "0.5"}, "units": "10"}';

/**
 * Prices one simulator request `{"model", "properties", "units"?, "events"?, "eventCount"?, "amounts"?}`,
 * as parsed JSON. units, events and amounts are decimal strings or numbers. Without units, the units
 * are the sum of the events (Lago's units for a sum-aggregated metric, and what `percentage` requires
 * anyway). `eventCount` is the number of events (percentage's fixed_amount); `amounts` are the
 * amounts the events carry, summed for `dynamic`.
 * Only invalid input becomes `{error}`; anything else thrown is a bug and is rethrown.
 */
export function simulateLine(json: unknown): SimulationResult {
  try {
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new PricingError(`expected a JSON object like ${EXAMPLE}, got ${describeValue(json)}`);
    }
    const request = json as Record<string, unknown>;
    const unknown = Object.keys(request).find((key) => !FIELDS.includes(key));
    if (unknown !== undefined) throw new PricingError(`unknown field "${unknown}" (expected ${FIELDS.join(', ')})`);
    if (request['model'] === undefined) throw new PricingError('model is required');
    if (typeof request['model'] !== 'string') throw new PricingError(`model must be a string, got ${describeValue(request['model'])}`);

    let events: Decimal[] | undefined;
    if (request['events'] !== undefined) {
      if (!Array.isArray(request['events'])) {
        throw new PricingError(`events must be an array of decimal strings or numbers, got ${describeValue(request['events'])}`);
      }
      events = request['events'].map((event: unknown, index) => parseDecimal(event, `events[${index}]`));
    }
    let units: Decimal;
    if (request['units'] !== undefined) units = parseDecimal(request['units'], 'units');
    else if (events !== undefined) units = sum(events);
    else throw new PricingError('units is required (or events, whose sum is then the units)');

    const amounts = request['amounts'];
    if (amounts !== undefined && !Array.isArray(amounts)) {
      throw new PricingError(`amounts must be an array of decimal strings or numbers, got ${describeValue(amounts)}`);
    }
    const eventAmountTotal = amounts === undefined ? undefined : sum(amounts.map((amount: unknown, index) => parseDecimal(amount, `amounts[${index}]`)));
    const eventCount = request['eventCount'] as number | undefined;
    const result = priceCharge(request['model'], request['properties'], {
      units,
      ...(events === undefined ? {} : { events }),
      ...(eventCount === undefined ? {} : { eventCount }),
      ...(eventAmountTotal === undefined ? {} : { eventAmountTotal }),
    });
    return { amount: result.amount.toFixed(), units: result.units.toFixed() };
  } catch (error) {
    if (error instanceof PricingError) return { error: error.message };
    throw error;
  }
}

/** One line of simulator input: null for a blank line, else the result (invalid JSON included). */
export function simulateJsonLine(line: string): SimulationResult | null {
  if (line.trim() === '') return null;
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    return { error: `invalid JSON: ${(error as Error).message}` };
  }
  return simulateLine(json);
}
