import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { HourlyJob, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { aggregationSettings } from '../aggregation-config';
import { UsageLedgerRepository } from './usage-ledger.repository';

/** Drops ledger days past the retention and creates the coming days' partitions, hourly (and at start). */
@Injectable()
export class LedgerRetentionService extends HourlyJob {
  private readonly retentionDays: number;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: UsageLedgerRepository,
    private readonly logger: JsonLogger,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    super();
    this.retentionDays = aggregationSettings(config).LEDGER_RETENTION_DAYS;
  }

  async run(): Promise<string[]> {
    try {
      await this.ledger.precreatePartitions(this.dataSource);
      const dropped = await this.dataSource.transaction((m) => this.ledger.dropExpired(m, this.retentionDays));
      if (dropped.length > 0) this.logger.info('ledger days dropped by retention', { dropped, retentionDays: this.retentionDays });
      return dropped;
    } catch (e) {
      this.logger.error('ledger retention failed; will retry in an hour', { error: e as Error });
      return [];
    }
  }
}
