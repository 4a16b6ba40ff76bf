import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { billingSettings } from '../billing-config';
import { InvoiceService } from '../invoices/invoice.service';
import { ProgressiveBillingService } from '../invoices/progressive-billing.service';
import { UsageCorrectionsService } from '../invoices/usage-corrections.service';
import { PaymentRetryService } from '../payments/payment-retry.service';
import { SubscriptionService } from '../subscriptions/subscription.service';
import type { BillingJob } from './job-failures.service';

/**
 * The clock of billing: starts new periods, drafts and finalizes invoices after the grace period,
 * moves account standing with time, and retries what failed (payments, progressive billing evaluations). Safe to run on every instance at once (row locks, unique keys).
 * One item (a subscription, a period, an account) at a time, each in its own transaction.
 */
@Injectable()
export class BillingJobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly intervalMs: number;

  constructor(
    private readonly subscriptions: SubscriptionService,
    private readonly invoices: InvoiceService,
    private readonly corrections: UsageCorrectionsService,
    private readonly paymentRetries: PaymentRetryService,
    private readonly progressive: ProgressiveBillingService,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.intervalMs = billingSettings(config).BILLING_JOB_INTERVAL_MS;
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /**
   * One pass; overlapping ticks are skipped rather than queued. Each job isolates its failing items
   * (job_failures); what reaches here is a job that could not run at all (Postgres down), and the
   * next job still gets its turn.
   */
  async tick(now = new Date()): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        const rolled = await this.attempt('roll-period', () => this.subscriptions.rollPeriods(now));
        const closed = await this.attempt('close-period', () => this.invoices.closePeriods(now));
        const corrected = await this.attempt('correct-usage', () => this.corrections.correctFinalizedPeriods(now));
        const standing = await this.attempt('dunning', () => this.invoices.runDunning(now));
        const retries = await this.attempt('payment-retry', () => this.paymentRetries.requestDueRetries(now));
        // Customers whose progressive billing evaluation failed in the usage consumer, once their backoff is over.
        const progressive = await this.attempt('progressive-billing', () => this.progressive.retryFailed(now));
        const ran = {
          rolled: rolled ?? 0, ...(closed ?? { drafted: 0, finalized: 0, failed: 0 }), creditNotes: corrected?.creditNotes ?? 0, adjustmentInvoices: corrected?.adjustmentInvoices ?? 0,
          accountsChanged: standing ?? 0, paymentRetriesRequested: retries ?? 0, progressiveInvoices: progressive?.issued ?? 0, progressiveFailures: progressive?.failed ?? 0,
        };
        if (Object.values(ran).some((n) => n > 0)) this.logger.info('billing jobs ran', ran);
      } finally {
        this.running = undefined;
      }
    })();
    await this.running;
  }

  private async attempt<T>(job: BillingJob, run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (e) {
      this.logger.error('billing job could not run; retrying next interval', { job, error: e as Error });
      return undefined;
    }
  }
}
