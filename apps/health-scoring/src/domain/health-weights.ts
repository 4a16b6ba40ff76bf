/** The inputs a health score can weigh: the brief's four, and two a tenant may add (4-6 in all). */
export const HEALTH_INPUTS = ['usage', 'billing', 'support', 'nps', 'activation', 'thresholds'] as const;
export type HealthInputName = (typeof HEALTH_INPUTS)[number];

/** Percent per input; only the inputs present count. */
export type HealthWeights = Partial<Record<HealthInputName, number>>;

/** The product brief's default: usage 40, billing status 30, support tickets 20, NPS 10. */
export const DEFAULT_WEIGHTS: HealthWeights = { usage: 40, billing: 30, support: 20, nps: 10 };

export interface WeightProblem {
  /** JSON Pointer into the weights object. */
  pointer: string;
  detail: string;
}

/**
 * A tenant's weights: an object of 4 to 6 known inputs, each a whole percent from 1 to 100 (an input
 * weighed 0 is simply left out), summing to exactly 100. Whole percents keep "sums to 100" exact.
 */
export function weightProblems(weights: unknown): WeightProblem[] {
  if (typeof weights !== 'object' || weights === null || Array.isArray(weights)) return [{ pointer: '', detail: 'must be an object of input name to percent' }];
  const problems: WeightProblem[] = [];
  const entries = Object.entries(weights as Record<string, unknown>);
  for (const [name, value] of entries) {
    const pointer = `/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (!(HEALTH_INPUTS as readonly string[]).includes(name)) problems.push({ pointer, detail: `unknown input; known: ${HEALTH_INPUTS.join(', ')}` });
    else if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 100) problems.push({ pointer, detail: 'must be a whole percent from 1 to 100' });
  }
  if (entries.length < 4 || entries.length > 6) problems.push({ pointer: '', detail: `must weigh 4 to 6 inputs (got ${entries.length})` });
  if (problems.length === 0) {
    const sum = entries.reduce((s, [, v]) => s + (v as number), 0);
    if (sum !== 100) problems.push({ pointer: '', detail: `weights must sum to 100 (got ${sum})` });
  }
  return problems;
}
