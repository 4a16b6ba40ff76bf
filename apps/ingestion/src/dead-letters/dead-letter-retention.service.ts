import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { retentionCutoff } from './dead-letter-retention';
import { ingestionSettings } from '../ingestion-config';
import { DeadLetterRepository } from './dead-letter.repository';

/** Rows per DELETE: one statement's locks and WAL stay small; a pass loops until a batch comes back short. */
export const DEAD_LETTER_DELETE_BATCH = 10_000;

export interface RetentionPass {
  cutoff: string;
  deleted: number;
  batches: number;
}

/** Deletes dead letters older than DEAD_LETTER_RETENTION_DAYS from dead_letters, hourly (and at start). */
@Injectable()
export class DeadLetterRetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly log: DeadLetterRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.retentionDays = ingestionSettings(config).DEAD_LETTER_RETENTION_DAYS;
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
  async run(now = new Date(), batchSize = DEAD_LETTER_DELETE_BATCH): Promise<RetentionPass | null> {
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
      if (deleted > 0) this.logger.info('dead letters deleted by retention', { deleted, batches, cutoff: cutoff.toISOString(), retentionDays: this.retentionDays });
      return { cutoff: cutoff.toISOString(), deleted, batches };
    } catch (e) {
      this.logger.error('dead-letter retention failed; will retry in an hour', { error: e as Error });
      return null;
    }
  }
}
