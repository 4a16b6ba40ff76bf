// Imported first by main.ts, on its own: swc and ESM evaluate every import of a module before its body, so
// tracing started in main.ts's body would come after pg, http and Express were loaded (and not patched).
import { startTelemetry } from '@tally/telemetry';

startTelemetry({ serviceName: 'billing' });
