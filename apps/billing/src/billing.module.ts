import { Module } from '@nestjs/common';
import { SubscriptionService } from './subscriptions/subscription.service';
import { UsageAggregatesController } from './usage/usage-aggregates.controller';

@Module({
  controllers: [UsageAggregatesController],
  providers: [SubscriptionService],
  exports: [SubscriptionService],
})
export class BillingModule {}
