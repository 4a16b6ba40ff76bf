import { Module } from '@nestjs/common';
import { ThresholdAlertingController } from './entitlements/threshold-alerting.controller';
import { ThresholdStateRepository } from './entitlements/threshold-state.repository';

@Module({
  controllers: [ThresholdAlertingController],
  providers: [ThresholdStateRepository],
})
export class ThresholdAlertingModule {}
