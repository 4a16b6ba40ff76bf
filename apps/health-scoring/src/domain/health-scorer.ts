import type { HealthBand } from '@tally/contracts';
import { HEALTH_INPUTS, type HealthInputName, type HealthWeights } from './health-weights';
import { round2 } from './usage-input';

/** Each input already normalized to 0-100 (usage up to 150 with the power-user bonus). */
export type HealthInputValues = Record<HealthInputName, number>;

export interface HealthScore {
  /** Whole points: the weighted sum rounded half up (40.5 -> 41, 40.49 -> 40). */
  score: number;
  band: HealthBand;
  /** The weighted inputs' values (0-100, usage up to 150). */
  inputs: Partial<Record<HealthInputName, number>>;
  /** Points each weighted input adds to the score: value × weight / 100, before rounding. */
  contributions: Partial<Record<HealthInputName, number>>;
}

/**
 * Score = Σ value × weight / 100 over the weighted inputs, then rounded half up to a whole number. The
 * band is read from that whole number, so "red 0-40, yellow 41-70, green 71-100, excellent above 100"
 * holds exactly as written: 40.5 is 41 (yellow), 70.49 is 70 (yellow), 100.5 is 101 (excellent). A
 * score can exceed 100 only through the usage bonus (see usage-input). A non-finite or negative input throws.
 */
export function scoreHealth(values: HealthInputValues, weights: HealthWeights): HealthScore {
  const inputs: HealthScore['inputs'] = {};
  const contributions: HealthScore['contributions'] = {};
  let raw = 0;
  for (const name of HEALTH_INPUTS) {
    const weight = weights[name];
    if (!weight) continue;
    // A value out of range (a fact beyond double precision) must not become a stored NaN score: refusing it
    // makes the rescoring job isolate and list the customer instead.
    if (!Number.isFinite(values[name]) || values[name] < 0) throw new Error(`health input ${name} is ${values[name]}: not a finite value of at least 0`);
    inputs[name] = round2(values[name]);
    const points = (values[name] * weight) / 100;
    contributions[name] = round2(points);
    raw += points;
  }
  // Rounded to 6 places first so that binary noise (40.4999999 for 40.5) cannot move a band.
  const score = Math.round(Math.round(raw * 1e6) / 1e6);
  return { score, band: bandFor(score), inputs, contributions };
}

/** Bands on the whole-number score: red 0-40 (alert the CSM), yellow 41-70, green 71-100, excellent above 100. */
export function bandFor(score: number): HealthBand {
  const whole = Math.round(score);
  if (whole <= 40) return 'red';
  if (whole <= 70) return 'yellow';
  if (whole <= 100) return 'green';
  return 'excellent';
}

export const BAND_RANK: Record<HealthBand, number> = { red: 0, yellow: 1, green: 2, excellent: 3 };
