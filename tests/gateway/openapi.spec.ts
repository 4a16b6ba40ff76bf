import { readFileSync } from 'node:fs';
import { RequestMethod, type INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { MetadataScanner, NestContainer } from '@nestjs/core';
import { RouteTable } from '../../apps/gateway/src/route-table';
import { buildOpenApiDocument, OPENAPI_FILE, OPERATOR_ONLY_PREFIXES, previewServiceApp, serializeOpenApiDocument } from '../../tools/openapi';
import { SERVICES } from '../../tools/services';

interface DeclaredRoute {
  service: string;
  method: string;
  /** Express syntax, as declared: `/api/v1/meters/:slug/query`. */
  path: string;
}

/** Every HTTP route a service's controllers declare, read from Nest's decorator metadata (not from @nestjs/swagger). */
function declaredRoutes(service: string, app: INestApplication): DeclaredRoute[] {
  const container = (app as unknown as { container: NestContainer }).container;
  const scanner = new MetadataScanner();
  const routes: DeclaredRoute[] = [];
  for (const module of container.getModules().values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as { prototype: object } | null;
      if (!controller) continue;
      const prefixes = [Reflect.getMetadata(PATH_METADATA, controller) ?? '/'].flat() as string[];
      for (const name of scanner.getAllMethodNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name] as object;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (paths === undefined) continue;
        const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
        for (const prefix of prefixes)
          for (const p of [paths].flat()) routes.push({ service, method, path: `/${[prefix, p].map((s) => s.replace(/^\/|\/$/g, '')).filter(Boolean).join('/')}` });
      }
    }
  }
  return routes;
}

/** `/api/v1/invoices/:id.pdf` -> `/api/v1/invoices/{id}.pdf` (OpenAPI) and `/api/v1/invoices/p-id.pdf` (a request). */
const toTemplate = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
const toRequestPath = (path: string) => path.replace(/:([A-Za-z0-9_]+)/g, 'p-$1');

describe('the front door OpenAPI document and routing table', () => {
  let routes: DeclaredRoute[];
  const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8'));

  beforeAll(async () => {
    routes = [];
    for (const definition of SERVICES) {
      const app = await previewServiceApp(definition);
      routes.push(...declaredRoutes(definition.name, app));
      await app.close();
    }
  });

  it('finds the routes of every service (the enumeration itself works)', () => {
    for (const definition of SERVICES) expect(routes.filter((r) => r.service === definition.name).length).toBeGreaterThan(0);
    expect(routes).toContainEqual({ service: 'aggregation', method: 'GET', path: '/api/v1/meters/:slug/query' });
    expect(routes).toContainEqual({ service: 'ingestion', method: 'POST', path: '/api/v1/events' });
  });

  it('is what `npm run openapi` generates from the code now (run it after changing a route)', async () => {
    expect(serializeOpenApiDocument(await buildOpenApiDocument())).toBe(readFileSync(OPENAPI_FILE, 'utf8'));
  });

  it('is OpenAPI 3.1 with a unique operationId per operation', () => {
    expect(committed.openapi).toBe('3.1.0');
    const ids = Object.values(committed.paths as Record<string, Record<string, { operationId: string }>>).flatMap((item) => Object.values(item).map((o) => o.operationId));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('documents every tenant route of every service under the service that serves it, and the front door routes it there', () => {
    const table = new RouteTable(committed);
    const tenantRoutes = routes.filter((r) => r.path.startsWith('/api/v1/') && !OPERATOR_ONLY_PREFIXES.some((p) => r.path.startsWith(p)));
    expect(tenantRoutes.length).toBeGreaterThan(30);
    const missing = tenantRoutes.filter((r) => committed.paths[toTemplate(r.path)]?.[r.method.toLowerCase()]?.['x-tally-service'] !== r.service);
    expect(missing).toEqual([]);
    const misrouted = tenantRoutes
      .map((r) => ({ ...r, resolved: table.resolve(r.method, toRequestPath(r.path)) }))
      .filter((r) => !r.resolved.found || r.resolved.route.upstream !== r.service || r.resolved.route.template !== toTemplate(r.path));
    expect(misrouted).toEqual([]);
    // Nothing is documented (or routed) that no controller serves.
    expect(table.routes().length).toBe(tenantRoutes.length);
  });

  it('keeps the operator-only admin API and the ops endpoints off the front door', () => {
    const table = new RouteTable(committed);
    const admin = routes.filter((r) => OPERATOR_ONLY_PREFIXES.some((p) => r.path.startsWith(p)));
    expect(admin.length).toBeGreaterThan(0);
    for (const r of admin) expect(table.resolve(r.method, toRequestPath(r.path))).toEqual({ found: false, status: 404 });
    for (const path of ['/health', '/health/ready', '/metrics']) expect(table.resolve('GET', path).found).toBe(false);
  });
});
