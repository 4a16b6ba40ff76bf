import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { retentionCutoff } from '../domain/retention-cutoff';
import { alertLogSettings } from './alert-log.config';
import { AlertLogRepository } from './alert-log.repository';

/** Rows per DELETE: one statement's locks and WAL stay small; a pass loops until a batch comes back short. */
export const ALERT_LOG_DELETE_BATCH = 10_000;

export interface RetentionPass {
  cutoff: string;
  deleted: number;
  batches: number;
}

/** Deletes alerts older than ALERT_LOG_RETENTION_DAYS from the alert log, hourly (and at start). */
@Injectable()
export class AlertLogRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: AlertLogRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.retentionDays = alertLogSettings(config).ALERT_LOG_RETENTION_DAYS;
  }

  onApplicationBootstrap(): void {
    void this.run();
    this.timer = setInterval(() => void this.run(), 3_600_000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** One pass; a failure is logged and the next hour retries (nothing is lost by deleting later). */
  async run(now = new Date(), batchSize = ALERT_LOG_DELETE_BATCH): Promise<RetentionPass | null> {
    try {
      const cutoff = retentionCutoff(now, this.retentionDays);
      let deleted = 0;
      let batches = 0;
      for (;;) {
        const n = await this.log.deleteOlderThan(this.dataSource, cutoff, batchSize);
        deleted += n;
        batches += 1;
        if (n < batchSize) break;
      }
      if (deleted > 0) this.logger.info('alert log rows deleted by retention', { deleted, batches, cutoff: cutoff.toISOString(), retentionDays: this.retentionDays });
      return { cutoff: cutoff.toISOString(), deleted, batches };
    } catch (e) {
      this.logger.error('alert log retention failed; will retry in an hour', { error: e as Error });
      return null;
    }
  }
}
