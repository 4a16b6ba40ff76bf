// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';

import { runService } from '@tally/nest-platform';
import { healthScoringService } from './health-scoring.service';

void runService(healthScoringService);
