// Tracing starts before anything else is loaded.
import { startTelemetry } from '@tally/telemetry';
startTelemetry({ serviceName: 'billing' });

import { runService } from '@tally/nest-platform';
import { billingService } from './billing.service';

void runService(billingService);
