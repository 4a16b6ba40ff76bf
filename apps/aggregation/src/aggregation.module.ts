import { Module } from '@nestjs/common';
import { UsageEventsController } from './usage/usage-events.controller';
import { UsageLedgerRepository } from './usage/usage-ledger.repository';
import { LedgerRetentionService } from './usage/ledger-retention.service';

@Module({
  controllers: [UsageEventsController],
  providers: [UsageLedgerRepository, LedgerRetentionService],
})
export class AggregationModule {}
