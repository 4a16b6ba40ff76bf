// Tracing starts before anything else is loaded.
import { startTelemetry } from '@tally/telemetry';
startTelemetry({ serviceName: 'aggregation' });

import { runService } from '@tally/nest-platform';
import { aggregationService } from './aggregation.service';

void runService(aggregationService);
