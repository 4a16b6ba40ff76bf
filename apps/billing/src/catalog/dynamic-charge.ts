/**
 * Lago's `dynamic` charge fed from period usage. In Lago the price is a field of each event
 * (`precise_total_amount_cents`) and the charge bills their sum; Tally's aggregates carry one value per meter, so
 * a dynamic charge names a second meter that sums the events' amount property (`properties.amount_meter`, e.g. a
 * SUM over `$.precise_total_amount`): its units come from the charge's own meter, the amount it bills is the
 * amount meter's period usage (the pricing library's `eventAmountTotal`), and nothing is billed at 0 units
 * (Lago's DynamicService).
 */

export const AMOUNT_METER_PROPERTY = 'amount_meter';

interface ChargeLike {
  model: string;
  meter: string;
  properties: Record<string, unknown>;
}

/** The meter whose period usage is the dynamic charge's amount; undefined for any other charge. */
export function amountMeterOf(charge: ChargeLike): string | undefined {
  if (charge.model !== 'dynamic') return undefined;
  const meter = charge.properties[AMOUNT_METER_PROPERTY];
  return typeof meter === 'string' ? meter : undefined;
}

/**
 * Whether a charge's price follows from its units alone, so a change of units after its invoice was final can
 * be priced as a difference (late-usage lines, credit notes). A dynamic charge's price follows its amount meter:
 * it is corrected by its own price difference (domain/dynamic-usage.ts dynamicCorrection). A prorated charge's follows the days each unit was held: priced by units
 * it would bill a late seat for the whole period, so it is corrected by its own price difference instead
 * (domain/prorated-usage.ts proratedCorrection).
 */
export function pricedByUnits(charge: Pick<ChargeLike, 'model'> & { prorated?: boolean }): boolean {
  return charge.model !== 'dynamic' && charge.prorated !== true;
}

export interface DynamicChargeIssue {
  /** Below the charge: `['properties', 'amount_meter']`, `['includedUnits']`... */
  path: Array<string | number>;
  message: string;
}

/**
 * What a plan's dynamic charge must satisfy to be billed from period usage: an amount meter (1–200 characters)
 * other than its own meter, not charged by another charge of the plan and not the amount meter of another
 * dynamic charge (either would bill the same amounts twice); no included units (units below them would waive the
 * whole amount, any unit above would bill all of it) and no spend alerts (threshold-alerting prices one meter's
 * units and would never see the amounts).
 */
export function dynamicChargeIssues(charges: ReadonlyArray<ChargeLike & { includedUnits?: string; alerts?: { spend?: unknown; stepSpend?: unknown } }>): Array<DynamicChargeIssue & { charge: number }> {
  const issues: Array<DynamicChargeIssue & { charge: number }> = [];
  const charged = new Set(charges.map((c) => c.meter));
  const amountMeters = new Map<string, number>();
  charges.forEach((c, i) => {
    if (c.model !== 'dynamic') return;
    const issue = (path: Array<string | number>, message: string) => issues.push({ charge: i, path, message });
    const raw = c.properties[AMOUNT_METER_PROPERTY];
    if (raw === undefined) issue(['properties', AMOUNT_METER_PROPERTY], 'is required: the meter that sums the amounts the events carry (e.g. a SUM over $.precise_total_amount)');
    else if (typeof raw !== 'string' || raw.length === 0 || raw.length > 200) issue(['properties', AMOUNT_METER_PROPERTY], 'must be a meter slug of 1 to 200 characters');
    else if (raw === c.meter) issue(['properties', AMOUNT_METER_PROPERTY], `must differ from the charge's meter "${c.meter}", which counts its units`);
    else if (charged.has(raw)) issue(['properties', AMOUNT_METER_PROPERTY], `meter "${raw}" is charged by another charge of the plan: its amounts would be billed twice`);
    else if (amountMeters.has(raw)) issue(['properties', AMOUNT_METER_PROPERTY], `meter "${raw}" is already the amount meter of charge ${amountMeters.get(raw)}: its amounts would be billed twice`);
    else amountMeters.set(raw, i);
    if (c.includedUnits !== undefined) issue(['includedUnits'], 'cannot be set on a dynamic charge: it bills the events\' amounts, not a price per unit');
    if (c.alerts?.spend !== undefined) issue(['alerts', 'spend'], "cannot be set on a dynamic charge: threshold-alerting does not see the amount meter's usage");
    if (c.alerts?.stepSpend !== undefined) issue(['alerts', 'stepSpend'], "cannot be set on a dynamic charge: threshold-alerting does not see the amount meter's usage");
  });
  return issues;
}
