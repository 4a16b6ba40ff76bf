import type { ServiceDefinition } from '@tally/nest-platform';
import { CreateHealthInputs1732400000500 } from './db/1732400000500-create-health-inputs';
import { HealthScoringModule } from './health-scoring.module';

export const healthScoringService: ServiceDefinition = {
  name: 'health-scoring',
  defaultPort: 3005,
  rootModule: HealthScoringModule,
  migrations: [CreateHealthInputs1732400000500],
};
