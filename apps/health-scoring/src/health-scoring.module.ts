import { Module } from '@nestjs/common';
import { HealthScoringController } from './scoring/health-scoring.controller';
import { HealthInputsRepository } from './scoring/health-inputs.repository';

@Module({
  controllers: [HealthScoringController],
  providers: [HealthInputsRepository],
})
export class HealthScoringModule {}
