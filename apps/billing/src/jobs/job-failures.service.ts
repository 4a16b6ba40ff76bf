import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { OutboxPublisher, SERVICE_CONFIG, type OutgoingEvent, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { JsonLogger } from '@tally/telemetry';
import { billingSettings, jobRetryPolicy } from '../billing-config';
import { describeJobError, retryDelayMs, type JobRetryPolicy } from '../domain/job-retry';
import { jobItemFailures, jobItemsFailing } from './job-metrics';

/**
 * The jobs on billing's clock. Each processes its items one by one, each in its own transaction.
 * `progressive-billing` items are customers whose threshold evaluation failed in the usage consumer's batch:
 * recorded there, retried by the job.
 */
export const BILLING_JOBS = ['roll-period', 'close-period', 'correct-usage', 'dunning', 'payment-retry', 'progressive-billing'] as const;
export type BillingJob = (typeof BILLING_JOBS)[number];

/** One item of a job: its tenant, a key unique within tenant and job, and what it is (shown by the API). */
export interface JobItem {
  tenant: string;
  key: string;
  item: Record<string, string>;
}

export interface JobFailureView {
  job: BillingJob;
  item: Record<string, string>;
  error: string;
  attempts: number;
  firstFailedAt: string;
  lastFailedAt: string;
  nextAttemptAt: string;
}

interface JobFailureRow {
  job: BillingJob;
  item: Record<string, string>;
  error: string;
  attempts: number;
  first_failed_at: Date;
  last_failed_at: Date;
  next_attempt_at: Date;
}

export type ItemOutcome<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Failure isolation for billing's jobs: an item that throws is rolled back, recorded in
 * `job_failures` with its error and tried again after a bounded exponential backoff, and the job goes
 * on with the next item. The transaction that finally processes the item also deletes its record.
 */
@Injectable()
export class JobFailuresService {
  private readonly policy: JobRetryPolicy;

  constructor(
    private readonly outbox: OutboxPublisher,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.policy = jobRetryPolicy(billingSettings(config));
  }

  /** Items of the job still waiting out their backoff at `now`, as `tenant \0 key`. */
  async backingOff(job: BillingJob, now: Date): Promise<Set<string>> {
    const rows: Array<{ tenant: string; item_key: string }> = await this.outbox.inTransaction((m) =>
      m.query(`SELECT tenant, item_key FROM ${schemaOf(m.connection)}.job_failures WHERE job = $1 AND next_attempt_at > $2`, [job, now]),
    );
    return new Set(rows.map((r) => failureId(r.tenant, r.item_key)));
  }

  /**
   * Runs one item in its own transaction. Success clears the item's failure record in that transaction;
   * an error rolls it back and is recorded (never rethrown), so the caller moves on to the next item.
   */
  async run<T>(job: BillingJob, item: JobItem, now: Date, work: (m: EntityManager, emit: (event: OutgoingEvent) => void) => Promise<T>): Promise<ItemOutcome<T>> {
    try {
      const value = await this.outbox.inTransaction(async (m, emit) => {
        const out = await work(m, emit);
        await m.query(`DELETE FROM ${schemaOf(m.connection)}.job_failures WHERE tenant = $1 AND job = $2 AND item_key = $3`, [item.tenant, job, item.key]);
        return out;
      });
      return { ok: true, value };
    } catch (e) {
      return { ok: false, error: await this.outbox.inTransaction((m) => this.recordFailure(m, job, item, e, now)) };
    }
  }

  /**
   * Records an item's failure in the caller's transaction (its error, attempts + 1, the next attempt after the
   * backoff), counts and logs it; the error as recorded. For work that isolates an item inside a larger
   * transaction (the usage consumer's batch), so the record commits with it.
   */
  async recordFailure(m: EntityManager, job: BillingJob, item: JobItem, e: unknown, now: Date): Promise<string> {
    const error = describeJobError(e);
    const attempts = await this.record(m, job, item, error, now);
    jobItemFailures.inc({ job });
    this.logger.error('billing job item failed; isolated and retried later', { job, tenant: item.tenant, item: item.item, attempts, error: e as Error });
    return error;
  }

  /** Items of the job whose next attempt has come at `now`, oldest failure first. */
  async due(job: BillingJob, now: Date): Promise<JobItem[]> {
    const rows: Array<{ tenant: string; item_key: string; item: Record<string, string> }> = await this.outbox.inTransaction((m) =>
      m.query(`SELECT tenant, item_key, item FROM ${schemaOf(m.connection)}.job_failures WHERE job = $1 AND next_attempt_at <= $2 ORDER BY first_failed_at, tenant, item_key`, [job, now]),
    );
    return rows.map((r) => ({ tenant: r.tenant, key: r.item_key, item: r.item }));
  }

  /** Clears the records of items processed in the caller's transaction (a no-op for items without one). */
  async clear(m: EntityManager, job: BillingJob, items: ReadonlyArray<Pick<JobItem, 'tenant' | 'key'>>): Promise<void> {
    if (items.length === 0) return;
    await m.query(`DELETE FROM ${schemaOf(m.connection)}.job_failures WHERE job = $1 AND (tenant, item_key) IN (SELECT * FROM unnest($2::text[], $3::text[]))`, [
      job, items.map((i) => i.tenant), items.map((i) => i.key),
    ]);
  }

  private async record(m: EntityManager, job: BillingJob, item: JobItem, error: string, now: Date): Promise<number> {
    const s = schemaOf(m.connection);
    const [row] = await m.query(
      `INSERT INTO ${s}.job_failures AS f (tenant, job, item_key, item, error, attempts, first_failed_at, last_failed_at, next_attempt_at)
       VALUES ($1, $2, $3, $4, $5, 1, $6, $6, $6)
       ON CONFLICT (tenant, job, item_key) DO UPDATE SET error = excluded.error, attempts = f.attempts + 1, last_failed_at = excluded.last_failed_at
       RETURNING attempts`,
      [item.tenant, job, item.key, JSON.stringify(item.item), error, now],
    );
    const attempts: number = row.attempts;
    await m.query(`UPDATE ${s}.job_failures SET next_attempt_at = $4 WHERE tenant = $1 AND job = $2 AND item_key = $3`, [
      item.tenant, job, item.key, new Date(now.getTime() + retryDelayMs(attempts, this.policy)),
    ]);
    return attempts;
  }

  /** Sets the items-failing gauge from the table (all tenants): what is failing now, whichever instance tried it. */
  async refreshGauge(): Promise<void> {
    const rows: Array<{ job: string; n: string }> = await this.outbox.inTransaction((m) =>
      m.query(`SELECT job, count(*) AS n FROM ${schemaOf(m.connection)}.job_failures GROUP BY job`),
    );
    for (const job of BILLING_JOBS) jobItemsFailing.set({ job }, Number(rows.find((r) => r.job === job)?.n ?? 0));
  }

  /** The tenant's failing items, oldest failure first. */
  async list(tenant: string, job?: BillingJob): Promise<JobFailureView[]> {
    const rows: JobFailureRow[] = await this.outbox.inTransaction((m) =>
      m.query(
        `SELECT job, item, error, attempts, first_failed_at, last_failed_at, next_attempt_at FROM ${schemaOf(m.connection)}.job_failures
         WHERE tenant = $1 AND ($2::text IS NULL OR job = $2) ORDER BY first_failed_at, job, item_key`,
        [tenant, job ?? null],
      ),
    );
    return rows.map((r) => ({
      job: r.job,
      item: r.item,
      error: r.error,
      attempts: r.attempts,
      firstFailedAt: r.first_failed_at.toISOString(),
      lastFailedAt: r.last_failed_at.toISOString(),
      nextAttemptAt: r.next_attempt_at.toISOString(),
    }));
  }
}

export const failureId = (tenant: string, key: string): string => `${tenant}\u0000${key}`;
