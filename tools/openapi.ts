// `npm run openapi`: writes the front door's OpenAPI 3.1 document (apps/gateway/src/openapi/openapi.json) from the
// services' Nest route metadata. tests/gateway/openapi.spec.ts fails when the committed document differs from
// what this generates, so the document (and the gateway's routing table, read from it) cannot drift from the code.
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { OutboxRelay } from '@tally/kafka';
import { EVENT_PRODUCER, KAFKA_CLIENT, OutboxPublisher, READ_DATA_SOURCE, READINESS_CHECKS, SERVICE_CONFIG, type ServiceDefinition } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { SERVICES } from './services';

export const OPENAPI_FILE = path.join(__dirname, '..', 'apps', 'gateway', 'src', 'openapi', 'openapi.json');

/**
 * Routes that stay on the owning service's port for operators and are not behind the front door: the admin API
 * (tenants, API keys) is authorized by the operator's ADMIN_TOKEN, not by a tenant's key.
 */
export const OPERATOR_ONLY_PREFIXES = ['/api/v1/admin/'];

/** What createServiceApp provides to every service module; preview mode checks they exist but builds none of them. */
const PLATFORM_TOKENS = [SERVICE_CONFIG, DataSource, READ_DATA_SOURCE, JsonLogger, OutboxRelay, EVENT_PRODUCER, KAFKA_CLIENT, READINESS_CHECKS, OutboxPublisher];

/**
 * The service's Nest application in preview mode: modules, controllers and route metadata, without any instance
 * (no database, no broker). Close it when done.
 */
export async function previewServiceApp(definition: ServiceDefinition) {
  @Module({})
  class OpenApiPreviewRootModule {}
  const root: DynamicModule = {
    module: OpenApiPreviewRootModule,
    global: true,
    imports: [definition.rootModule],
    providers: PLATFORM_TOKENS.map((provide) => ({ provide, useValue: null })),
    exports: PLATFORM_TOKENS,
  };
  return NestFactory.create(root, { preview: true, logger: false, abortOnError: false, bodyParser: false });
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** One service's paths, each operation tagged with the service and marked `x-tally-service` (the gateway's upstream). */
async function serviceDocument(definition: ServiceDefinition): Promise<OpenAPIObject> {
  const app = await previewServiceApp(definition);
  try {
    const document = SwaggerModule.createDocument(app, new DocumentBuilder().build(), {
      operationIdFactory: (controller, method) => `${definition.name}.${controller.replace(/Controller$/, '')}.${method}`,
    });
    for (const [route, item] of Object.entries(document.paths)) {
      if (!route.startsWith('/api/v1/') || OPERATOR_ONLY_PREFIXES.some((p) => route.startsWith(p))) {
        delete document.paths[route];
        continue;
      }
      for (const method of METHODS) {
        const operation = item[method];
        if (!operation) continue;
        operation.tags = [definition.name];
        operation.security = [{ apiKey: [] }];
        (operation as unknown as Record<string, unknown>)['x-tally-service'] = definition.name;
      }
    }
    return document;
  } finally {
    await app.close();
  }
}

/** The document of every tenant API, merged; two services claiming the same method and path is an error. */
export async function buildOpenApiDocument(services: ServiceDefinition[] = SERVICES): Promise<OpenAPIObject> {
  const paths: OpenAPIObject['paths'] = {};
  for (const definition of services) {
    const document = await serviceDocument(definition);
    for (const [route, item] of Object.entries(document.paths)) {
      const merged = (paths[route] ??= {});
      for (const method of METHODS) {
        if (!item[method]) continue;
        const owner = merged[method] && (merged[method] as unknown as Record<string, unknown>)['x-tally-service'];
        if (owner) throw new Error(`${method.toUpperCase()} ${route} is served by both ${String(owner)} and ${definition.name}`);
        merged[method] = item[method];
      }
    }
  }
  const sorted = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b)));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tally API',
      version: '1',
      description:
        'Every tenant API of Tally behind one base URL (the front door, apps/gateway). Authenticate with a tenant API key: ' +
        '`Authorization: Bearer <key>`. Errors are RFC 9457 `application/problem+json`. Generated from the services\' route ' +
        'metadata by `npm run openapi`; request and response bodies are described in each service\'s README.',
    },
    servers: [{ url: '/', description: 'the front door' }],
    tags: services.map((s) => ({ name: s.name, description: `served by the ${s.name} service (apps/${s.name}/README.md)` })),
    components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'a tenant API key' } } },
    paths: sorted,
  };
}

export function serializeOpenApiDocument(document: OpenAPIObject): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

if (require.main === module) {
  buildOpenApiDocument()
    .then((document) => {
      writeFileSync(OPENAPI_FILE, serializeOpenApiDocument(document));
      process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}: ${Object.keys(document.paths).length} paths\n`);
    })
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    });
}
