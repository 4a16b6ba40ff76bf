import type { ServiceDefinition } from '@tally/nest-platform';
import { CreatePeriodUsage1732400000050 } from '@tally/period-usage';
import { CreateSubscriptions1732400000400 } from './db/1732400000400-create-subscriptions';
import { BillingModule } from './billing.module';

export const billingService: ServiceDefinition = {
  name: 'billing',
  defaultPort: 3004,
  rootModule: BillingModule,
  migrations: [CreatePeriodUsage1732400000050, CreateSubscriptions1732400000400],
};
