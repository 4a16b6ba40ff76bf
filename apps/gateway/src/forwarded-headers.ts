import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Request headers the front door passes on. An allow-list: hop-by-hop headers, proxy headers a client could spoof
 * (X-Forwarded-*, Forwarded) and anything the services do not read stay out.
 */
const REQUEST_HEADERS = new Set([
  'authorization',
  'accept',
  'accept-encoding',
  'content-type',
  'content-length',
  'content-encoding',
  'idempotency-key',
  'traceparent',
  'tracestate',
  'user-agent',
]);
/** CloudEvents binary mode carries the event's attributes as `ce-*` headers. */
const REQUEST_HEADER_PREFIXES = ['ce-'];

/** Response headers never passed back: hop-by-hop ones (RFC 9110 7.6.1) and ones that name the upstream's software. */
const RESPONSE_HEADERS_DROPPED = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'x-powered-by', 'server']);

export function upstreamRequestHeaders(incoming: IncomingHttpHeaders, clientAddress: string | undefined): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    if (REQUEST_HEADERS.has(name) || REQUEST_HEADER_PREFIXES.some((p) => name.startsWith(p))) headers[name] = value;
  }
  // Replaced, never appended: what a client claims about the hops before it is not trusted.
  if (clientAddress) headers['x-forwarded-for'] = clientAddress;
  return headers;
}

export function clientResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value !== undefined && !RESPONSE_HEADERS_DROPPED.has(name)) headers[name] = value;
  }
  return headers;
}
