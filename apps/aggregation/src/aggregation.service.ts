import { CreateApiKeyProjection1732400000060, type ServiceDefinition } from '@tally/nest-platform';
import { CreateLedgerAndAggregates1732400000200 } from './db/1732400000200-create-ledger-and-aggregates';
import { CustomerPeriodsPerSubscription1732400000210 } from './db/1732400000210-customer-periods-per-subscription';
import { EventPayloadHashAndConflicts1732400000220 } from './db/1732400000220-event-payload-hash-and-conflicts';
import { ProratedHeldUnitDays1732400000350 } from './db/1732400000350-prorated-held-unit-days';
import { EventIdsHashedKey1732400000400 } from './db/1732400000400-event-ids-hashed-key';
import { AggregationModule } from './aggregation.module';
import { aggregationConfigSchema } from './aggregation-config';

export const aggregationService: ServiceDefinition = {
  name: 'aggregation',
  defaultPort: 3002,
  rootModule: AggregationModule,
  migrations: [CreateApiKeyProjection1732400000060, CreateLedgerAndAggregates1732400000200, CustomerPeriodsPerSubscription1732400000210, EventPayloadHashAndConflicts1732400000220, ProratedHeldUnitDays1732400000350, EventIdsHashedKey1732400000400],
  configSchema: aggregationConfigSchema,
};
