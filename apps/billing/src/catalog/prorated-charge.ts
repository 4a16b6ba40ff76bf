/**
 * Lago's prorated charges (`prorated: true`, Charge#validate_prorated: standard, graduated and volume charges
 * on a recurring metric, paid in arrears) fed from period usage: aggregation keeps, per PERIOD window of a SUM
 * meter the subscription charges prorated, `heldUnitDays` = Σ value × local days from the event's day to the
 * period's last day; billing turns it into prorated units (heldUnitDays / days of the period) and adds the units
 * held when the period opened (the subscription's usage of the meter in its earlier periods: seats persist).
 *
 * Standard and volume depend only on the period's totals (full and prorated units), so they are priced exactly
 * as Lago prices them. Graduated is not: Lago's ProratedGraduatedService walks the events in time order and
 * splits each one's prorated units across the ranges its running sum crosses, and period usage carries totals,
 * not that order — so billing refuses it rather than bill another amount.
 */

/** The models billing can prorate exactly from period totals. */
export const BILLABLE_PRORATED_MODELS = ['standard', 'volume'] as const;

interface ChargeLike {
  model: string;
  prorated?: boolean;
  includedUnits?: string;
  alerts?: { spend?: unknown; stepSpend?: unknown };
}

export const isProrated = (charge: Pick<ChargeLike, 'prorated'>): boolean => charge.prorated === true;

export interface ProratedChargeIssue {
  path: Array<string | number>;
  message: string;
}

/** Why billing cannot bill a charge marked `prorated: true` by Lago's rule; empty when it can (or it is not prorated). */
export function proratedChargeIssues(charge: ChargeLike): ProratedChargeIssue[] {
  if (!isProrated(charge)) return [];
  const issues: ProratedChargeIssue[] = [];
  if (charge.model === 'graduated') {
    issues.push({
      path: ['prorated'],
      message:
        "cannot be set on a graduated charge: Lago's ProratedGraduatedService prices each event against the running sum of units in event order, which period usage does not carry (prorated standard and volume charges are billed)",
    });
  } else if (!(BILLABLE_PRORATED_MODELS as readonly string[]).includes(charge.model)) {
    issues.push({ path: ['prorated'], message: `cannot be set on a ${charge.model} charge: Lago prorates only standard, graduated and volume charges, and billing feeds standard and volume` });
  }
  if (charge.includedUnits !== undefined) issues.push({ path: ['includedUnits'], message: "cannot be set on a prorated charge: Lago's prorated charges price every unit held by the days it is held" });
  if (charge.alerts?.spend !== undefined) issues.push({ path: ['alerts', 'spend'], message: 'cannot be set on a prorated charge: threshold-alerting prices spend on the full units, not the prorated ones' });
  if (charge.alerts?.stepSpend !== undefined) issues.push({ path: ['alerts', 'stepSpend'], message: 'cannot be set on a prorated charge: threshold-alerting prices spend on the full units, not the prorated ones' });
  return issues;
}
