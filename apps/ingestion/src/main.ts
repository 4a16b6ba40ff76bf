// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';

import { runService } from '@tally/nest-platform';
import { ingestionService } from './ingestion.service';

void runService(ingestionService);
