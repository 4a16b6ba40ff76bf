import { Module } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { EntitlementCheckController } from './entitlements/entitlement-check.controller';
import { ThresholdAlertingController } from './entitlements/threshold-alerting.controller';
import { ThresholdStateRepository } from './entitlements/threshold-state.repository';
import { EntitlementProjection } from './entitlements/entitlement-projection';

@Module({
  imports: [TenantAuthModule],
  controllers: [ThresholdAlertingController, EntitlementCheckController],
  providers: [ThresholdStateRepository, EntitlementProjection],
})
export class ThresholdAlertingModule {}
