import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { customerMeterKey, TOPICS, type SubscriptionChanged, type UsageAggregate, type UsageEvent } from '@tally/contracts';
import type { ConsumedBatch, ConsumedMessage } from '@tally/nest-platform';
import { computeWindowDeltas, plainDecimal, windowDeltaKey, windowValue } from '../domain/window-deltas';
import { PeriodRebucketingRepository } from './period-rebucketing.repository';
import { storedWindowKey, UsageLedgerRepository, type StoredWindow } from './usage-ledger.repository';

/**
 * Counts each accepted usage event exactly once: ledger dedupe, in-memory pre-aggregation, one upsert,
 * and one `usage.aggregates.v1` message per touched window, all in the batch's transaction.
 */
@Controller()
export class UsageEventsController {
  constructor(
    private readonly ledger: UsageLedgerRepository,
    private readonly periods: PeriodRebucketingRepository,
  ) {}

  /**
   * Billing periods decide the PERIOD window of events (a calendar month until one is known). A new or
   * moved period re-buckets the usage already counted in its span, so every unit lands in the period of its
   * event time whatever arrived first.
   */
  @EventPattern(TOPICS.billingSubscriptions)
  async onSubscriptions(@Payload() batch: ConsumedBatch<SubscriptionChanged>): Promise<void> {
    await this.ledger.lockCustomers(batch.manager, batch.messages.map((m) => ({ tenant: m.value.tenant, customer: m.value.customer })));
    const changed = await this.ledger.recordPeriods(
      batch.manager,
      batch.messages.map((m) => ({
        tenant: m.value.tenant,
        customer: m.value.customer,
        subscriptionId: m.value.subscriptionId,
        start: m.value.periodStart,
        end: m.value.periodEnd,
        timeZone: m.value.timeZone,
        proratedMeters: m.value.proratedMeters,
      })),
    );
    const rebuilt = await this.periods.rebucket(batch.manager, changed);
    const causeOf = new Map(batch.messages.map((m) => [`${m.value.tenant}\u0000${m.value.customer}`, m]));
    for (const w of rebuilt) {
      batch.emit({ topic: TOPICS.usageAggregates, key: customerMeterKey(w.tenant, w.customer, w.meter), value: toAggregate(w), causedBy: causeOf.get(`${w.tenant}\u0000${w.customer}`) });
    }
  }

  @EventPattern(TOPICS.usageEvents)
  async onUsageEvents(@Payload() batch: ConsumedBatch<UsageEvent>): Promise<void> {
    const messageByEventId = new Map<string, ConsumedMessage<UsageEvent>>();
    for (const m of batch.messages) if (!messageByEventId.has(m.value.eventId)) messageByEventId.set(m.value.eventId, m);
    // Every copy goes in, repeats too: the first of an id is counted, the others are compared with it.
    const fresh = await this.ledger.recordNew(batch.manager, batch.messages.map((m) => m.value));
    await this.ledger.lockCustomers(batch.manager, fresh.map((e) => ({ tenant: e.tenant, customer: e.subject })));
    const periods = await this.ledger.periodsOf(batch.manager, fresh.map((e) => ({ tenant: e.tenant, customer: e.subject })));
    const deltas = [...computeWindowDeltas(fresh, (tenant, customer) => periods.get(`${tenant}\u0000${customer}`) ?? []).values()];
    const distinctAdded = await this.ledger.addDistinctValues(batch.manager, deltas);
    const applied = await this.ledger.applyDeltas(batch.manager, deltas, distinctAdded);
    const recomputed = await this.ledger.recomputeTimeWeighted(batch.manager, applied);
    const stored = [...new Map([...applied, ...recomputed].map((w) => [storedWindowKey(w), w])).values()];
    const lastEventOf = new Map(deltas.map((d) => [windowDeltaKey(d), d.lastEventId]));
    for (const w of stored) {
      const key = storedWindowKey(w);
      const aggregate = toAggregate(w);
      batch.emit({
        topic: TOPICS.usageAggregates,
        key: customerMeterKey(w.tenant, w.customer, w.meter),
        value: aggregate,
        causedBy: messageByEventId.get(lastEventOf.get(key) ?? ''),
      });
    }
  }
}

/** A stored window as published on `usage.aggregates.v1`; its version makes the newest state win downstream. */
function toAggregate(w: StoredWindow): UsageAggregate {
  return {
    eventId: `${w.tenant}:${w.customer}:${w.meter}:${w.window_kind}:${w.window_start.toISOString()}:v${w.version}`,
    occurredAt: new Date().toISOString(),
    tenant: w.tenant,
    customer: w.customer,
    meter: w.meter,
    windowKind: w.window_kind,
    windowStart: w.window_start.toISOString(),
    windowEnd: w.window_end.toISOString(),
    value: windowValue(w.aggregation, {
      sum: w.sum_value,
      count: Number(w.event_count),
      min: w.min_value,
      max: w.max_value,
      latest: w.latest_value,
      distinct: Number(w.distinct_count),
    }),
    eventCount: Number(w.event_count),
    lastEventTime: w.last_event_time.toISOString(),
    version: Number(w.version),
    ...(w.window_kind === 'PERIOD' && w.held_unit_days !== null ? { heldUnitDays: plainDecimal(w.held_unit_days) } : {}),
  };
}
