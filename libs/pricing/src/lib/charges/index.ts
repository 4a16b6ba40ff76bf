// The charge engine: Lago's charge models as pure functions over exact decimals.
export { priceCharge } from './price-charge';
export { validateChargeProperties, isChargeModelName, parseDecimal, parseAmount } from './charge-properties';
export type {
  ChargeProperties,
  GraduatedPercentageProperties,
  GraduatedProperties,
  PackageProperties,
  PercentageProperties,
  PercentageRange,
  PriceRange,
  PricingRange,
  StandardProperties,
  VolumeProperties,
} from './charge-properties';
export { PricingDecimal } from './pricing-decimal';
export { unitsInRange } from './graduated-charge';
export { simulateLine, simulateJsonLine, type SimulationResult } from './simulate';
