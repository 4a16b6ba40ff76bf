import { Injectable, RequestMethod, type NestMiddleware } from '@nestjs/common';
import type { RouteInfo } from '@nestjs/common/interfaces';
import type { NextFunction, Response } from 'express';
import { parseOrProblem, problem, ProjectedApiKeyGuard, type TenantRequest } from '@tally/nest-platform';
import { batchCheckSchema, notFoundDetail } from './entitlement-check.controller';
import { EntitlementProjection } from './entitlement-projection';

/** The two check routes, as registered for the fast path (the controller's paths, so metrics label them alike). */
export const ENTITLEMENT_CHECK_ROUTES: RouteInfo[] = [
  { path: 'api/v1/entitlements/:customer/:meter', method: RequestMethod.GET },
  { path: 'api/v1/entitlements/check', method: RequestMethod.POST },
];

/**
 * The entitlement check's hot path: the two routes EntitlementCheckController declares, answered here,
 * before Nest's router, so a check costs the guard's cached key lookup, one map lookup and the answer's JSON,
 * not the router's per-request execution context, guard/interceptor/pipe chain and param decorators.
 * Behaviour is the controller's: the same guard (ProjectedApiKeyGuard.authenticate: 401, 429), tenant
 * scoping, 404 and 400 problems (thrown to the global problem+json filter), the same body bytes and headers
 * (Content-Type application/json, ETag from Express's send), and the HTTP metrics by the same route
 * templates (Express sets req.route for a method-bound middleware). The controller stays as the routes'
 * declaration (OpenAPI) and answers if this middleware is not mounted.
 */
@Injectable()
export class EntitlementCheckFastPath implements NestMiddleware {
  constructor(
    private readonly guard: ProjectedApiKeyGuard,
    private readonly projection: EntitlementProjection,
  ) {}

  async use(req: TenantRequest, res: Response, next: NextFunction): Promise<void> {
    const tenant = await this.guard.authenticate(req);
    if (!this.projection.isLoaded) await this.projection.ready();
    // GET, and HEAD (Express serves HEAD with a GET route, as it did the controller's): the single check.
    if (req.method !== 'POST') {
      const { customer, meter } = req.params as { customer?: string; meter?: string };
      // Not a check route after all (a method-bound middleware only runs on its route): leave it to the router.
      if (customer === undefined || meter === undefined) return next();
      const json = this.projection.checkJson(tenant, customer, meter);
      if (json === null) throw problem(404, notFoundDetail(customer, meter));
      send(res, json);
      return;
    }
    const { checks } = parseOrProblem(batchCheckSchema, req.body);
    const now = Date.now();
    let out = '{"results":[';
    for (let i = 0; i < checks.length; i++) {
      const { customer, meter } = checks[i];
      if (i > 0) out += ',';
      out += this.projection.checkJson(tenant, customer, meter, now, ',"found":true') ?? `{"customer":${JSON.stringify(customer)},"meter":${JSON.stringify(meter)},"found":false}`;
    }
    send(res, `${out}]}`);
  }
}

/** As Nest's reply (`res.status(200).json(body)`) does, with the JSON already written. */
function send(res: Response, json: string): void {
  res.status(200).set('Content-Type', 'application/json').send(json);
}
