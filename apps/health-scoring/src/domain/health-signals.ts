import { BAND_RANK, type HealthScore } from './health-scorer';
import { HEALTH_INPUTS, type HealthInputName, type HealthWeights } from './health-weights';
import { round2 } from './usage-input';

export const INPUT_LABELS: Record<HealthInputName, string> = {
  usage: 'product usage',
  billing: 'billing status',
  support: 'support tickets',
  nps: 'NPS',
  activation: 'activation milestones',
  thresholds: 'threshold signals',
};

/** A fall of at least this many points below the highest score of the last 7 days is a sharp drop. */
export const SHARP_DROP_POINTS = 15;
export const SHARP_DROP_WINDOW_DAYS = 7;

export type RecommendedAction = 'csm_review_now' | 'automated_guidance';
export type ChurnRiskTrigger = 'entered_band' | 'sharp_drop';

export interface ChurnRiskSignal {
  trigger: ChurnRiskTrigger;
  reasons: string[];
  recommendedAction: RecommendedAction;
}

export interface ChurnRiskContext {
  previous: HealthScore | null;
  next: HealthScore;
  weights: HealthWeights;
  /** Highest score kept in the history of the last SHARP_DROP_WINDOW_DAYS (null: none). */
  highestRecentScore: number | null;
  /** When the last churn-risk signal for a drop went out (a sharp drop is signalled once a week at most). */
  lastDropSignalAt: Date | null;
  now: Date;
}

/**
 * A churn-risk signal goes out when the customer enters yellow or red from a better band (or is first
 * scored there), or when its score fell sharply within a week while staying in its band. Red asks for a
 * CSM review now; anything else for automated guidance (the brief's yellow playbook).
 */
export function churnRiskSignal(ctx: ChurnRiskContext): ChurnRiskSignal | null {
  const { previous, next } = ctx;
  const recommendedAction: RecommendedAction = next.band === 'red' ? 'csm_review_now' : 'automated_guidance';
  const entered = (next.band === 'red' || next.band === 'yellow') && (previous === null || BAND_RANK[next.band] < BAND_RANK[previous.band]);
  if (entered) return { trigger: 'entered_band', reasons: topReasons(previous, next, ctx.weights), recommendedAction };
  if (isSharpDrop(ctx)) return { trigger: 'sharp_drop', reasons: topReasons(previous, next, ctx.weights), recommendedAction };
  return null;
}

export function isSharpDrop(ctx: Pick<ChurnRiskContext, 'next' | 'highestRecentScore' | 'lastDropSignalAt' | 'now'>): boolean {
  if (ctx.highestRecentScore === null || ctx.highestRecentScore - ctx.next.score < SHARP_DROP_POINTS) return false;
  return ctx.lastDropSignalAt === null || ctx.now.getTime() - ctx.lastDropSignalAt.getTime() >= SHARP_DROP_WINDOW_DAYS * 86_400_000;
}

/**
 * The (at most three) inputs that cost the most points: against the previous score when there is one
 * and some input lost points, otherwise against full marks. Worded for a customer-success manager.
 */
export function topReasons(previous: HealthScore | null, next: HealthScore, weights: HealthWeights, limit = 3): string[] {
  const weighted = HEALTH_INPUTS.filter((n) => weights[n]);
  const losses = previous
    ? weighted
        .map((n) => ({ n, lost: (previous.contributions[n] ?? 0) - (next.contributions[n] ?? 0) }))
        .filter((l) => l.lost > 0)
    : [];
  if (losses.length > 0) {
    return losses
      .sort((a, b) => b.lost - a.lost || weighted.indexOf(a.n) - weighted.indexOf(b.n))
      .slice(0, limit)
      .map(({ n, lost }) => `${INPUT_LABELS[n]} ${previous?.inputs[n]} -> ${next.inputs[n]} (-${round2(lost)} points)`);
  }
  return weighted
    .map((n) => ({ n, missing: (weights[n] ?? 0) - (next.contributions[n] ?? 0) }))
    .filter((m) => m.missing > 0)
    .sort((a, b) => b.missing - a.missing || weighted.indexOf(a.n) - weighted.indexOf(b.n))
    .slice(0, limit)
    .map(({ n, missing }) => `${INPUT_LABELS[n]} at ${next.inputs[n]} of 100 (-${round2(missing)} points)`);
}

/** Entering the excellent band (power user) is an expansion opportunity. */
export function enteredExcellent(previous: HealthScore | null, next: HealthScore): boolean {
  return next.band === 'excellent' && previous?.band !== 'excellent';
}

/** Overage in at least this many distinct billing periods started within REPEATED_OVERAGE_DAYS is "repeated". */
export const REPEATED_OVERAGE_PERIODS = 2;
export const REPEATED_OVERAGE_DAYS = 95;

/**
 * Repeated overage: the customer went over its allowance (an overage or hard-limit alert) in at least two
 * billing periods that started within the last 95 days (a quarter of monthly periods). Returns the start
 * of the latest such period — the signal's identity, so each new period of overage signals once — or null.
 */
export function repeatedOverage(overagePeriodStarts: Date[], now: Date): Date | null {
  const since = now.getTime() - REPEATED_OVERAGE_DAYS * 86_400_000;
  const recent = [...new Set(overagePeriodStarts.map((d) => d.getTime()))].filter((t) => t >= since && t <= now.getTime()).sort((a, b) => a - b);
  return recent.length >= REPEATED_OVERAGE_PERIODS ? new Date(recent[recent.length - 1]) : null;
}

/** What an alert says about an upgrade (`alerts.usage-threshold.v1`, threshold-alerting's recommendation). */
export interface AlertWithRecommendation {
  kind: string;
  meter: string;
  periodStart: string;
  recommendation?: { currentPlan: string; plan: string; currency: string; currentCost: string; recommendedCost: string; saving: string };
}

export interface UpgradeSignal {
  /** The signal's identity: once per (customer, period, recommended plan) — `<period start ISO>:<plan>`. */
  signalKey: string;
  periodStart: string;
  recommendedPlan: string;
  saving: string;
  currency: string;
  reasons: string[];
}

/**
 * An alert recommending a higher plan that would cost the customer less in its projected period is an
 * expansion opportunity. The period start is normalized so two spellings of one instant are one period;
 * several meters (or a forecast and then an overage) recommending the same plan in a period are one signal.
 */
export function upgradeRecommendedSignal(alert: AlertWithRecommendation): UpgradeSignal | null {
  const r = alert.recommendation;
  const start = Date.parse(alert.periodStart);
  if (!r || Number.isNaN(start)) return null;
  const periodStart = new Date(start).toISOString();
  return {
    signalKey: `${periodStart}:${r.plan}`,
    periodStart,
    recommendedPlan: r.plan,
    saving: r.saving,
    currency: r.currency,
    reasons: [
      `projected period costs ${r.currentCost} ${r.currency} on ${r.currentPlan} and ${r.recommendedCost} ${r.currency} on ${r.plan} (saves ${r.saving})`,
      `${alert.kind} alert on ${alert.meter}`,
    ],
  };
}
