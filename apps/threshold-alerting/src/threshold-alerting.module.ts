import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { TenantAuthModule } from '@tally/nest-platform';
import { AlertsModule } from './alerts/alerts.module';
import { EntitlementCheckController } from './entitlements/entitlement-check.controller';
import { ENTITLEMENT_CHECK_ROUTES, EntitlementCheckFastPath } from './entitlements/entitlement-check.fast-path';
import { ThresholdAlertingController } from './entitlements/threshold-alerting.controller';
import { ThresholdStateRepository } from './entitlements/threshold-state.repository';
import { EntitlementProjection } from './entitlements/entitlement-projection';
import { ForecastRepository } from './forecast/forecast.repository';
import { PlansController } from './forecast/plans.controller';
import { OpenMeterEntitlementsController } from './openmeter/openmeter-entitlements.controller';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({
  imports: [TenantAuthModule, WebhooksModule, AlertsModule],
  controllers: [ThresholdAlertingController, EntitlementCheckController, PlansController, OpenMeterEntitlementsController],
  providers: [ThresholdStateRepository, EntitlementProjection, ForecastRepository],
})
export class ThresholdAlertingModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // The entitlement check's hot path, before the router (see EntitlementCheckFastPath).
    consumer.apply(EntitlementCheckFastPath).forRoutes(...ENTITLEMENT_CHECK_ROUTES);
  }
}
