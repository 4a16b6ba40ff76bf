import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HourlyJob, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { RETENTION_DELETE_BATCH, runBatchedRetention, type RetentionPass } from '@tally/postgres';
import { JsonLogger } from '@tally/telemetry';
import { alertLogSettings } from './alert-log.config';
import { AlertLogRepository } from './alert-log.repository';

/** Deletes alerts older than ALERT_LOG_RETENTION_DAYS from the alert log, hourly (and at start). */
@Injectable()
export class AlertLogRetentionService extends HourlyJob {
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: AlertLogRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    super();
    this.retentionDays = alertLogSettings(config).ALERT_LOG_RETENTION_DAYS;
  }

  /** One pass; a failure is logged and the next hour retries (nothing is lost by deleting later). */
  async run(now = new Date(), batchSize = RETENTION_DELETE_BATCH): Promise<RetentionPass | null> {
    try {
      const pass = await runBatchedRetention(now, this.retentionDays, (cutoff, limit) => this.log.deleteOlderThan(this.dataSource, cutoff, limit), batchSize);
      if (pass.deleted > 0) this.logger.info('alert log rows deleted by retention', { ...pass, retentionDays: this.retentionDays });
      return pass;
    } catch (e) {
      this.logger.error('alert log retention failed; will retry in an hour', { error: e as Error });
      return null;
    }
  }
}
