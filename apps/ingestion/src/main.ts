// Tracing starts before anything else is loaded.
import { startTelemetry } from '@tally/telemetry';
startTelemetry({ serviceName: 'ingestion' });

import { runService } from '@tally/nest-platform';
import { ingestionService } from './ingestion.service';

void runService(ingestionService);
