import { CreateApiKeyProjection1732400000060, type ServiceDefinition } from '@tally/nest-platform';
import { FEEDBACK_PATHS } from './api/feedback-ingestion.controller';
import { CreateHealthInputs1732400000500 } from './db/1732400000500-create-health-inputs';
import { CreateHealthSignals1732400000510 } from './db/1732400000510-create-health-signals';
import { CreateSubscriptionChanges1732400000520 } from './db/1732400000520-create-subscription-changes';
import { AddRescoreTrace1732400000530 } from './db/1732400000530-add-rescore-trace';
import { IndexRescoringDue1732400000535 } from './db/1732400000535-index-rescoring-due';
import { IndexSignalFeeds1732400000540 } from './db/1732400000540-index-signal-feeds';
import { healthConfigSchema } from './health-config';
import { HealthScoringModule } from './health-scoring.module';

export const healthScoringService: ServiceDefinition = {
  name: 'health-scoring',
  defaultPort: 3005,
  rootModule: HealthScoringModule,
  migrations: [CreateApiKeyProjection1732400000060, CreateHealthInputs1732400000500, CreateHealthSignals1732400000510, CreateSubscriptionChanges1732400000520,
    AddRescoreTrace1732400000530, IndexRescoringDue1732400000535, IndexSignalFeeds1732400000540],
  configSchema: healthConfigSchema,
  rawBodyPaths: FEEDBACK_PATHS,
};
