import { randomBytes, randomUUID } from 'node:crypto';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { parseOrProblem, problem, ProjectedApiKeyGuard, Tenant } from '@tally/nest-platform';
import { WEBHOOK_EVENT_KINDS } from './domain/event-kinds';
import { parseWebhookUrl } from './domain/target-address';
import { formatSecret, GENERATED_SECRET_BYTES, secretKey } from './domain/webhook-signature';
import { WebhookDispatcher } from './webhook-dispatcher';
import { checkTarget } from './webhook-sender';
import { DELIVERY_STATUSES, WebhookRepository, type Delivery, type DeliveryCursor, type Endpoint } from './webhook.repository';

const createEndpointSchema = z
  .object({
    url: z.string().min(1),
    eventKinds: z
      .array(z.enum(WEBHOOK_EVENT_KINDS))
      .min(1)
      .refine((kinds) => new Set(kinds).size === kinds.length, 'must not repeat a kind'),
    secret: z.string().optional(),
    description: z.string().max(500).optional(),
  })
  .strict();

const listDeliveriesSchema = z
  .object({
    status: z.enum(DELIVERY_STATUSES).optional(),
    endpointId: z.string().uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().optional(),
  })
  .strict();

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const encodeCursor = (c: DeliveryCursor): string => Buffer.from(JSON.stringify(c)).toString('base64url');

function decodeCursor(cursor: string): DeliveryCursor {
  try {
    const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as DeliveryCursor;
    if (typeof c.id === 'string' && typeof c.createdAt === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(c.createdAt)) return c;
  } catch {
    // answered below
  }
  throw problem(400, '1 invalid field(s)', [{ pointer: '/cursor', detail: 'is not a cursor from an earlier page' }]);
}

/**
 * A tenant's webhook endpoints and deliveries (tenant API key). Business rules live in domain/ and the
 * dispatcher; this checks input and hands it on.
 */
@Controller('api/v1/webhooks')
@UseGuards(ProjectedApiKeyGuard)
export class WebhooksController {
  constructor(
    private readonly repository: WebhookRepository,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /** Registers an endpoint; the signing secret is generated unless given, and answered only here. */
  @Post('endpoints')
  @HttpCode(201)
  async createEndpoint(@Tenant() tenant: string, @Body() body: unknown): Promise<Endpoint & { secret: string }> {
    const input = parseOrProblem(createEndpointSchema, body);
    const parsed = parseWebhookUrl(input.url);
    if ('error' in parsed) throw problem(400, '1 invalid field(s)', [{ pointer: '/url', detail: parsed.error }]);
    const verdict = await checkTarget(parsed.target, this.dispatcher.settings.allowPrivateTargets);
    if (!verdict.allowed) throw problem(400, '1 invalid field(s)', [{ pointer: '/url', detail: `refused: ${verdict.reason} (private, loopback and link-local targets are not allowed)` }]);
    if (input.secret !== undefined) {
      const key = secretKey(input.secret);
      if ('error' in key) throw problem(400, '1 invalid field(s)', [{ pointer: '/secret', detail: key.error }]);
    }
    const secret = input.secret ?? formatSecret(randomBytes(GENERATED_SECRET_BYTES));
    const created = await this.repository.createEndpoint(
      tenant,
      { id: randomUUID(), url: parsed.target.url.href, secret, eventKinds: input.eventKinds, description: input.description ?? null },
      this.dispatcher.settings.maxEndpointsPerTenant,
    );
    if (created === 'limit') throw problem(409, `a tenant has at most ${this.dispatcher.settings.maxEndpointsPerTenant} webhook endpoints; delete one first`);
    return { ...created, secret };
  }

  @Get('endpoints')
  async listEndpoints(@Tenant() tenant: string): Promise<{ endpoints: Endpoint[] }> {
    return { endpoints: await this.repository.listEndpoints(tenant) };
  }

  @Get('endpoints/:id')
  async getEndpoint(@Tenant() tenant: string, @Param('id') id: string): Promise<Endpoint> {
    const found = UUID.test(id) ? await this.repository.getEndpoint(tenant, id) : null;
    if (!found) throw problem(404, `no webhook endpoint "${id}"`);
    return found;
  }

  /** Stops sending to the endpoint; its pending deliveries are recorded as failed, its history stays visible. */
  @Delete('endpoints/:id')
  @HttpCode(204)
  async deleteEndpoint(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    if (!UUID.test(id) || !(await this.repository.deleteEndpoint(tenant, id))) throw problem(404, `no webhook endpoint "${id}"`);
  }

  /** Newest first; `status=failed` lists what needs attention; `nextCursor` continues. */
  @Get('deliveries')
  async listDeliveries(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<{ deliveries: Delivery[]; nextCursor: string | null }> {
    const q = parseOrProblem(listDeliveriesSchema, query);
    const page = await this.repository.listDeliveries(tenant, { status: q.status, endpointId: q.endpointId, limit: q.limit, after: q.cursor ? decodeCursor(q.cursor) : undefined });
    return { deliveries: page.deliveries, nextCursor: page.deliveries.length === q.limit && page.last ? encodeCursor(page.last) : null };
  }

  /** One delivery with its payload and every attempt. */
  @Get('deliveries/:id')
  async getDelivery(@Tenant() tenant: string, @Param('id') id: string): Promise<NonNullable<Awaited<ReturnType<WebhookRepository['getDelivery']>>>> {
    const found = await this.repository.getDelivery(tenant, id);
    if (!found) throw problem(404, `no webhook delivery "${id}"`);
    return found;
  }

  /** Sends a finished (failed or succeeded) delivery again: same webhook-id and body, a new round of attempts. */
  @Post('deliveries/:id/redeliver')
  @HttpCode(202)
  async redeliver(@Tenant() tenant: string, @Param('id') id: string): Promise<Delivery> {
    const result = await this.repository.redeliver(tenant, id);
    if (result === 'not_found') throw problem(404, `no webhook delivery "${id}"`);
    if (result === 'pending') throw problem(409, `delivery "${id}" is still pending; it is already being delivered`);
    if (result === 'endpoint_deleted') throw problem(409, `the endpoint of delivery "${id}" was deleted`);
    this.dispatcher.wake();
    return result;
  }
}
