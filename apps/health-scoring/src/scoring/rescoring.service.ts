import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { customerKey, TOPICS, type ChurnRiskChanged, type CustomerHealth, type ExpansionSignal, type HealthBand } from '@tally/contracts';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { billingInput, type AccountStanding } from '../domain/billing-input';
import { scoreHealth, type HealthScore } from '../domain/health-scorer';
import { churnRiskSignal, enteredExcellent, repeatedOverage, SHARP_DROP_POINTS, SHARP_DROP_WINDOW_DAYS, upgradeRecommendedSignal, type AlertWithRecommendation } from '../domain/health-signals';
import { DEFAULT_WEIGHTS, type HealthWeights } from '../domain/health-weights';
import { npsInput } from '../domain/nps-input';
import { activationInput, thresholdInput } from '../domain/optional-inputs';
import { supportInput, type TicketPriority, type TicketStatus } from '../domain/support-input';
import { usageInput, usageWindows, type MeterKind } from '../domain/usage-input';
import { healthSettings } from '../health-config';
import type { Customer } from '../inputs/health-facts.repository';

const DAY_MS = 86_400_000;
const ADDITIVE = new Set(['SUM', 'COUNT']);

export interface Emitted {
  topic: string;
  key: string;
  value: { tenant: string } & Record<string, unknown>;
}

export type Emit = (event: Emitted) => void;

/** W3C trace headers (`traceparent`, `tracestate`) of the message that changed a customer's inputs. */
export type TraceOf = (customer: Customer) => Record<string, string> | undefined;

const TRACE_HEADERS = ['traceparent', 'tracestate'];

interface HealthRow {
  account_status: AccountStanding | null;
  score: string | null;
  band: HealthBand | null;
  components: HealthScore['inputs'] | null;
  contributions: HealthScore['contributions'] | null;
  scored_at: Date | null;
  last_drop_signal_at: Date | null;
}

/**
 * Recomputes a customer's score from its stored facts at a given time, and keeps what follows from it in
 * the caller's transaction: the customer's row, the history, and the events (`customers.health.v1` when
 * the score moves, `customers.churn-risk.v1` and `customers.expansion.v1` on their transitions). The
 * customer's row is locked first, so two transactions (a consumer and the job) never decide the same
 * transition twice.
 */
@Injectable()
export class RescoringService {
  private readonly debounceMs: number;

  constructor(@Inject(SERVICE_CONFIG) config: ServiceConfig) {
    this.debounceMs = healthSettings(config).HEALTH_RESCORE_DEBOUNCE_MS;
  }

  /**
   * After a consumer stored new facts: a scored customer not rescored within the debounce time is rescored
   * now, in this transaction (inside a savepoint: one that fails is left to the job, the facts stay); the
   * others are marked due when their debounce time has passed, for the job. A customer never scored waits
   * the debounce time too: its first facts usually come as a burst (a backfill, a new subscription with its
   * usage), and a first score from half of them could raise a false churn alarm.
   */
  async inputsChanged(m: EntityManager, customers: Customer[], emit: Emit, traceOf: TraceOf = () => undefined, now = new Date()): Promise<void> {
    if (customers.length === 0) return;
    const s = schemaOf(m.connection);
    await m.query(
      `INSERT INTO ${s}.customer_health (tenant, customer) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
    );
    const rows: Array<Customer & { scored_at: Date | null }> = await m.query(
      `SELECT tenant, customer, scored_at FROM ${s}.customer_health WHERE (tenant, customer) IN (SELECT * FROM unnest($1::text[], $2::text[]))
       ORDER BY tenant, customer FOR UPDATE`,
      [customers.map((c) => c.tenant), customers.map((c) => c.customer)],
    );
    for (const row of rows) {
      const dueAt = new Date((row.scored_at ?? now).getTime() + this.debounceMs);
      // The job's events then continue the trace of the latest message that changed the inputs.
      const headers = traceOf(row) ?? {};
      const trace = Object.fromEntries(TRACE_HEADERS.filter((h) => headers[h] !== undefined).map((h) => [h, headers[h]]));
      if (dueAt.getTime() > now.getTime()) {
        await m.query(
          `UPDATE ${s}.customer_health SET rescore_due_at = LEAST(COALESCE(rescore_due_at, $3), $3), rescore_trace = COALESCE($4::jsonb, rescore_trace) WHERE tenant = $1 AND customer = $2`,
          [row.tenant, row.customer, dueAt, Object.keys(trace).length > 0 ? JSON.stringify(trace) : null],
        );
        continue;
      }
      const queued: Emitted[] = [];
      await m.query('SAVEPOINT rescore');
      try {
        await this.rescoreLocked(m, row, (e) => queued.push(e), now);
        await m.query('RELEASE SAVEPOINT rescore');
        queued.forEach(emit);
      } catch {
        // The job retries it with failure isolation (rescore_failures); the facts of this batch are kept.
        await m.query('ROLLBACK TO SAVEPOINT rescore');
        await m.query(`UPDATE ${s}.customer_health SET rescore_due_at = $3, rescore_trace = COALESCE($4::jsonb, rescore_trace) WHERE tenant = $1 AND customer = $2`, [
          row.tenant, row.customer, now, Object.keys(trace).length > 0 ? JSON.stringify(trace) : null,
        ]);
      }
    }
  }

  /** Locks and rescores one customer (the job's path); false when another transaction holds it. */
  async rescore(m: EntityManager, customer: Customer, emit: Emit, now: Date): Promise<boolean> {
    const s = schemaOf(m.connection);
    const locked = await m.query(`SELECT 1 FROM ${s}.customer_health WHERE tenant = $1 AND customer = $2 FOR UPDATE SKIP LOCKED`, [customer.tenant, customer.customer]);
    if (locked.length === 0) return false;
    await this.rescoreLocked(m, customer, emit, now);
    return true;
  }

  private async rescoreLocked(m: EntityManager, c: Customer, emit: Emit, now: Date): Promise<void> {
    const s = schemaOf(m.connection);
    const args = [c.tenant, c.customer];
    const [row]: HealthRow[] = await m.query(`SELECT account_status, score, band, components, contributions, scored_at, last_drop_signal_at FROM ${s}.customer_health WHERE tenant = $1 AND customer = $2`, args);
    const weights = await this.weightsOf(m, c.tenant);
    const { priorFrom } = usageWindows(now);

    const days: Array<{ meter: string; day: string; value: string }> = await m.query(
      `SELECT meter, to_char(day, 'YYYY-MM-DD') AS day, value::text FROM ${s}.usage_days WHERE tenant = $1 AND customer = $2 AND day >= $3::date`,
      [...args, priorFrom],
    );
    const usedMeters: Array<{ meter: string }> = await m.query(`SELECT DISTINCT meter FROM ${s}.usage_days WHERE tenant = $1 AND customer = $2 AND value > 0`, args);
    const kinds: Array<{ meter: string; aggregation: string }> = await m.query(`SELECT meter, aggregation FROM ${s}.meter_kinds WHERE tenant = $1`, [c.tenant]);
    const kindOf = new Map(kinds.map((k) => [k.meter, (ADDITIVE.has(k.aggregation) ? 'additive' : 'gauge') as MeterKind]));
    const subs: Array<{ period_start: Date; period_end: Date; entitlements: Array<{ meter: string; included: string }> }> = await m.query(
      `SELECT period_start, period_end, entitlements FROM ${s}.subscriptions WHERE tenant = $1 AND customer = $2 AND status = 'active'`,
      args,
    );
    const allowances = subs.flatMap((sub) =>
      sub.entitlements.map((e) => ({ meter: e.meter, included: Number(e.included), periodDays: (sub.period_end.getTime() - sub.period_start.getTime()) / DAY_MS })),
    );
    const invoices: Array<{ due_at: Date | null; paid_at: Date | null; first_failed_at: Date | null }> = await m.query(
      `SELECT due_at, paid_at, first_failed_at FROM ${s}.invoices WHERE tenant = $1 AND customer = $2 AND (paid_at > $3 OR first_failed_at > $3)`,
      [...args, new Date(now.getTime() - 91 * DAY_MS)],
    );
    const tickets: Array<{ status: TicketStatus; priority: TicketPriority; opened_at: Date }> = await m.query(
      `SELECT status, priority, opened_at FROM ${s}.support_tickets WHERE tenant = $1 AND customer = $2 AND status IN ('open', 'pending')`,
      args,
    );
    const answers: Array<{ score: number; answered_at: Date }> = await m.query(
      `SELECT score, answered_at FROM ${s}.nps_responses WHERE tenant = $1 AND customer = $2 AND answered_at <= $3 ORDER BY answered_at DESC, response_id DESC LIMIT 2`,
      [...args, now],
    );
    const thresholds: Array<{ period_start: Date; period_end: Date; max_percent: string; overage: boolean }> = await m.query(
      `SELECT period_start, period_end, max_percent::text, overage FROM ${s}.threshold_periods WHERE tenant = $1 AND customer = $2 AND period_end > $3`,
      [...args, new Date(now.getTime() - 200 * DAY_MS)],
    );

    const next = scoreHealth(
      {
        usage: usageInput(days.map((d) => ({ ...d, value: Number(d.value) })), allowances, (meter) => kindOf.get(meter) ?? 'additive', now).value,
        billing: billingInput(row?.account_status ?? null, invoices.map((i) => ({ dueAt: i.due_at, paidAt: i.paid_at, firstFailedAt: i.first_failed_at })), now).value,
        support: supportInput(tickets.map((t) => ({ status: t.status, priority: t.priority, openedAt: t.opened_at })), now).value,
        nps: npsInput(answers.map((a) => ({ score: a.score, answeredAt: a.answered_at })), now).value,
        activation: activationInput(allowances.map((a) => a.meter), usedMeters.map((u) => u.meter)),
        thresholds: thresholdInput(thresholds.map((t) => ({ periodStart: t.period_start, periodEnd: t.period_end, maxPercent: Number(t.max_percent) })), now),
      },
      weights,
    );
    const previous: HealthScore | null =
      row?.score != null && row.band && row.components ? { score: Number(row.score), band: row.band, inputs: row.components, contributions: row.contributions ?? {} } : null;
    const key = customerKey(c.tenant, c.customer);
    const scoreMoved = previous === null || previous.score !== next.score || previous.band !== next.band;

    let lastDropSignalAt = row?.last_drop_signal_at ?? null;
    if (scoreMoved) {
      const [{ highest }]: Array<{ highest: string | null }> = await m.query(
        `SELECT max(score)::text AS highest FROM (
           SELECT score FROM ${s}.score_history WHERE tenant = $1 AND customer = $2 AND scored_at > $3
           UNION ALL (SELECT score FROM ${s}.score_history WHERE tenant = $1 AND customer = $2 AND scored_at <= $3 ORDER BY scored_at DESC, id DESC LIMIT 1)) recent`,
        [...args, new Date(now.getTime() - SHARP_DROP_WINDOW_DAYS * DAY_MS)],
      );
      const highestRecentScore = highest === null ? null : Number(highest);
      const risk = churnRiskSignal({ previous, next, weights, highestRecentScore, lastDropSignalAt, now });
      const [{ id }]: Array<{ id: string }> = await m.query(
        `INSERT INTO ${s}.score_history (tenant, customer, scored_at, score, band, inputs, contributions, trigger) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [...args, now, next.score, next.band, JSON.stringify(next.inputs), JSON.stringify(next.contributions), risk?.trigger ?? null],
      );
      const occurredAt = now.toISOString();
      const health: CustomerHealth = {
        eventId: `${key}:health:${id}`, occurredAt, tenant: c.tenant, customer: c.customer,
        score: next.score, band: next.band, inputs: next.inputs, contributions: next.contributions, weights,
      };
      emit({ topic: TOPICS.customersHealth, key, value: health });
      if (risk) {
        if (highestRecentScore !== null && highestRecentScore - next.score >= SHARP_DROP_POINTS) lastDropSignalAt = now;
        const event: ChurnRiskChanged = {
          eventId: `${key}:churn-risk:${id}`, occurredAt, tenant: c.tenant, customer: c.customer,
          previousBand: previous?.band ?? null, band: next.band, score: next.score, previousScore: previous?.score ?? null,
          reasons: risk.reasons, trigger: risk.trigger, recommendedAction: risk.recommendedAction,
        };
        emit({ topic: TOPICS.customersChurnRisk, key, value: event });
      }
      if (enteredExcellent(previous, next)) {
        await this.expansion(m, c, emit, now, next, 'excellent_band', id, [`health score ${next.score} (excellent): power user`, `product usage ${next.inputs.usage ?? 'not weighted'}`]);
      }
    }
    const overagePeriod = repeatedOverage(thresholds.filter((t) => t.overage).map((t) => t.period_start), now);
    if (overagePeriod) {
      const periods = [...new Set(thresholds.filter((t) => t.overage).map((t) => t.period_start.toISOString()))].sort();
      await this.expansion(m, c, emit, now, next, 'repeated_overage', overagePeriod.toISOString(), [`over the included usage in ${periods.length} billing periods: ${periods.join(', ')}`]);
    }
    await m.query(
      `UPDATE ${s}.customer_health SET score = $3, band = $4, components = $5, contributions = $6, scored_at = $7, rescore_due_at = NULL, rescore_trace = NULL, last_drop_signal_at = $8, updated_at = now()
       WHERE tenant = $1 AND customer = $2`,
      [...args, next.score, next.band, JSON.stringify(next.inputs), JSON.stringify(next.contributions), now, lastDropSignalAt],
    );
  }

  /**
   * Alerts recommending a higher plan raise `upgrade_recommended` once per (customer, period, plan), in the
   * caller's transaction (the insert that wins decides, as for the other signals). It carries the customer's
   * current score and band when it has one; a customer not scored yet gets the signal without them.
   */
  async upgradeRecommended(m: EntityManager, alerts: Array<AlertWithRecommendation & Customer>, emit: Emit, now = new Date()): Promise<void> {
    const s = schemaOf(m.connection);
    for (const alert of alerts) {
      const signal = upgradeRecommendedSignal(alert);
      if (!signal) continue;
      const inserted: unknown[] = await m.query(
        `INSERT INTO ${s}.expansion_signals (tenant, customer, signal, signal_key, emitted_at) VALUES ($1, $2, 'upgrade_recommended', $3, $4) ON CONFLICT DO NOTHING RETURNING 1`,
        [alert.tenant, alert.customer, signal.signalKey, now],
      );
      if (inserted.length === 0) continue;
      const [row]: Array<{ score: string | null; band: HealthBand | null }> = await m.query(
        `SELECT score, band FROM ${s}.customer_health WHERE tenant = $1 AND customer = $2`,
        [alert.tenant, alert.customer],
      );
      const key = customerKey(alert.tenant, alert.customer);
      const event: ExpansionSignal = {
        eventId: `${key}:expansion:upgrade_recommended:${signal.signalKey}`, occurredAt: now.toISOString(), tenant: alert.tenant, customer: alert.customer,
        signal: 'upgrade_recommended', ...(row?.score != null && row.band ? { score: Number(row.score), band: row.band } : {}),
        reasons: signal.reasons, periodStart: signal.periodStart, recommendedPlan: signal.recommendedPlan, saving: signal.saving, currency: signal.currency,
      };
      emit({ topic: TOPICS.customersExpansion, key, value: event });
    }
  }

  /** An expansion signal goes out once per (signal, identity): the insert that wins decides. */
  private async expansion(m: EntityManager, c: Customer, emit: Emit, now: Date, score: HealthScore, signal: ExpansionSignal['signal'], signalKey: string, reasons: string[]): Promise<void> {
    const inserted: unknown[] = await m.query(
      `INSERT INTO ${schemaOf(m.connection)}.expansion_signals (tenant, customer, signal, signal_key, emitted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1`,
      [c.tenant, c.customer, signal, signalKey, now],
    );
    if (inserted.length === 0) return;
    const key = customerKey(c.tenant, c.customer);
    const event: ExpansionSignal = {
      eventId: `${key}:expansion:${signal}:${signalKey}`, occurredAt: now.toISOString(), tenant: c.tenant, customer: c.customer,
      signal, score: score.score, band: score.band, reasons, ...(signal === 'repeated_overage' ? { periodStart: signalKey } : {}),
    };
    emit({ topic: TOPICS.customersExpansion, key, value: event });
  }

  async weightsOf(m: EntityManager, tenant: string): Promise<HealthWeights> {
    const [row]: Array<{ weights: HealthWeights }> = await m.query(`SELECT weights FROM ${schemaOf(m.connection)}.tenant_weights WHERE tenant = $1`, [tenant]);
    return row?.weights ?? DEFAULT_WEIGHTS;
  }
}
