import type { ServiceDefinition } from '@tally/nest-platform';
import { CreateMeters1732400000100 } from './db/1732400000100-create-meters';
import { CreateTenantsAndApiKeys1732400000110 } from './db/1732400000110-create-tenants-and-api-keys';
import { MetersAllowNegative1732400000120 } from './db/1732400000120-meters-allow-negative';
import { ingestionConfigSchema } from './ingestion-config';
import { IngestionModule } from './ingestion.module';
import { CreateDeadLetters1732400000130 } from './db/1732400000130-create-dead-letters';

export const ingestionService: ServiceDefinition = {
  name: 'ingestion',
  defaultPort: 3001,
  rootModule: IngestionModule,
  migrations: [CreateMeters1732400000100, CreateTenantsAndApiKeys1732400000110, MetersAllowNegative1732400000120, CreateDeadLetters1732400000130],
  configSchema: ingestionConfigSchema,
  // The events endpoint reads its own body: content types, per-event and per-batch size limits.
  rawBodyPaths: ['/api/v1/events'],
};
