// The charge engine: Lago's charge models as pure functions over exact decimals.
export { priceCharge } from './price-charge';
export { validateChargeProperties, isChargeModelName, parseDecimal, parseAmount } from './charge-properties';
export { chargeInputNeeds, type ChargeInputNeed } from './charge-input-needs';
export {
  PRORATED_CHARGE_MODELS,
  priceProratedCharge,
  prorateHolding,
  type ProratedChargeModel,
  type ProratedEvent,
  type ProrationPeriod,
  type UnitHolding,
} from './prorated-charge';
export type {
  ChargeProperties,
  DynamicProperties,
  GraduatedPercentageProperties,
  GraduatedProperties,
  PackageProperties,
  PercentageProperties,
  PercentageRange,
  PriceRange,
  PricingRange,
  RangeBounds,
  StandardProperties,
  VolumeProperties,
} from './charge-properties';
export { PricingDecimal } from './pricing-decimal';
export { unitsInRange } from './graduated-charge';
export { simulateLine, simulateJsonLine, type SimulationResult } from './simulate';
