import { Module } from '@nestjs/common';
import { UsageEventsController } from './usage/usage-events.controller';
import { UsageLedgerRepository } from './usage/usage-ledger.repository';

@Module({
  controllers: [UsageEventsController],
  providers: [UsageLedgerRepository],
})
export class AggregationModule {}
