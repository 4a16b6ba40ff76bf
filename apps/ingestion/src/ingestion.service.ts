import type { ServiceDefinition } from '@tally/nest-platform';
import { CreateMeters1732400000100 } from './db/1732400000100-create-meters';
import { IngestionModule } from './ingestion.module';

export const ingestionService: ServiceDefinition = {
  name: 'ingestion',
  defaultPort: 3001,
  rootModule: IngestionModule,
  migrations: [CreateMeters1732400000100],
};
