import { catalogSigningConfigSchema, CreateApiKeyProjection1732400000060, type ServiceDefinition } from '@tally/nest-platform';
import { CreatePeriodUsage1732400000050 } from '@tally/period-usage';
import { CreateEntitlements1732400000300 } from './db/1732400000300-create-entitlements';
import { EntitlementsPerSubscription1732400000310 } from './db/1732400000310-entitlements-per-subscription';
import { DecimalThresholdsAndAlertKinds1732400000320 } from './db/1732400000320-decimal-thresholds-and-alert-kinds';
import { ForecastAndPlans1732400000325 } from './db/1732400000325-forecast-and-plans';
import { CreateWebhooks1732400000350 } from './db/1732400000350-create-webhooks';
import { CreateAlertLog1732400000360 } from './db/1732400000360-create-alert-log';
import { AlertLogRetentionIndex1732400000370 } from './db/1732400000370-alert-log-retention-index';
import { alertLogConfigSchema } from './alerts/alert-log.config';
import { ThresholdAlertingModule } from './threshold-alerting.module';
import { webhooksConfigSchema } from './webhooks/webhooks.config';

export const thresholdAlertingService: ServiceDefinition = {
  name: 'threshold-alerting',
  defaultPort: 3003,
  rootModule: ThresholdAlertingModule,
  migrations: [
    CreateApiKeyProjection1732400000060, CreatePeriodUsage1732400000050, CreateEntitlements1732400000300, EntitlementsPerSubscription1732400000310,
    DecimalThresholdsAndAlertKinds1732400000320, ForecastAndPlans1732400000325, CreateWebhooks1732400000350, CreateAlertLog1732400000360,
    AlertLogRetentionIndex1732400000370,
  ],
  // Its tenant API authenticates against the signed API-key catalog; webhooks and the alert log have their own settings.
  configSchema: catalogSigningConfigSchema.merge(webhooksConfigSchema).merge(alertLogConfigSchema),
};
