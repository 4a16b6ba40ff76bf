import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerKey, subscriptionKey, TOPICS, type SubscriptionChanged, type UsageAggregate, type UsageThresholdAlert } from '@tally/contracts';
import { applyPeriodUsage, newestPeriodAggregates } from '@tally/period-usage';
import type { BatchContext, ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { chargeCost } from '../domain/charge-cost';
import { projectRunRate } from '../domain/run-rate';
import { evaluateThresholds, type Threshold } from '../domain/threshold-evaluator';
import { EntitlementProjection } from './entitlement-projection';
import { customerMeterId, firedKey, ThresholdStateRepository, type CustomerMeter, type CustomerMeterState } from './threshold-state.repository';

@Controller()
export class ThresholdAlertingController {
  constructor(
    private readonly state: ThresholdStateRepository,
    private readonly projection: EntitlementProjection,
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
    await this.state.lockCustomerMeters(batch.manager, messages.map((m) => m.value));
    // The newest version is the truth, also when it is lower than the one before (a window re-bucketed, a MAX meter falling).
    await applyPeriodUsage(batch.manager, messages.map((m) => m.value));
    const keys: CustomerMeter[] = messages.map((m) => ({ tenant: m.value.tenant, customer: m.value.customer, meter: m.value.meter }));
    await this.evaluate(batch, keys, new Map(messages.map((m) => [customerMeterId(m.value), m])));
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
    const toFire: Array<{ state: CustomerMeterState; threshold: Threshold }> = [];
    const toRecover: Array<{ state: CustomerMeterState; threshold: Threshold; silent: boolean }> = [];
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
    const recovered = await this.state.markRecovered(batch.manager, toRecover);
    const fired = await this.state.markFired(batch.manager, toFire);

    const occurredAt = new Date(nowMs).toISOString();
    const alert = (state: CustomerMeterState, threshold: Threshold, kind: UsageThresholdAlert['kind'], eventId: string, generation: number): UsageThresholdAlert => {
      const e = state.entitlement!;
      const cost = costs.get(customerMeterId(state));
      const projected = projectRunRate(state.usage!.value, e.periodStart.getTime(), e.periodEnd.getTime(), nowMs);
      return {
        eventId,
        occurredAt,
        tenant: state.tenant,
        customer: state.customer,
        meter: state.meter,
        periodStart: e.periodStart.toISOString(),
        periodEnd: e.periodEnd.toISOString(),
        kind,
        ...(threshold.unit === 'percent' ? { thresholdPercent: Number(threshold.value) } : {}),
        threshold: threshold.value,
        thresholdUnit: threshold.unit,
        ...(kind === 'recovered' ? { recoveredKind: threshold.kind } : {}),
        generation,
        usage: state.usage!.value,
        included: e.included,
        ...(projected !== null ? { projected } : {}),
        ...(cost ? { costSoFar: cost.costSoFar, ...(threshold.kind === 'overage' ? { overageCost: cost.overageCost } : {}) } : {}),
        ...(e.currency ? { currency: e.currency } : {}),
      };
    };
    // One event id per (customer, meter, period, threshold, generation): a consumer recognises a duplicate.
    const idOf = (state: CustomerMeterState, threshold: Threshold) => `${state.tenant}:${state.customer}:${state.meter}:${state.entitlement!.periodStart.toISOString()}:${threshold.id}`;
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
}
