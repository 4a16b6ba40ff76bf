import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { context } from '@opentelemetry/api';
import { OutboxPublisher, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { schemaOf } from '@tally/postgres';
import { contextFromHeaders, JsonLogger } from '@tally/telemetry';
import { healthSettings, type HealthSettings } from '../health-config';
import type { Customer } from '../inputs/health-facts.repository';
import { RescoringService } from './rescoring.service';

export interface RescorePass {
  rescored: number;
  failed: number;
}

/**
 * The clock of health: rescores customers whose debounce time has passed and, once a day (UTC), every
 * customer not yet scored today, so inputs that age (ticket age, the 30-day windows, late payments
 * leaving the 90 days, NPS fading) move the score without any new event. One customer per transaction:
 * one that fails is rolled back, recorded in `rescore_failures` (error, attempts) and retried after a
 * doubling backoff, and the pass goes on with the others. Safe on every instance at once (SKIP LOCKED).
 */
@Injectable()
export class RescoringJob implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<RescorePass>;
  private readonly settings: HealthSettings;

  constructor(
    private readonly rescoring: RescoringService,
    private readonly outbox: OutboxPublisher,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.settings = healthSettings(config);
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick().catch((e: unknown) => this.logger.error('rescoring pass could not run; retrying next interval', { error: e as Error })), this.settings.HEALTH_RESCORE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }

  /** One pass at `now`; a pass already running is joined, not doubled. */
  async tick(now = new Date()): Promise<RescorePass> {
    if (this.running) return this.running;
    this.running = this.pass(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(now: Date): Promise<RescorePass> {
    const result: RescorePass = { rescored: 0, failed: 0 };
    const tried = new Set<string>();
    for (;;) {
      const due = (await this.due(now)).filter((c) => !tried.has(`${c.tenant}\u0000${c.customer}`));
      if (due.length === 0) break;
      for (const c of due) {
        tried.add(`${c.tenant}\u0000${c.customer}`);
        try {
          // Events of a debounced rescoring continue the trace of the message that asked for it.
          await context.with(contextFromHeaders(c.trace ?? undefined), () =>
            this.outbox.inTransaction(async (m, emit) => {
              if (!(await this.rescoring.rescore(m, c, emit, now))) return;
              await m.query(`DELETE FROM ${schemaOf(m.connection)}.rescore_failures WHERE tenant = $1 AND customer = $2`, [c.tenant, c.customer]);
            }),
          );
          result.rescored++;
        } catch (e) {
          result.failed++;
          const attempts = await this.recordFailure(c, e, now);
          this.logger.error('rescoring a customer failed; isolated and retried later', { tenant: c.tenant, customer: c.customer, attempts, error: e as Error });
        }
      }
    }
    if (result.rescored + result.failed > 0) this.logger.info('rescoring pass', { ...result });
    return result;
  }

  /** Debounced or not scored since the start of `now`'s UTC day, and not backing off after a failure. */
  private async due(now: Date): Promise<Array<Customer & { trace: Record<string, string> | null }>> {
    const startOfDay = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
    return this.outbox.inTransaction((m) =>
      m.query(
        `SELECT h.tenant, h.customer, h.rescore_trace AS trace FROM ${schemaOf(m.connection)}.customer_health h
         LEFT JOIN ${schemaOf(m.connection)}.rescore_failures f ON f.tenant = h.tenant AND f.customer = h.customer
         WHERE (h.rescore_due_at <= $1 OR h.scored_at IS NULL OR h.scored_at < $2) AND (f.next_attempt_at IS NULL OR f.next_attempt_at <= $1)
         ORDER BY h.rescore_due_at NULLS LAST, h.tenant, h.customer LIMIT $3`,
        [now, startOfDay, this.settings.HEALTH_RESCORE_BATCH],
      ),
    );
  }

  private async recordFailure(c: Customer, error: unknown, now: Date): Promise<number> {
    const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').slice(0, 2000) || 'unknown error';
    return this.outbox.inTransaction(async (m) => {
      const s = schemaOf(m.connection);
      const [row]: Array<{ attempts: number }> = await m.query(
        `INSERT INTO ${s}.rescore_failures AS f (tenant, customer, error, attempts, first_failed_at, last_failed_at, next_attempt_at) VALUES ($1, $2, $3, 1, $4, $4, $4)
         ON CONFLICT (tenant, customer) DO UPDATE SET error = excluded.error, attempts = f.attempts + 1, last_failed_at = excluded.last_failed_at RETURNING attempts`,
        [c.tenant, c.customer, message, now],
      );
      const delay = Math.min(Math.max(this.settings.HEALTH_RESCORE_RETRY_MAX_MS, this.settings.HEALTH_RESCORE_RETRY_BASE_MS), this.settings.HEALTH_RESCORE_RETRY_BASE_MS * 2 ** Math.min(row.attempts - 1, 40));
      await m.query(`UPDATE ${s}.rescore_failures SET next_attempt_at = $3 WHERE tenant = $1 AND customer = $2`, [c.tenant, c.customer, new Date(now.getTime() + delay)]);
      return row.attempts;
    });
  }
}
