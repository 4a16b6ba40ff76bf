// What the chaos run expects threshold-alerting to have fired, from the units sent (pure, exact decimals), and
// the comparison with what it stored and published. The rules are threshold-alerting's README ("Alerts"),
// written again here rather than imported, so a change to the service's evaluator cannot move both sides.
import { PricingDecimal as D } from '@tally/pricing';

/** One charge of the chaos plans as the run posts it to billing (`standard` model: `price` per unit above `included`). */
export interface ChaosCharge {
  included: string;
  price: string;
  thresholds: Array<number | string>;
  hardLimit: boolean;
  absolute?: string[];
  spend?: string[];
  stepUnits?: string;
}

export type FiringKind = 'soft' | 'overage' | 'hard_limit' | 'absolute' | 'spend' | 'step' | 'forecast';
export type AlertKind = FiringKind | 'recovered';
export const ALERT_KINDS: AlertKind[] = ['soft', 'overage', 'hard_limit', 'absolute', 'spend', 'step', 'recovered', 'forecast'];

/** An alert by its event id, as threshold-alerting derives it from (customer, meter, period, threshold, generation). */
export interface AlertId {
  eventId: string;
  kind: AlertKind;
  threshold: string;
  generation: number;
}

const canonical = (v: number | string) => new D(String(v)).toFixed();

/** The charge's spend for `usage` units: the included ones free, each further one at `price` (unrounded). */
export function spendOf(usage: string, c: ChaosCharge): string {
  return D.max(0, new D(usage).minus(c.included)).mul(c.price).toFixed();
}

/**
 * The fixed thresholds (percent, absolute, spend) a period with `usage` units reaches, by threshold id, and the
 * unit step grid: with a SUM meter usage only grows, so each reached fixed threshold fires exactly once. Steps
 * fire the highest step reached by each evaluation only, and which values an evaluation sees depends on how
 * the aggregates were batched: only the top step (the final usage's) is certain; the others may or may not fire.
 */
export function expectedFiring(usage: string, c: ChaosCharge): { fixed: Map<string, FiringKind>; steps: { base: string; every: string; top: string | null } | null } {
  const u = new D(usage);
  const included = new D(c.included);
  const fixed = new Map<string, FiringKind>();
  for (const p of c.thresholds.map((t) => new D(canonical(t)))) {
    if (u.gte(included.mul(p).div(100))) fixed.set(`percent:${p.toFixed()}`, p.lt(100) ? 'soft' : c.hardLimit ? 'hard_limit' : 'overage');
  }
  for (const a of c.absolute ?? []) if (u.gte(a)) fixed.set(`absolute:${canonical(a)}`, 'absolute');
  const spend = new D(spendOf(usage, c));
  for (const s of c.spend ?? []) if (spend.gte(s)) fixed.set(`spend:${canonical(s)}`, 'spend');
  if (!c.stepUnits) return { fixed, steps: null };
  const base = D.max(0, ...c.thresholds.map((p) => included.mul(canonical(p)).div(100)), ...(c.absolute ?? []).map((a) => new D(a)));
  const k = u.minus(base).div(c.stepUnits).floor();
  return { fixed, steps: { base: base.toFixed(), every: new D(c.stepUnits).toFixed(), top: k.gte(1) ? base.plus(k.mul(c.stepUnits)).toFixed() : null } };
}

/** A stored fired threshold (threshold-alerting's `fired_thresholds`, one row per threshold, the latest generation). */
export interface FiredRow {
  customer: string;
  meter: string;
  periodStart: string;
  threshold: string;
  kind: string;
  generation: number;
  recovered: boolean;
}

/**
 * The alerts a stored row stands for: generation g fired means generations 1..g fired and 1..g-1 recovered
 * (a threshold fires again only after it re-armed), and g recovered too when it is re-armed now. Steps and the
 * forecast re-arm silently (no `recovered` alert).
 */
export function alertsOfRow(tenant: string, r: FiredRow): AlertId[] {
  const base = `${tenant}:${r.customer}:${r.meter}:${r.periodStart}:${r.threshold}`;
  const threshold = r.threshold.slice(r.threshold.indexOf(':') + 1);
  const silent = r.kind === 'step' || r.kind === 'forecast';
  const out: AlertId[] = [];
  for (let g = 1; g <= r.generation; g++) {
    out.push({ eventId: g === 1 ? base : `${base}:${g}`, kind: r.kind as AlertKind, threshold, generation: g });
    if (!silent && (g < r.generation || r.recovered)) out.push({ eventId: `${base}:${g}:recovered`, kind: 'recovered', threshold, generation: g });
  }
  return out;
}

/** One message of alerts.usage-threshold.v1, reduced to what identifies the alert. */
export interface PublishedAlert {
  eventId: string;
  kind: string;
  threshold?: string;
  generation?: number;
}

/**
 * Per kind: the expected alerts against those stored and those published. Passed when all three sets of event
 * ids are equal and every copy of an event id on the topic says the same (kind, threshold, generation) as the
 * expected alert. `optional` are alerts that may or may not exist (intermediate steps): allowed in both the
 * store and the topic, but then in both.
 */
export function compareAlerts(
  expected: AlertId[],
  optional: AlertId[],
  stored: AlertId[],
  published: PublishedAlert[],
): Array<{ kind: AlertKind; passed: boolean; detail: string }> {
  const byId = new Map<string, AlertId>([...optional, ...expected].map((a) => [a.eventId, a]));
  const storedIds = new Set(stored.map((a) => a.eventId));
  const copies = new Map<string, PublishedAlert[]>();
  for (const p of published) copies.set(p.eventId, [...(copies.get(p.eventId) ?? []), p]);
  return ALERT_KINDS.map((kind) => {
    const must = new Set(expected.filter((a) => a.kind === kind).map((a) => a.eventId));
    const may = new Set(optional.filter((a) => a.kind === kind).map((a) => a.eventId));
    const storedOfKind = stored.filter((a) => a.kind === kind).map((a) => a.eventId);
    const publishedOfKind = [...copies].filter(([, ps]) => ps.some((p) => p.kind === kind)).map(([id]) => id);
    const problems: string[] = [];
    const notStored = [...must].filter((id) => !storedIds.has(id));
    const notPublished = [...must].filter((id) => !copies.has(id));
    const wronglyStored = storedOfKind.filter((id) => !must.has(id) && !may.has(id));
    const wronglyPublished = publishedOfKind.filter((id) => !must.has(id) && !may.has(id));
    // An optional alert (an intermediate step) counts when stored and published, and must be both or neither.
    const halfOptional = [...may].filter((id) => storedIds.has(id) !== copies.has(id));
    const inconsistent = publishedOfKind.filter((id) => {
      const want = byId.get(id);
      return !want || copies.get(id)!.some((p) => p.kind !== want.kind || (p.threshold !== undefined && canonical(p.threshold) !== canonical(want.threshold)) || (p.generation ?? 1) !== want.generation);
    });
    if (notStored.length) problems.push(`${notStored.length} not stored (${notStored.slice(0, 2).join(', ')})`);
    if (notPublished.length) problems.push(`${notPublished.length} not published (${notPublished.slice(0, 2).join(', ')})`);
    if (wronglyStored.length) problems.push(`${wronglyStored.length} stored wrongly (${wronglyStored.slice(0, 2).join(', ')})`);
    if (wronglyPublished.length) problems.push(`${wronglyPublished.length} published wrongly (${wronglyPublished.slice(0, 2).join(', ')})`);
    if (halfOptional.length) problems.push(`${halfOptional.length} stored xor published (${halfOptional.slice(0, 2).join(', ')})`);
    if (inconsistent.length) problems.push(`${inconsistent.length} event ids with differing copies (${inconsistent.slice(0, 2).join(', ')})`);
    const optionalSeen = [...may].filter((id) => storedIds.has(id) && copies.has(id)).length;
    const copiesOfKind = publishedOfKind.reduce((n, id) => n + copies.get(id)!.length, 0);
    const detail =
      `${must.size} expected${may.size ? ` (+${optionalSeen} of ${may.size} possible intermediate)` : ''}, ${storedOfKind.length} stored, ` +
      `${publishedOfKind.length} event ids published (${copiesOfKind - publishedOfKind.length} redelivered copies)`;
    return { kind, passed: problems.length === 0, detail: problems.length ? `${detail}; ${problems.join('; ')}` : detail };
  });
}
