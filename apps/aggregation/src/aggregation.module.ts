import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { EventConflictsRepository } from './query/event-conflicts.repository';
import { EventsExportRepository } from './query/events-export.repository';
import { UsageQueryController } from './query/usage-query.controller';
import { UsageQueryRepository } from './query/usage-query.repository';
import { LedgerRetentionService } from './usage/ledger-retention.service';
import { UsageEventsController } from './usage/usage-events.controller';
import { PeriodRebucketingRepository } from './usage/period-rebucketing.repository';
import { UsageLedgerRepository } from './usage/usage-ledger.repository';

@Module({
  imports: [TenantAuthModule],
  controllers: [UsageEventsController, UsageQueryController],
  providers: [UsageLedgerRepository, PeriodRebucketingRepository, LedgerRetentionService, UsageQueryRepository, EventsExportRepository, EventConflictsRepository],
})
export class AggregationModule {}
