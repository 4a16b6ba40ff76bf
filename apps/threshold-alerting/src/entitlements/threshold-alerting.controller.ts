import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerKey, subscriptionKey, TOPICS, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';
import type { BatchContext, ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { chargeCost } from '../domain/charge-cost';
import { projectRunRate } from '../domain/run-rate';
import { evaluateThresholds, type Threshold } from '../domain/threshold-evaluator';
import { recommendUpgrade, type UpgradeRecommendation } from '../domain/upgrade-recommendation';
import { decideForecast, FORECAST_THRESHOLD_ID, forecastUsage } from '../domain/usage-forecast';
import { ForecastRepository, newestDayAggregates } from '../forecast/forecast.repository';
import { EntitlementProjection } from './entitlement-projection';
import { customerMeterId, firedKey, ThresholdStateRepository, type CustomerMeter, type CustomerMeterState } from './threshold-state.repository';

@Controller()
export class ThresholdAlertingController {
  constructor(
    private readonly state: ThresholdStateRepository,
    private readonly projection: EntitlementProjection,
    private readonly forecasts: ForecastRepository,
  ) {}

  @EventPattern(TOPICS.billingSubscriptions)
  async onSubscriptions(@Payload() batch: ConsumedBatch<SubscriptionChanged>): Promise<void> {
    // Compacted topic, keyed by subscription: the last message per subscription in the batch is the current one.
    const latest = new Map<string, ConsumedMessage<SubscriptionChanged>>();
    for (const m of batch.messages) latest.set(subscriptionKey(m.value.tenant, m.value.customer, m.value.subscriptionId), m);
    const subscriptions = [...latest.values()].map((m) => m.value);
    // The meters entitled before (a meter the subscription drops changes too: the check must forget its limit) and now.
    const before = await this.state.entitledBy(batch.manager, subscriptions);
    const now = subscriptions.flatMap((s) => (s.status === 'canceled' ? [] : s.entitlements.map((e) => ({ tenant: s.tenant, customer: s.customer, meter: e.meter }))));
    await this.state.lockCustomerMeters(batch.manager, [...before, ...now]);
    await this.state.replaceEntitlements(batch.manager, subscriptions);
    const causeOf = new Map([...latest.values()].flatMap((m) => m.value.entitlements.map((e) => [customerMeterId({ ...m.value, meter: e.meter }), m] as const)));
    await this.evaluate(batch, [...before, ...now], causeOf);
  }

  @EventPattern(TOPICS.usageAggregates)
  async onAggregates(@Payload() batch: ConsumedBatch<UsageAggregate>): Promise<void> {
    const messages = newestPeriodAggregates(batch.messages);
    // DAY windows feed the forecast's daily trend; a day alone can move the forecast, so its meter is evaluated too.
    const days = newestDayAggregates(batch.messages);
    const changed = [...messages, ...days];
    await this.state.lockCustomerMeters(batch.manager, changed.map((m) => m.value));
    // The newest version is the truth, also when it is lower than the one before (a window re-bucketed, a MAX meter falling).
    await applyPeriodUsage(batch.manager, messages.map((m) => m.value));
    await this.forecasts.applyDayUsage(batch.manager, days.map((m) => m.value));
    const causes = new Map(changed.map((m) => [customerMeterId(m.value), m]));
    const keys: CustomerMeter[] = [...causes.values()].map((m) => ({ tenant: m.value.tenant, customer: m.value.customer, meter: m.value.meter }));
    await this.evaluate(batch, keys, causes);
  }

  /**
   * Fires and re-arms the thresholds of the locked customer-meters, in this transaction (state and outbox
   * together), and hands their state to the in-memory entitlement projection once it commits.
   */
  private async evaluate(batch: BatchContext, keys: CustomerMeter[], causes: Map<string, ConsumedMessage | undefined>): Promise<void> {
    if (keys.length === 0) return;
    const revision = await this.state.nextRevision(batch.manager);
    const states = await this.state.loadState(batch.manager, keys);
    batch.onCommitted(() => this.projection.apply(revision, states));

    const nowMs = Date.now();
    const toFire: Array<{ state: CustomerMeterState; threshold: AlertThreshold }> = [];
    const toRecover: Array<{ state: CustomerMeterState; threshold: AlertThreshold; silent: boolean }> = [];
    const costs = new Map<string, ReturnType<typeof chargeCost>>();
    for (const state of states) {
      const e = state.entitlement;
      if (!e || !state.usage) continue;
      const cost = chargeCost(e.charge, state.usage.value, e.included);
      costs.set(customerMeterId(state), cost);
      const { fire, recover } = evaluateThresholds(
        { usage: state.usage.value, spend: cost?.costSoFar ?? null },
        { included: e.included, thresholds: e.thresholds, hardLimit: e.hardLimit, ...e.alerts },
        state.fired,
      );
      for (const threshold of fire) toFire.push({ state, threshold });
      for (const r of recover) toRecover.push({ state, threshold: r, silent: r.silent });
    }

    // Forecast: once per period while armed; re-armed silently when the projection falls back below 100 %.
    const forecastable = states.filter((st) => st.entitlement && st.usage);
    const days = await this.forecasts.recentDays(batch.manager, forecastable, nowMs);
    const projections = new Map<string, string>();
    for (const state of forecastable) {
      const e = state.entitlement!;
      const forecast = forecastUsage({
        usage: state.usage!.value, periodStartMs: e.periodStart.getTime(), periodEndMs: e.periodEnd.getTime(), nowMs, days: days.get(customerMeterId(state)) ?? [],
      });
      if (forecast) projections.set(customerMeterId(state), forecast.projected);
      const decision = decideForecast(forecast?.projected ?? null, state.usage!.value, e.included, state.fired.get(FORECAST_THRESHOLD_ID)?.active === true);
      if (decision === 'fire') toFire.push({ state, threshold: FORECAST_THRESHOLD });
      if (decision === 'rearm') toRecover.push({ state, threshold: FORECAST_THRESHOLD, silent: true });
    }
    const recovered = await this.state.markRecovered(batch.manager, toRecover);
    const fired = await this.state.markFired(batch.manager, toFire);
    const recommendations = await this.recommend(batch, toFire.filter((f) => RECOMMENDING.has(f.threshold.kind) && fired.has(firedKey(f.state, f.threshold.id))), projections, nowMs);

    const occurredAt = new Date(nowMs).toISOString();
    const alert = (state: CustomerMeterState, threshold: AlertThreshold, kind: UsageThresholdAlert['kind'], eventId: string, generation: number): UsageThresholdAlert => {
      const e = state.entitlement!;
      const cost = costs.get(customerMeterId(state));
      const projected = projectRunRate(state.usage!.value, e.periodStart.getTime(), e.periodEnd.getTime(), nowMs);
      const projectedUsage = projections.get(customerMeterId(state));
      const recommendation = RECOMMENDING.has(kind) ? recommendations.get(customerMeterId(state)) : undefined;
      return {
        eventId,
        occurredAt,
        tenant: state.tenant,
        customer: state.customer,
        meter: state.meter,
        periodStart: e.periodStart.toISOString(),
        periodEnd: e.periodEnd.toISOString(),
        kind,
        // Not on a forecast: consumers key the percent alerts (what usage reached) by it.
        ...(threshold.unit === 'percent' && threshold.kind !== 'forecast' ? { thresholdPercent: Number(threshold.value) } : {}),
        threshold: threshold.value,
        thresholdUnit: threshold.unit,
        ...(kind === 'recovered' && threshold.kind !== 'forecast' ? { recoveredKind: threshold.kind } : {}),
        generation,
        usage: state.usage!.value,
        included: e.included,
        ...(projected !== null ? { projected } : {}),
        ...(projectedUsage !== undefined ? { projectedUsage } : {}),
        ...(recommendation ? { recommendation } : {}),
        ...(cost ? { costSoFar: cost.costSoFar, ...(threshold.kind === 'overage' ? { overageCost: cost.overageCost } : {}) } : {}),
        ...(e.currency ? { currency: e.currency } : {}),
      };
    };
    // One event id per (customer, meter, period, threshold, generation): a consumer recognises a duplicate.
    const idOf = (state: CustomerMeterState, threshold: AlertThreshold) => `${state.tenant}:${state.customer}:${state.meter}:${state.entitlement!.periodStart.toISOString()}:${threshold.id}`;
    const send = (state: CustomerMeterState, value: UsageThresholdAlert) =>
      batch.emit({ topic: TOPICS.alertsUsageThreshold, key: customerKey(state.tenant, state.customer), value, causedBy: causes.get(customerMeterId(state)) });
    for (const { state, threshold, silent } of toRecover) {
      const generation = recovered.get(firedKey(state, threshold.id));
      if (generation === undefined || silent) continue;
      send(state, alert(state, threshold, 'recovered', `${idOf(state, threshold)}:${generation}:recovered`, generation));
    }
    for (const { state, threshold } of toFire) {
      const generation = fired.get(firedKey(state, threshold.id));
      if (generation === undefined) continue;
      send(state, alert(state, threshold, threshold.kind, generation === 1 ? idOf(state, threshold) : `${idOf(state, threshold)}:${generation}`, generation));
    }
  }

  /**
   * Upgrade recommendations for the customer-meters firing a forecast or overage alert, by customerMeterId:
   * every meter of the subscription priced at its projected period-end usage (this meter's forecast, the
   * others' run-rate; the usage itself where neither is known yet) on the current plan and on each higher one.
   */
  private async recommend(
    batch: BatchContext,
    firing: Array<{ state: CustomerMeterState }>,
    projections: Map<string, string>,
    nowMs: number,
  ): Promise<Map<string, UpgradeRecommendation>> {
    const out = new Map<string, UpgradeRecommendation>();
    if (firing.length === 0) return out;
    const inputs = await this.forecasts.recommendationInputs(batch.manager, firing.map((f) => f.state));
    for (const { state } of firing) {
      const input = inputs.get(customerMeterId(state));
      const e = state.entitlement!;
      if (!input) continue;
      const projected = new Map(
        input.meters.map(({ meter, usage }) => {
          const own = meter === state.meter ? projections.get(customerMeterId(state)) : undefined;
          return [meter, own ?? projectRunRate(usage, e.periodStart.getTime(), e.periodEnd.getTime(), nowMs) ?? usage] as const;
        }),
      );
      const recommendation = recommendUpgrade(input.current, input.plans, projected);
      if (recommendation) out.set(customerMeterId(state), recommendation);
    }
    return out;
  }
}

/** A threshold of the evaluator, or the forecast's (it lives in the same fired state, id `forecast:100`). */
type AlertThreshold = Threshold | (Omit<Threshold, 'kind'> & { kind: 'forecast' });
const FORECAST_THRESHOLD: AlertThreshold = { id: FORECAST_THRESHOLD_ID, kind: 'forecast', unit: 'percent', value: '100' };
/** The alerts that carry an upgrade recommendation. */
const RECOMMENDING: ReadonlySet<string> = new Set(['forecast', 'overage']);
