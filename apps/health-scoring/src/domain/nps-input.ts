import { round2 } from './usage-input';

/**
 * NPS input (0-100): the latest answer × 10, plus the trend since the answer before it ((latest − previous)
 * × 5, so a detractor turning promoter gains, a promoter sliding loses), clamped to 0-100. An answer loses
 * its meaning with time: after 180 days the value fades linearly to the neutral 50, reached at 365 days.
 * No answer yet is neutral (50): a customer is not put at risk for not having been asked.
 */
export interface NpsAnswer {
  score: number;
  answeredAt: Date;
}

export interface NpsInput {
  value: number;
  latest: number | null;
  previous: number | null;
}

export const NPS_NEUTRAL = 50;
export const NPS_FADE_START_DAYS = 180;
export const NPS_FADE_END_DAYS = 365;

export function npsInput(answers: NpsAnswer[], now: Date): NpsInput {
  const asked = answers.filter((a) => a.answeredAt.getTime() <= now.getTime()).sort((a, b) => b.answeredAt.getTime() - a.answeredAt.getTime());
  if (asked.length === 0) return { value: NPS_NEUTRAL, latest: null, previous: null };
  const [latest, previous] = asked;
  const fresh = Math.min(100, Math.max(0, latest.score * 10 + (previous ? (latest.score - previous.score) * 5 : 0)));
  const ageDays = (now.getTime() - latest.answeredAt.getTime()) / 86_400_000;
  const faded = Math.min(1, Math.max(0, (ageDays - NPS_FADE_START_DAYS) / (NPS_FADE_END_DAYS - NPS_FADE_START_DAYS)));
  return { value: round2(fresh * (1 - faded) + NPS_NEUTRAL * faded), latest: latest.score, previous: previous?.score ?? null };
}
