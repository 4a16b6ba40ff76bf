import { round2 } from './usage-input';

/**
 * The two inputs a tenant may add to the four of the brief (they count only when weighted):
 *
 * Activation milestones (0-100): each meter the customer's plan includes is a milestone, reached at its
 * first use; the value is the share reached. Without entitlements, any use at all is full activation.
 */
export function activationInput(entitledMeters: string[], usedMeters: string[]): number {
  const used = new Set(usedMeters);
  const entitled = [...new Set(entitledMeters)];
  if (entitled.length === 0) return used.size > 0 ? 100 : 0;
  return round2((100 * entitled.filter((m) => used.has(m)).length) / entitled.length);
}

/**
 * Threshold signals (0-100): the highest threshold percent crossed in the running period (from
 * `alerts.usage-threshold.v1`, reset with every period), capped at 100: a customer growing into its plan
 * is engaged. No threshold crossed this period: 0.
 */
export interface PeriodThreshold {
  periodStart: Date;
  periodEnd: Date;
  maxPercent: number;
}

export function thresholdInput(thresholds: PeriodThreshold[], now: Date): number {
  const running = thresholds.filter((t) => t.periodStart.getTime() <= now.getTime() && now.getTime() < t.periodEnd.getTime());
  return running.length === 0 ? 0 : Math.min(100, Math.max(...running.map((t) => t.maxPercent)));
}
