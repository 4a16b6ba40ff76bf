import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { AlertLogConsumer } from './alert-log.consumer';
import { AlertLogRetentionService } from './alert-log-retention.service';
import { AlertLogRepository } from './alert-log.repository';
import { AlertsController } from './alerts.controller';

/** The alerts API (README "Alerts API"): the alert log's consumer, its retention and its read side. */
@Module({
  imports: [TenantAuthModule],
  controllers: [AlertsController],
  providers: [AlertLogRepository, AlertLogConsumer, AlertLogRetentionService],
})
export class AlertsModule {}
