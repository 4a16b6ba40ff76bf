import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { FeedbackIngestionController } from './api/feedback-ingestion.controller';
import { HealthApiController } from './api/health-api.controller';
import { HealthFactsRepository } from './inputs/health-facts.repository';
import { HealthInputsController } from './inputs/health-inputs.controller';
import { RescoringJob } from './scoring/rescoring.job';
import { RescoringService } from './scoring/rescoring.service';

@Module({
  imports: [TenantAuthModule],
  controllers: [HealthInputsController, HealthApiController, FeedbackIngestionController],
  providers: [HealthFactsRepository, RescoringService, RescoringJob],
  exports: [RescoringService, RescoringJob],
})
export class HealthScoringModule {}
