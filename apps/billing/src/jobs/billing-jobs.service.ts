import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { billingSettings } from '../billing-config';
import { InvoiceService } from '../invoices/invoice.service';
import { SubscriptionService } from '../subscriptions/subscription.service';

/**
 * The clock of billing: starts new periods, drafts and finalizes invoices after the grace period, and
 * moves account standing with time. Safe to run on every instance at once (row locks, unique keys).
 */
@Injectable()
export class BillingJobsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly intervalMs: number;

  constructor(
    private readonly subscriptions: SubscriptionService,
    private readonly invoices: InvoiceService,
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

  /** One pass; overlapping ticks are skipped rather than queued. */
  async tick(now = new Date()): Promise<void> {
    if (this.running) return;
    this.running = (async () => {
      try {
        const rolled = await this.subscriptions.rollPeriods(now);
        const closed = await this.invoices.closePeriods(now);
        const standing = await this.invoices.runDunning(now);
        if (rolled + closed.drafted + closed.finalized + standing > 0) this.logger.info('billing jobs ran', { rolled, ...closed, accountsChanged: standing });
      } catch (e) {
        this.logger.error('billing jobs failed; retrying next interval', { error: e as Error });
      } finally {
        this.running = undefined;
      }
    })();
    await this.running;
  }
}
