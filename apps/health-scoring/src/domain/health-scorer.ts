import type { HealthBand } from '@tally/contracts';

export interface HealthWeights {
  usage: number;
  billing: number;
  support: number;
  nps: number;
}

/** The product brief's default weighting: usage 40 %, billing status 30 %, support 20 %, NPS 10 %. */
export const DEFAULT_WEIGHTS: HealthWeights = { usage: 0.4, billing: 0.3, support: 0.2, nps: 0.1 };

export interface HealthInputs {
  /** Highest share of included usage reached this period, in percent (may exceed 100); null if unknown. */
  usagePercent: number | null;
  /** Whether the customer used the product at all this period. */
  active: boolean;
  accountStatus: 'good_standing' | 'past_due' | 'delinquent' | null;
  openTickets: number;
  /** Latest NPS answer, 0-10; null if never asked. */
  nps: number | null;
}

export interface HealthScore {
  score: number;
  band: HealthBand;
  components: Record<keyof HealthWeights, number>;
}

/**
 * Each input becomes a 0-100 component (usage may go to 150: heavy use is an expansion signal), the
 * weighted sum is the score. Missing signals count as neutral, not as bad, so a new customer is not
 * flagged as churning for lack of data.
 */
export function scoreHealth(inputs: HealthInputs, weights: HealthWeights = DEFAULT_WEIGHTS): HealthScore {
  const usage = inputs.usagePercent !== null ? Math.min(150, Math.max(0, inputs.usagePercent)) : inputs.active ? 50 : 0;
  const billing = inputs.accountStatus === 'past_due' ? 40 : inputs.accountStatus === 'delinquent' ? 0 : 100;
  const support = Math.max(0, 100 - 20 * inputs.openTickets);
  const nps = inputs.nps === null ? 50 : inputs.nps * 10;
  const total = weights.usage + weights.billing + weights.support + weights.nps;
  const score = round1((usage * weights.usage + billing * weights.billing + support * weights.support + nps * weights.nps) / total);
  return { score, band: bandFor(score), components: { usage, billing, support, nps } };
}

/** Bands: red 0-40 (alert the CSM), yellow 41-70, green 71-100, excellent above 100. */
export function bandFor(score: number): HealthBand {
  if (score <= 40) return 'red';
  if (score <= 70) return 'yellow';
  if (score <= 100) return 'green';
  return 'excellent';
}

/** Why the band moved, in words a customer-success manager can act on. */
export function bandChangeReasons(before: HealthScore | null, after: HealthScore): string[] {
  const reasons: string[] = [];
  const names: Record<keyof HealthWeights, string> = { usage: 'product usage', billing: 'billing status', support: 'support tickets', nps: 'NPS' };
  for (const key of Object.keys(names) as Array<keyof HealthWeights>) {
    const was = before?.components[key];
    const now = after.components[key];
    if (was === undefined) reasons.push(`${names[key]} score ${now}`);
    else if (now !== was) reasons.push(`${names[key]} score ${was} -> ${now}`);
  }
  return reasons;
}

const round1 = (n: number) => Math.round(n * 10) / 10;
