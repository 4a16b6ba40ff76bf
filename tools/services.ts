import type { ServiceDefinition } from '@tally/nest-platform';
import { ingestionService } from '../apps/ingestion/src/ingestion.service';
import { aggregationService } from '../apps/aggregation/src/aggregation.service';
import { thresholdAlertingService } from '../apps/threshold-alerting/src/threshold-alerting.service';
import { billingService } from '../apps/billing/src/billing.service';
import { healthScoringService } from '../apps/health-scoring/src/health-scoring.service';

/** The five services, in the order events flow through them. */
export const SERVICES: ServiceDefinition[] = [ingestionService, aggregationService, thresholdAlertingService, billingService, healthScoringService];
