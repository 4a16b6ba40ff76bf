// Tracing starts before anything else is loaded.
import { startTelemetry } from '@tally/telemetry';
startTelemetry({ serviceName: 'threshold-alerting' });

import { runService } from '@tally/nest-platform';
import { thresholdAlertingService } from './threshold-alerting.service';

void runService(thresholdAlertingService);
