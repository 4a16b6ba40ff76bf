import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { MeterReading, UsageEvent } from '@tally/contracts';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { JsonLogger } from '@tally/telemetry';
import { aggregationSettings } from '../aggregation-config';
import { rebucketSpan, retainedSpan } from '../domain/period-rebucketing';
import { computeWindowDeltas } from '../domain/window-deltas';
import type { BillingPeriod } from '../domain/windows';
import { storedWindowKey, UsageLedgerRepository, type StoredWindow } from './usage-ledger.repository';

const RETURNING = `tenant, customer, meter, window_kind, window_start, window_end, aggregation, sum_value::text, event_count::text,
  min_value::text, max_value::text, latest_value::text, distinct_count::text, last_event_time, version::text, held_unit_days::text`;

/**
 * Usage is billed in the period of its event time, whatever the order in which events and periods arrive.
 * An event counted before the period containing it was known (a subscription created or backdated after its
 * first events, the next period published after events past the boundary) sits in its UTC calendar-month
 * PERIOD window, which no billing period reads. When a customer's periods change, the PERIOD windows of the
 * affected span (see rebucketSpan) are rebuilt from the ledger: emptied (version + 1, so consumers take the
 * emptied state over what they hold) and filled again from the events the ledger holds for that span, each
 * in the window its time now belongs to. Windows that lost every event are published with value 0.
 * Only what the ledger still holds is rebuilt: windows before its retention cut-off keep their values.
 */
@Injectable()
export class PeriodRebucketingRepository {
  private readonly retentionDays: number;

  constructor(
    private readonly ledger: UsageLedgerRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.retentionDays = aggregationSettings(config).LEDGER_RETENTION_DAYS;
  }

  /**
   * From when the ledger surely holds every event: the retention job drops whole UTC days before
   * (today − retention); one day more, so a drop after midnight during this transaction cannot take events
   * the rebuild counts on.
   */
  retainedFrom(now = new Date()): Date {
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) - (this.retentionDays - 1) * 86_400_000);
  }

  async rebucket(manager: EntityManager, changed: Array<{ tenant: string; customer: string; start: Date; end: Date }>): Promise<StoredWindow[]> {
    const byCustomer = new Map<string, { tenant: string; customer: string; periods: BillingPeriod[] }>();
    for (const c of changed) {
      const key = `${c.tenant}\u0000${c.customer}`;
      const entry = byCustomer.get(key) ?? { tenant: c.tenant, customer: c.customer, periods: [] };
      entry.periods.push({ start: c.start, end: c.end });
      byCustomer.set(key, entry);
    }
    const touched = new Map<string, StoredWindow>();
    for (const { tenant, customer, periods: changedPeriods } of byCustomer.values()) {
      for (const w of await this.rebucketCustomer(manager, tenant, customer, changedPeriods)) touched.set(storedWindowKey(w), w);
    }
    return [...touched.values()];
  }

  private async rebucketCustomer(manager: EntityManager, tenant: string, customer: string, changed: BillingPeriod[]): Promise<StoredWindow[]> {
    const s = schemaOf(manager.connection);
    const known = (await this.ledger.periodsOf(manager, [{ tenant, customer }])).get(`${tenant}\u0000${customer}`) ?? [];
    // Windows holding events: an emptied one (left by an earlier rebuild) has none to give up.
    const existing: Array<{ start: Date; end: Date }> = await manager.query(
      `SELECT DISTINCT window_start AS start, window_end AS "end" FROM ${s}.window_aggregates
       WHERE tenant = $1 AND customer = $2 AND window_kind = 'PERIOD' AND event_count > 0`,
      [tenant, customer],
    );
    const wanted = rebucketSpan(changed, existing, known);
    if (!wanted) return [];
    const retainedFrom = this.retainedFrom();
    const span = retainedSpan(wanted, retainedFrom, existing, known);
    if (span !== wanted) {
      this.logger.warn('period change reaches before the ledger retention: windows before the cut-off keep their values', {
        tenant, customer, wantedFrom: wanted.start.toISOString(), rebuiltFrom: span?.start.toISOString() ?? null, retainedFrom: retainedFrom.toISOString(),
      });
    }
    if (!span) return [];
    const [zeroed]: [StoredWindow[], number] = await manager.query(
      `UPDATE ${s}.window_aggregates SET sum_value = 0, event_count = 0, min_value = NULL, max_value = NULL, latest_value = NULL,
         latest_time = NULL, distinct_count = 0, last_event_time = window_start, held_unit_days = NULL, version = version + 1
       WHERE tenant = $1 AND customer = $2 AND window_kind = 'PERIOD' AND window_start >= $3 AND window_start < $4
       RETURNING ${RETURNING}`,
      [tenant, customer, span.start.toISOString(), span.end.toISOString()],
    );
    await manager.query(
      `DELETE FROM ${s}.window_distinct_values
       WHERE tenant = $1 AND customer = $2 AND window_kind = 'PERIOD' AND window_start >= $3 AND window_start < $4`,
      [tenant, customer, span.start.toISOString(), span.end.toISOString()],
    );
    const rows: Array<{ event_id: string; time: Date; readings: MeterReading[] }> = await manager.query(
      `SELECT event_id, time, readings FROM ${s}.event_ledger WHERE tenant = $1 AND subject = $2 AND time >= $3 AND time < $4`,
      [tenant, customer, span.start.toISOString(), span.end.toISOString()],
    );
    // Only what the window assignment reads: tenant, subject, time, readings (and the id for tracing).
    const events = rows.map((r) => ({ eventId: r.event_id, tenant, subject: customer, time: r.time.toISOString(), readings: r.readings }) as UsageEvent);
    const deltas = [...computeWindowDeltas(events, () => known).values()].filter((d) => d.window.kind === 'PERIOD');
    const distinctAdded = await this.ledger.addDistinctValues(manager, deltas);
    const applied = await this.ledger.applyDeltas(manager, deltas, distinctAdded);
    const recomputed = await this.ledger.recomputeTimeWeighted(manager, applied);
    // Later states win: emptied, then filled, then gauges recomputed.
    return [...new Map([...zeroed, ...applied, ...recomputed].map((w) => [storedWindowKey(w), w])).values()];
  }
}
