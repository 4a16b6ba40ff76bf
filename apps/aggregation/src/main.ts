// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';

import { runService } from '@tally/nest-platform';
import { aggregationService } from './aggregation.service';

void runService(aggregationService);
