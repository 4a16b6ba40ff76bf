import type { NextFunction, Request, Response } from 'express';
import { Histogram, register } from 'prom-client';

/**
 * Every service's HTTP API, by route template (`/api/v1/meters/:idOrSlug`, never the raw path, so the
 * label's values are bounded by the code's routes), method and status. The histogram's `_count` is the
 * request count. Paths no route matched share one value, `unmatched`, so a scanner trying random URLs
 * cannot grow the series.
 */
export const httpRequestDuration =
  (register.getSingleMetric('tally_http_server_request_duration_seconds') as Histogram<'route' | 'method' | 'status'> | undefined) ??
  new Histogram({
    name: 'tally_http_server_request_duration_seconds',
    help: 'HTTP requests served by this service, from arrival to the end of the response, by route template, method and status (aborted: the client went away first)',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });

export const UNMATCHED_ROUTE = 'unmatched';

/** The methods a route can be registered for; anything else is one bucket (Node accepts a few dozen). */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The labels of one finished request. Pure: the matched route (if any) and the response state are inputs. */
export function httpRequestLabels(input: {
  method: string;
  baseUrl?: string;
  routePath?: unknown;
  statusCode: number;
  finished: boolean;
}): { route: string; method: string; status: string } {
  const method = KNOWN_METHODS.has(input.method.toUpperCase()) ? input.method.toUpperCase() : 'OTHER';
  // Express keeps the path the route was registered with; a RegExp or array route has no single template.
  const route = typeof input.routePath === 'string' ? `${input.baseUrl ?? ''}${input.routePath}` || '/' : UNMATCHED_ROUTE;
  const status = input.finished ? String(input.statusCode) : 'aborted';
  return { route, method, status };
}

/** Express middleware: times each request and records it once, when the connection is done with it. */
export function httpMetricsMiddleware(req: Request, res: Response, next: NextFunction): void {
  const end = httpRequestDuration.startTimer();
  let recorded = false;
  const record = (): void => {
    if (recorded) return;
    recorded = true;
    end(
      httpRequestLabels({
        method: req.method,
        baseUrl: req.baseUrl,
        routePath: (req.route as { path?: unknown } | undefined)?.path,
        statusCode: res.statusCode,
        finished: res.writableFinished,
      }),
    );
  };
  res.once('finish', record);
  res.once('close', record);
  next();
}
