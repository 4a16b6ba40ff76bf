import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { AnalyticsController } from './analytics/analytics.controller';
import { AnalyticsService } from './analytics/analytics.service';
import { FeedbackIngestionController } from './api/feedback-ingestion.controller';
import { HealthApiController } from './api/health-api.controller';
import { HealthSignalsFeedController } from './api/health-signals-feed.controller';
import { HealthFactsRepository } from './inputs/health-facts.repository';
import { HealthInputsController } from './inputs/health-inputs.controller';
import { RescoringJob } from './scoring/rescoring.job';
import { RescoringService } from './scoring/rescoring.service';

@Module({
  imports: [TenantAuthModule],
  controllers: [HealthInputsController, HealthApiController, HealthSignalsFeedController, FeedbackIngestionController, AnalyticsController],
  providers: [HealthFactsRepository, RescoringService, RescoringJob, AnalyticsService],
  exports: [RescoringService, RescoringJob],
})
export class HealthScoringModule {}
