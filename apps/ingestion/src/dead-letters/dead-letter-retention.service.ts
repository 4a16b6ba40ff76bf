import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HourlyJob, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { RETENTION_DELETE_BATCH, runBatchedRetention, type RetentionPass } from '@tally/postgres';
import { JsonLogger } from '@tally/telemetry';
import { ingestionSettings } from '../ingestion-config';
import { DeadLetterRepository } from './dead-letter.repository';

/** Deletes dead letters older than DEAD_LETTER_RETENTION_DAYS from dead_letters, hourly (and at start). */
@Injectable()
export class DeadLetterRetentionService extends HourlyJob {
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: DeadLetterRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    super();
    this.retentionDays = ingestionSettings(config).DEAD_LETTER_RETENTION_DAYS;
  }

  /** One pass; a failure is logged and the next hour retries (nothing is lost by deleting later). */
  async run(now = new Date(), batchSize = RETENTION_DELETE_BATCH): Promise<RetentionPass | null> {
    try {
      const pass = await runBatchedRetention(now, this.retentionDays, (cutoff, limit) => this.log.deleteOlderThan(this.dataSource, cutoff, limit), batchSize);
      if (pass.deleted > 0) this.logger.info('dead letters deleted by retention', { ...pass, retentionDays: this.retentionDays });
      return pass;
    } catch (e) {
      this.logger.error('dead-letter retention failed; will retry in an hour', { error: e as Error });
      return null;
    }
  }
}
