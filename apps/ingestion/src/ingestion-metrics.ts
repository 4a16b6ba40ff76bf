import { Counter, register } from 'prom-client';

/** Where an event came in: `POST /api/v1/events` or the `usage.events.raw.v1` topic. */
export type IngestTransport = 'http' | 'kafka';

/**
 * Why events were refused. A fixed set, so the label stays bounded whatever the input says (the detail
 * goes to the caller or the DLQ, never into a label).
 */
export type RejectReason =
  | 'malformed' // the body or event does not parse as CloudEvents JSON (400, a whole request)
  | 'too_large' // body, batch or event over the INGEST_* size limits (413)
  | 'unsupported_media_type' // 415
  | 'rate_limited' // the tenant's token bucket is empty (429)
  | 'invalid' // parsed, but a field fails validation (unknown meter, too late, in the future, bad value)
  | 'no_tenant' // raw topic: no tenant header or attribute, or a conflicting one
  | 'unknown_tenant'; // raw topic: the tenant does not exist in ingestion

export const eventsAccepted =
  (register.getSingleMetric('tally_ingest_events_accepted_total') as Counter<'transport'> | undefined) ??
  new Counter({ name: 'tally_ingest_events_accepted_total', help: 'Usage events accepted and produced to usage.events.v1, by transport (http, kafka; a raw batch handled again after a failure counts again)', labelNames: ['transport'] as const });

export const eventsRejected =
  (register.getSingleMetric('tally_ingest_events_rejected_total') as Counter<'transport' | 'reason'> | undefined) ??
  new Counter({
    name: 'tally_ingest_events_rejected_total',
    help: 'Usage events refused, by transport and reason (a request whose body cannot be parsed counts as one)',
    labelNames: ['transport', 'reason'] as const,
  });

/** The reason for an HTTP status the body parser answered with. */
export function parseRejectReason(status: 400 | 413 | 415): RejectReason {
  return status === 413 ? 'too_large' : status === 415 ? 'unsupported_media_type' : 'malformed';
}
