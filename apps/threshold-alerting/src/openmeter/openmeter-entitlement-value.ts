import { Decimal } from 'decimal.js';
import type { EntitlementCheck } from '../entitlements/entitlement-projection';

/** OpenMeter's `EntitlementValue` for a metered entitlement (numbers, as OpenMeter answers them). */
export interface OpenMeterEntitlementValue {
  hasAccess: boolean;
  balance?: number;
  usage: number;
  overage?: number;
  totalAvailableGrantAmount?: number;
}

/**
 * Tally's check in OpenMeter's shape: the included units are the grant, the balance what is left of them (never
 * negative), the overage the usage beyond them. A meter without included units has no grant: only access and
 * usage, as OpenMeter answers for usage without a limit. Numbers are doubles there: exact decimals are rounded
 * to the nearest double here (Tally's own check keeps them exact).
 */
export function openMeterEntitlementValue(check: EntitlementCheck): OpenMeterEntitlementValue {
  const usage = new Decimal(check.usage);
  if (check.included === null) return { hasAccess: check.hasAccess, usage: usage.toNumber() };
  const included = new Decimal(check.included);
  return {
    hasAccess: check.hasAccess,
    balance: Decimal.max(included.minus(usage), 0).toNumber(),
    usage: usage.toNumber(),
    overage: Decimal.max(usage.minus(included), 0).toNumber(),
    totalAvailableGrantAmount: included.toNumber(),
  };
}
