// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';

import { runService } from '@tally/nest-platform';
import { billingService } from './billing.service';

void runService(billingService);
