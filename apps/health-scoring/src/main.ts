// Tracing starts before anything else is loaded.
import { startTelemetry } from '@tally/telemetry';
startTelemetry({ serviceName: 'health-scoring' });

import { runService } from '@tally/nest-platform';
import { healthScoringService } from './health-scoring.service';

void runService(healthScoringService);
