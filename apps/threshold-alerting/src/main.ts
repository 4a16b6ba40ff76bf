// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';

import { runService } from '@tally/nest-platform';
import { thresholdAlertingService } from './threshold-alerting.service';

void runService(thresholdAlertingService);
