import type Decimal from 'decimal.js';
import { CHARGE_MODELS, type ChargeModelName, PricingError } from '../charge-model';
import { PricingDecimal, ZERO } from './pricing-decimal';

// Parses and validates a charge's properties exactly as Lago's API accepts them (snake_case keys,
// amounts as decimal strings), with numbers accepted too. Rules follow Lago's
// Charges::Validators::*Service; the first problem found is thrown as a PricingError naming the field.

/** A range of a tiered model; `toValue` is null on the last, open-ended range. */
export interface PricingRange {
  fromValue: Decimal;
  toValue: Decimal | null;
  flatAmount: Decimal;
}

export interface PriceRange extends PricingRange {
  perUnitAmount: Decimal;
}

export interface PercentageRange extends PricingRange {
  /** A percentage: 1.5 means 1.5 %. */
  rate: Decimal;
}

export interface StandardProperties {
  amount: Decimal;
}

/**
 * How consecutive ranges meet (Lago accepts both since lago-api#5269): 'inclusive' — each from_value
 * is the previous to_value + 1 (0–100, 101–200: both bounds count, whole units); 'adjacent' — each
 * from_value is the previous to_value (0–0.1, 0.1–1, 1–∞: a range holds to − from units).
 */
export type RangeBounds = 'inclusive' | 'adjacent';

export interface GraduatedProperties {
  graduatedRanges: PriceRange[];
  rangeBounds: RangeBounds;
}

export interface VolumeProperties {
  volumeRanges: PriceRange[];
}

export interface PackageProperties {
  amount: Decimal;
  packageSize: Decimal;
  freeUnits: Decimal;
}

export interface PercentageProperties {
  /** A percentage: 1.5 means 1.5 %. */
  rate: Decimal;
  /** Per paid event; 0 when absent. */
  fixedAmount: Decimal;
  /** The first N events are free; 0 when absent. */
  freeUnitsPerEvents: number;
  /** The first X of the summed amount is free; 0 when absent. */
  freeUnitsPerTotalAggregation: Decimal;
  perTransactionMinAmount: Decimal | null;
  perTransactionMaxAmount: Decimal | null;
}

export interface GraduatedPercentageProperties {
  graduatedPercentageRanges: PercentageRange[];
  rangeBounds: RangeBounds;
}

/** `dynamic` has no pricing properties: the price is carried by the events. */
export type DynamicProperties = Record<string, never>;

export type ChargeProperties =
  | { model: 'standard'; properties: StandardProperties }
  | { model: 'graduated'; properties: GraduatedProperties }
  | { model: 'volume'; properties: VolumeProperties }
  | { model: 'package'; properties: PackageProperties }
  | { model: 'percentage'; properties: PercentageProperties }
  | { model: 'graduated_percentage'; properties: GraduatedPercentageProperties }
  | { model: 'dynamic'; properties: DynamicProperties };

type Fields = Record<string, unknown>;

const DECIMAL_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** How a rejected value is shown in a message: strings quoted, everything else as JSON. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return String(value);
  return JSON.stringify(value) ?? String(value);
}

function isAbsent(value: unknown): boolean {
  return value === undefined || value === null;
}

/** A decimal string ("12.5", "1e-3") or a finite number, as an exact Decimal; -0 becomes 0. */
export function parseDecimal(value: unknown, path: string): Decimal {
  if (isAbsent(value)) throw new PricingError(`${path} is required`);
  let parsed: Decimal;
  if (typeof value === 'string' && DECIMAL_STRING.test(value)) parsed = new PricingDecimal(value);
  else if (typeof value === 'number' && Number.isFinite(value)) parsed = new PricingDecimal(value);
  else throw new PricingError(`${path} must be a decimal string or a number, got ${describeValue(value)}`);
  return parsed.isZero() ? ZERO : parsed;
}

/** A decimal that is zero or more (Lago's DecimalAmountService#valid_amount?). */
export function parseAmount(value: unknown, path: string): Decimal {
  const parsed = parseDecimal(value, path);
  if (parsed.isNegative()) throw new PricingError(`${path} must not be negative, got ${describeValue(value)}`);
  return parsed;
}

function parseOptionalAmount(value: unknown, path: string): Decimal | null {
  return isAbsent(value) ? null : parseAmount(value, path);
}

function parseWholeNumber(value: unknown, path: string, min: 0 | 1): Decimal {
  const parsed = parseDecimal(value, path);
  if (!parsed.isInteger()) throw new PricingError(`${path} must be a whole number, got ${describeValue(value)}`);
  if (parsed.lt(min)) {
    throw new PricingError(`${path} must be ${min === 0 ? 'zero or more' : 'greater than 0'}, got ${describeValue(value)}`);
  }
  return parsed;
}

function asFields(value: unknown, path: string): Fields {
  if (isAbsent(value)) throw new PricingError(`${path} is required`);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PricingError(`${path} must be an object, got ${describeValue(value)}`);
  }
  return value as Fields;
}

function parseStandard(p: Fields): StandardProperties {
  return { amount: parseAmount(p['amount'], 'amount') };
}

function parsePackage(p: Fields): PackageProperties {
  return {
    amount: parseAmount(p['amount'], 'amount'),
    packageSize: parseWholeNumber(p['package_size'], 'package_size', 1),
    // Lago's validator requires free_units (0 included), though its pricing defaults it to 0.
    freeUnits: parseWholeNumber(p['free_units'], 'free_units', 0),
  };
}

function parsePercentage(p: Fields): PercentageProperties {
  const rate = parseAmount(p['rate'], 'rate');
  const fixedAmount = parseOptionalAmount(p['fixed_amount'], 'fixed_amount') ?? ZERO;
  const freeEvents = isAbsent(p['free_units_per_events'])
    ? ZERO
    : parseWholeNumber(p['free_units_per_events'], 'free_units_per_events', 1);
  if (freeEvents.gt(Number.MAX_SAFE_INTEGER)) {
    throw new PricingError(`free_units_per_events must be at most ${Number.MAX_SAFE_INTEGER}, got ${describeValue(p['free_units_per_events'])}`);
  }
  const freeTotal = parseOptionalAmount(p['free_units_per_total_aggregation'], 'free_units_per_total_aggregation') ?? ZERO;
  // Lago treats a blank min/max ("" or null) as not set (`present?`).
  const blankIsAbsent = (v: unknown) => (v === '' ? null : v);
  const min = parseOptionalAmount(blankIsAbsent(p['per_transaction_min_amount']), 'per_transaction_min_amount');
  const max = parseOptionalAmount(blankIsAbsent(p['per_transaction_max_amount']), 'per_transaction_max_amount');
  if (min && max && max.lt(min)) {
    throw new PricingError(
      `per_transaction_max_amount (${max.toFixed()}) must not be lower than per_transaction_min_amount (${min.toFixed()})`,
    );
  }
  return {
    rate,
    fixedAmount,
    freeUnitsPerEvents: freeEvents.toNumber(),
    freeUnitsPerTotalAggregation: freeTotal,
    perTransactionMinAmount: min,
    perTransactionMaxAmount: max,
  };
}

function parseBound(value: unknown, path: string, wholeNumbers: boolean): Decimal {
  if (wholeNumbers) return parseWholeNumber(value, path, 0);
  const parsed = parseDecimal(value, path);
  if (parsed.isNegative()) throw new PricingError(`${path} must be zero or more, got ${describeValue(value)}`);
  return parsed;
}

interface RangeRules {
  /** Bounds must be whole numbers (volume: Lago's volume ranges are integers, see the README). */
  wholeNumbers: boolean;
  /** Adjacent bounds (from_value = previous to_value) are accepted besides inclusive ones. */
  adjacentAllowed: boolean;
}

/**
 * Lago's range rules (Charges::Validators::*Service with Validators::RangeBoundsValidator): the first
 * range starts at 0; every range but the last has a to_value greater than its from_value, the last
 * has none; each next from_value is the previous to_value + 1 ('inclusive': 0–100, 101–200) or, for
 * graduated models, the previous to_value ('adjacent': 0–0.1, 0.1–1). All ranges follow one
 * convention: Lago prices a mix as inclusive and so bills a unit twice at each adjacent bound.
 */
function parseRanges<R extends PricingRange>(
  value: unknown,
  key: string,
  rules: RangeRules,
  parseRest: (range: Fields, path: string) => Omit<R, 'fromValue' | 'toValue'>,
): { ranges: R[]; rangeBounds: RangeBounds } {
  if (isAbsent(value)) throw new PricingError(`${key} is required`);
  if (!Array.isArray(value) || value.length === 0) {
    throw new PricingError(`${key} must be a non-empty array of ranges, got ${describeValue(value)}`);
  }
  const ranges: R[] = [];
  let rangeBounds: RangeBounds | null = null;
  let previousTo: Decimal | null = null;
  value.forEach((item: unknown, index) => {
    const path = `${key}[${index}]`;
    const range = asFields(item, path);
    const last = index === value.length - 1;
    const fromValue = parseBound(range['from_value'], `${path}.from_value`, rules.wholeNumbers);
    const got = describeValue(range['from_value']);
    if (previousTo === null) {
      if (!fromValue.isZero()) throw new PricingError(`${path}.from_value must be 0, got ${got}`);
    } else {
      const inclusiveFrom = previousTo.plus(1);
      const bounds: RangeBounds | null = fromValue.eq(inclusiveFrom) ? 'inclusive' : rules.adjacentAllowed && fromValue.eq(previousTo) ? 'adjacent' : null;
      if (rangeBounds === null && bounds === null) {
        throw new PricingError(
          rules.adjacentAllowed
            ? `${path}.from_value must equal the previous to_value (${previousTo.toFixed()}, adjacent ranges) or the previous to_value + 1 (${inclusiveFrom.toFixed()}, inclusive ranges), got ${got}`
            : `${path}.from_value must equal the previous to_value + 1 (${inclusiveFrom.toFixed()}), got ${got}`,
        );
      }
      if (rangeBounds !== null && bounds !== rangeBounds) {
        const expected = rangeBounds === 'adjacent' ? previousTo : inclusiveFrom;
        throw new PricingError(
          `${path}.from_value must equal the previous to_value${rangeBounds === 'adjacent' ? '' : ' + 1'} (${expected.toFixed()}) like the ranges before it (${rangeBounds} ranges; one convention for all), got ${got}`,
        );
      }
      rangeBounds = bounds;
    }
    let toValue: Decimal | null = null;
    if (last) {
      if (!isAbsent(range['to_value'])) {
        throw new PricingError(`${path}.to_value must be null on the last range (it is open-ended), got ${describeValue(range['to_value'])}`);
      }
    } else {
      if (isAbsent(range['to_value'])) throw new PricingError(`${path}.to_value is required on every range but the last`);
      toValue = parseBound(range['to_value'], `${path}.to_value`, rules.wholeNumbers);
      if (!toValue.gt(fromValue)) {
        throw new PricingError(`${path}.to_value must be greater than from_value (${fromValue.toFixed()}), got ${describeValue(range['to_value'])}`);
      }
      previousTo = toValue;
    }
    ranges.push({ fromValue, toValue, ...parseRest(range, path) } as R);
  });
  return { ranges, rangeBounds: rangeBounds ?? 'inclusive' };
}

const GRADUATED_RULES: RangeRules = { wholeNumbers: false, adjacentAllowed: true };
const VOLUME_RULES: RangeRules = { wholeNumbers: true, adjacentAllowed: false };

function parsePriceRangeRest(range: Fields, path: string): Omit<PriceRange, 'fromValue' | 'toValue'> {
  return {
    perUnitAmount: parseAmount(range['per_unit_amount'], `${path}.per_unit_amount`),
    flatAmount: parseAmount(range['flat_amount'], `${path}.flat_amount`),
  };
}

function parsePercentageRangeRest(range: Fields, path: string): Omit<PercentageRange, 'fromValue' | 'toValue'> {
  return {
    rate: parseAmount(range['rate'], `${path}.rate`),
    flatAmount: parseAmount(range['flat_amount'], `${path}.flat_amount`),
  };
}

export function isChargeModelName(model: unknown): model is ChargeModelName {
  return typeof model === 'string' && (CHARGE_MODELS as readonly string[]).includes(model);
}

/**
 * Validates a charge's Lago-style properties for a model and returns them parsed. Unknown keys
 * (Lago's `pricing_group_keys`, `grouped_by`...) are ignored, so a Lago plan imports unchanged.
 * @throws PricingError naming the first field that is wrong.
 */
export function validateChargeProperties(model: string, properties: unknown): ChargeProperties {
  if (!isChargeModelName(model)) {
    throw new PricingError(`unknown charge model ${describeValue(model)} (expected one of: ${CHARGE_MODELS.join(', ')})`);
  }
  const p = asFields(properties, 'properties');
  switch (model) {
    case 'standard':
      return { model, properties: parseStandard(p) };
    case 'graduated': {
      const { ranges, rangeBounds } = parseRanges<PriceRange>(p['graduated_ranges'], 'graduated_ranges', GRADUATED_RULES, parsePriceRangeRest);
      return { model, properties: { graduatedRanges: ranges, rangeBounds } };
    }
    case 'volume':
      return { model, properties: { volumeRanges: parseRanges<PriceRange>(p['volume_ranges'], 'volume_ranges', VOLUME_RULES, parsePriceRangeRest).ranges } };
    case 'package':
      return { model, properties: parsePackage(p) };
    case 'percentage':
      return { model, properties: parsePercentage(p) };
    case 'graduated_percentage': {
      const { ranges, rangeBounds } = parseRanges<PercentageRange>(
        p['graduated_percentage_ranges'],
        'graduated_percentage_ranges',
        GRADUATED_RULES,
        parsePercentageRangeRest,
      );
      return { model, properties: { graduatedPercentageRanges: ranges, rangeBounds } };
    }
    case 'dynamic':
      // Lago's dynamic charges carry no pricing properties (pricing_group_keys and the like are ignored here too).
      return { model, properties: {} };
  }
}
