import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Decimal } from 'decimal.js';
import { projectRunRate } from '../domain/run-rate';
import { customerMeterId, ThresholdStateRepository, type CustomerMeterState } from './threshold-state.repository';

export interface EntitlementCheck {
  customer: string;
  meter: string;
  /** False only when a hard limit is reached: the product should refuse further use. */
  hasAccess: boolean;
  /** Same as hasAccess (the field's first name, kept for existing callers). */
  allowed: boolean;
  usage: string;
  /** Null for a meter without included units: usage, no limit. */
  included: string | null;
  remaining: string | null;
  hardLimit: boolean;
  periodStart: string | null;
  periodEnd: string | null;
  /** Period-end usage at the run-rate so far (usage ÷ elapsed share of the period); null in the period's first day. */
  projected: string | null;
}

/** What the check needs of a customer-meter, computed once per change rather than per request. */
interface Entry {
  revision: number;
  /** Null: known to have neither entitlement nor usage any more (kept so an older snapshot cannot bring it back). */
  view: Omit<EntitlementCheck, 'customer' | 'meter' | 'projected'> | null;
  usage: Decimal;
  startMs: number;
  endMs: number;
  /** The view's members as JSON (`"hasAccess":…,"periodEnd":"…"`), serialized once per change for checkJson. */
  viewJson: string;
}

/**
 * The entitlement check's answers, in memory: what alerting's own transactions have committed, so the check
 * and the alerts never disagree. Built from Postgres at start, then each batch's transaction hands over the
 * state of the customer-meters it changed, applied after it commits (BatchContext.onCommitted), with a
 * revision taken under the customer-meter locks: a later transaction's state always has a higher revision, so
 * updates applied out of order (two partitions' batches finishing together) or a start-up snapshot older
 * than a batch never overwrite newer state.
 */
@Injectable()
export class EntitlementProjection implements OnModuleInit {
  private readonly entries = new Map<string, Entry>();
  private loaded?: Promise<void>;
  private loadedDone = false;

  constructor(
    private readonly dataSource: DataSource,
    private readonly state: ThresholdStateRepository,
  ) {}

  onModuleInit(): Promise<void> {
    return this.ready();
  }

  /** Resolves once the start-up snapshot is in (at most one load, however often it is asked). */
  ready(): Promise<void> {
    this.loaded ??= this.state.loadAll(this.dataSource.manager).then((states) => {
      // Revision 0: anything a batch applied meanwhile is newer than this snapshot (or as new).
      for (const s of states) if (!this.entries.has(customerMeterId(s))) this.entries.set(customerMeterId(s), toEntry(s, 0));
      this.loadedDone = true;
    });
    return this.loaded;
  }

  /** Applies committed states; call only after their transaction committed. */
  apply(revision: number, states: CustomerMeterState[]): void {
    for (const s of states) {
      const id = customerMeterId(s);
      const held = this.entries.get(id);
      if (held && held.revision >= revision) continue;
      this.entries.set(id, toEntry(s, revision));
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Null when the customer has neither an entitlement nor usage for the meter. */
  check(tenant: string, customer: string, meter: string, now = Date.now()): EntitlementCheck | null {
    const entry = this.entries.get(`${tenant}\u0000${customer}\u0000${meter}`);
    if (!entry?.view) return null;
    return { customer, meter, ...entry.view, projected: projectRunRate(entry.usage, entry.startMs, entry.endMs, now) };
  }

  /**
   * The same answer as `check`, as its JSON text (byte for byte what JSON.stringify of `check` gives, plus
   * `extra` members at the end), built from the entry's pre-serialized view: the hot path serializes only
   * the names and the projection. Null where `check` is null.
   */
  checkJson(tenant: string, customer: string, meter: string, now = Date.now(), extra = ''): string | null {
    const entry = this.entries.get(`${tenant}\u0000${customer}\u0000${meter}`);
    if (!entry?.view) return null;
    const projected = projectRunRate(entry.usage, entry.startMs, entry.endMs, now);
    return `{"customer":${JSON.stringify(customer)},"meter":${JSON.stringify(meter)},${entry.viewJson},"projected":${projected === null ? 'null' : JSON.stringify(projected)}${extra}}`;
  }

  /** Whether the start-up snapshot is in (then `ready()` needs no waiting). */
  get isLoaded(): boolean {
    return this.loadedDone;
  }
}

function toEntry(s: CustomerMeterState, revision: number): Entry {
  const e = s.entitlement;
  const period = e ?? s.usage;
  if (!period) return { revision, view: null, usage: new Decimal(0), startMs: 0, endMs: 0, viewJson: '' };
  const usage = new Decimal(s.usage?.value ?? '0');
  const included = e ? new Decimal(e.included) : null;
  const hasAccess = !(e?.hardLimit && included !== null && usage.gte(included));
  const view: Entry['view'] = {
    hasAccess,
    allowed: hasAccess,
    usage: usage.toFixed(),
    included: included?.toFixed() ?? null,
    remaining: included ? Decimal.max(0, included.minus(usage)).toFixed() : null,
    hardLimit: e?.hardLimit ?? false,
    periodStart: period.periodStart.toISOString(),
    periodEnd: period.periodEnd.toISOString(),
  };
  // The object's members without its braces: spliced between the names and the projection by checkJson.
  const viewJson = JSON.stringify(view).slice(1, -1);
  return { revision, usage, startMs: period.periodStart.getTime(), endMs: period.periodEnd.getTime(), view, viewJson };
}
