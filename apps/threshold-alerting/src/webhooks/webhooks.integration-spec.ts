import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { promises as dns } from 'node:dns';
import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { customerKey, customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type InvoiceChanged, type SubscriptionChanged, type UsageAggregate } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite } from '@tally/testing';
import { thresholdAlertingService } from '../threshold-alerting.service';
import { classifyAddress, parseWebhookUrl } from './domain/target-address';
import { checkTarget, postWebhook } from './webhook-sender';
import type { Delivery } from './webhook.repository';

const ACME = { tenant: 'acme', key: 'key-webhooks-acme' };
const GLOBEX = { tenant: 'globex', key: 'key-webhooks-globex' };
const HANG_TIMEOUT_MS = 4000;

interface Received {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * A local receiver: `/flaky/*` answers 503 to the first two attempts of each webhook-id and then 204, `/down/*`
 * answers 500 until told otherwise, `/hang/*` never answers (counts how many such requests are open at once),
 * `/sometimes/*` hangs until told otherwise.
 */
class Receiver {
  readonly received: Received[] = [];
  downAnswer = 500;
  /** `/sometimes/*` hangs while this is true, then answers 204. */
  hangSometimes = true;
  hangingNow = 0;
  maxHanging = 0;
  private readonly attemptsById = new Map<string, number>();
  private readonly open = new Set<ServerResponse>();
  private server?: Server;
  base = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  on(prefix: string): Received[] {
    return this.received.filter((r) => r.path.startsWith(prefix));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
    this.received.push({ path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8') });
    const id = headers['webhook-id'];
    if (req.url?.startsWith('/sometimes/') && !this.hangSometimes) {
      res.writeHead(204).end();
      return;
    }
    if (req.url?.startsWith('/hang/') || req.url?.startsWith('/sometimes/')) {
      this.open.add(res);
      this.hangingNow++;
      this.maxHanging = Math.max(this.maxHanging, this.hangingNow);
      res.on('close', () => {
        this.hangingNow--;
        this.open.delete(res);
      });
      return;
    }
    if (req.url?.startsWith('/down/')) {
      res.writeHead(this.downAnswer).end('down for maintenance');
      return;
    }
    const n = (this.attemptsById.get(id) ?? 0) + 1;
    this.attemptsById.set(id, n);
    res.writeHead(n <= 2 ? 503 : 204).end(n <= 2 ? 'not yet' : undefined);
  }
}

describe('webhooks (real Kafka + Postgres, a local receiver)', () => {
  const suite = new TestSuite();
  const receiver = new Receiver();
  let service: ServiceApp;
  let base: string;
  const now = new Date();
  const periodStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString();

  const api = async <T = Record<string, unknown>>(who: { key: string }, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${who.key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const register = async (who: { key: string }, path: string, eventKinds: string[]) => {
    const res = await api<{ id: string; secret: string; url: string }>(who, 'POST', '/api/v1/webhooks/endpoints', { url: `${receiver.base}${path}`, eventKinds });
    expect(res.status).toBe(201);
    return res.body;
  };
  const deliveries = async (who: { key: string }, query = ''): Promise<Delivery[]> => {
    const res = await api<{ deliveries: Delivery[] }>(who, 'GET', `/api/v1/webhooks/deliveries${query}`);
    expect(res.status).toBe(200);
    return res.body.deliveries;
  };
  const invoice = (tenant: string, customer: string, invoiceId: string): { key: string; value: InvoiceChanged } => ({
    key: customerKey(tenant, customer),
    value: {
      eventId: `${invoiceId}:finalized`, occurredAt: new Date().toISOString(), tenant, customer, invoiceId, subscriptionId: 'sub-1', status: 'finalized', currency: 'EUR',
      periodStart, periodEnd, total: '12.50',
    },
  });

  beforeAll(async () => {
    await receiver.start();
    await suite.createTopics();
    const keys = [ACME, GLOBEX].map((who) => {
      const value: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: who.tenant, keyId: randomUUID(), keyHash: hashApiKey(who.key), revoked: false };
      return suite.signedApiKeyMessage(who.key, value);
    });
    await suite.produce(TOPICS.catalogApiKeys, keys);
    service = await start();
    // The API key catalog is consumed asynchronously.
    await expectEventually(async () => expect((await api(ACME, 'GET', '/api/v1/webhooks/endpoints')).status).toBe(200));
    await expectEventually(async () => expect((await api(GLOBEX, 'GET', '/api/v1/webhooks/endpoints')).status).toBe(200));
  });

  const start = async (): Promise<ServiceApp> => {
    const app = await createServiceApp(
      thresholdAlertingService,
      suite.serviceConfig(thresholdAlertingService, {
        WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true',
        WEBHOOKS_MAX_ATTEMPTS: '4',
        WEBHOOKS_RETRY_BASE_MS: '100',
        WEBHOOKS_RETRY_MAX_MS: '400',
        WEBHOOKS_TIMEOUT_MS: String(HANG_TIMEOUT_MS),
        WEBHOOKS_CONCURRENCY: '16',
        WEBHOOKS_TENANT_CONCURRENCY: '4',
        WEBHOOKS_ENDPOINT_CONCURRENCY: '2',
        WEBHOOKS_POLL_INTERVAL_MS: '50',
      }),
    );
    await app.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.app.getHttpServer().address() as AddressInfo).port}`;
    return app;
  };

  afterAll(async () => {
    await service?.app.close();
    await receiver.stop();
    await suite.cleanup();
  });

  it("signs and retries an alert born from usage until the receiver takes it, while another tenant's hanging endpoints hold only their own slots", async () => {
    // Globex: three endpoints that never answer, and a pile of invoices for them (more than its in-flight share).
    for (const n of [1, 2, 3]) await register(GLOBEX, `/hang/${n}`, ['invoices']);
    await suite.produce(TOPICS.billingInvoices, Array.from({ length: 6 }, (_, i) => invoice(GLOBEX.tenant, 'g-1', `g-inv-${i}`)));
    await expectEventually(() => expect(receiver.hangingNow).toBe(4));

    // Acme: one endpoint for alerts (answers 503 twice, then 204), one for invoices only.
    const alertsEndpoint = await register(ACME, '/flaky/alerts', ['alerts']);
    const invoicesEndpoint = await register(ACME, '/flaky/invoices', ['invoices', 'churn-risk']);
    expect(alertsEndpoint.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const listed = await api<{ endpoints: Array<Record<string, unknown>> }>(ACME, 'GET', '/api/v1/webhooks/endpoints');
    expect(listed.body.endpoints.map((e) => e.url)).toEqual([`${receiver.base}/flaky/alerts`, `${receiver.base}/flaky/invoices`]);
    // The secret is shown once, at registration.
    expect(listed.body.endpoints.every((e) => !('secret' in e))).toBe(true);

    // Usage crosses 50 % of the included units: threshold-alerting fires the alert, webhooks deliver it.
    await suite.produce(TOPICS.billingSubscriptions, [{
      key: subscriptionKey(ACME.tenant, 'c-1', 'sub-1'),
      value: {
        eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'c-1', subscriptionId: 'sub-1', plan: 'pro', status: 'active', periodStart, periodEnd,
        entitlements: [{ meter: 'api-calls', included: '1000', thresholds: [50], hardLimit: false }],
      } satisfies SubscriptionChanged,
    }]);
    await suite.produce(TOPICS.usageAggregates, [{
      key: customerMeterKey(ACME.tenant, 'c-1', 'api-calls'),
      value: {
        eventId: 'c-1:api-calls:1', occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'c-1', meter: 'api-calls', windowKind: 'PERIOD',
        windowStart: periodStart, windowEnd: periodEnd, value: '600', eventCount: 1, lastEventTime: new Date().toISOString(), version: 1,
      } satisfies UsageAggregate,
    }]);
    // The same invoice event twice (a redelivered input): one delivery.
    await suite.produce(TOPICS.billingInvoices, [invoice(ACME.tenant, 'c-1', 'inv-1'), invoice(ACME.tenant, 'c-1', 'inv-1')]);

    await expectEventually(async () => expect((await deliveries(ACME, '?status=succeeded')).map((d) => d.eventKind).sort()).toEqual(['alerts', 'invoices']), 30_000);
    const acme = await deliveries(ACME);
    expect(acme).toHaveLength(2);
    for (const d of acme) {
      expect(d).toMatchObject({ status: 'succeeded', attempts: 3, lastStatusCode: 204 });
      // Three attempts with backoff (50–100 ms, then 100–200 ms) while globex's requests hang for 4 s: not held up by them.
      expect(Date.parse(d.completedAt!) - Date.parse(d.createdAt)).toBeLessThan(HANG_TIMEOUT_MS / 2);
    }
    // Globex never had more than its tenant share (4) in flight, though its three endpoints could take 6.
    expect(receiver.maxHanging).toBe(4);

    // What the receiver got verifies with the Standard Webhooks library (not our code), on every attempt.
    const alertRequests = receiver.on('/flaky/alerts');
    expect(alertRequests).toHaveLength(3);
    expect(new Set(alertRequests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    expect(new Set(alertRequests.map((r) => r.body)).size).toBe(1);
    for (const r of alertRequests) {
      const verified = new Webhook(alertsEndpoint.secret).verify(r.body, r.headers) as { type: string; data: Record<string, unknown> };
      expect(verified.type).toBe(TOPICS.alertsUsageThreshold);
      expect(verified.data).toMatchObject({ tenant: ACME.tenant, customer: 'c-1', meter: 'api-calls', kind: 'soft', thresholdPercent: 50, usage: '600' });
      expect(() => new Webhook(invoicesEndpoint.secret).verify(r.body, r.headers)).toThrow();
      expect(() => new Webhook(alertsEndpoint.secret).verify(r.body.replace('600', '601'), r.headers)).toThrow();
    }
    const invoiceRequests = receiver.on('/flaky/invoices');
    expect(invoiceRequests).toHaveLength(3);
    expect(new Webhook(invoicesEndpoint.secret).verify(invoiceRequests[2].body, invoiceRequests[2].headers)).toMatchObject({ type: TOPICS.billingInvoices, data: { invoiceId: 'inv-1' } });

    // Each attempt is visible: two 503s, then the 204.
    const detail = await api<{ attemptLog: Array<{ round: number; attempt: number; statusCode: number }>; payload: { type: string } }>(ACME, 'GET', `/api/v1/webhooks/deliveries/${acme[0].id}`);
    expect(detail.body.attemptLog.map((a) => [a.round, a.attempt, a.statusCode])).toEqual([[0, 1, 503], [0, 2, 503], [0, 3, 204]]);
    // Tenants see only their own deliveries.
    expect((await api(GLOBEX, 'GET', `/api/v1/webhooks/deliveries/${acme[0].id}`)).status).toBe(404);
    expect((await deliveries(GLOBEX)).every((d) => d.eventKind === 'invoices')).toBe(true);

    // The hanging requests end at the timeout and are retried, never marked succeeded.
    await expectEventually(async () => expect((await deliveries(GLOBEX)).some((d) => d.lastError?.startsWith('timed out after'))).toBe(true), 15_000);
    // The same invoice once more, in a later batch, then a new one on the same partition (same key): once the new
    // one is delivered the repeat has been consumed — it made no second delivery and no dead letter.
    await suite.produce(TOPICS.billingInvoices, [invoice(ACME.tenant, 'c-1', 'inv-1')]);
    await suite.produce(TOPICS.billingInvoices, [invoice(ACME.tenant, 'c-1', 'inv-2')]);
    const alertEventId = acme.find((d) => d.eventKind === 'alerts')!.eventId;
    await expectEventually(async () => expect((await deliveries(ACME)).map((d) => d.eventId).sort()).toEqual([alertEventId, 'inv-1:finalized', 'inv-2:finalized'].sort()));
    expect(receiver.on('/flaky/invoices').filter((r) => r.body.includes('"inv-1"'))).toHaveLength(3);
    const s = suite.schema('threshold-alerting');
    expect(await suite.query(`SELECT topic FROM ${s}.outbox WHERE topic LIKE '%.dlq.%'`)).toEqual([]);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/tally_webhook_deliveries_total\{outcome="retried"\} [1-9]/);
    expect(metrics).toMatch(/tally_webhook_deliveries_total\{outcome="succeeded"\} [1-9]/);
    for (const { id } of (await api<{ endpoints: Array<{ id: string }> }>(GLOBEX, 'GET', '/api/v1/webhooks/endpoints')).body.endpoints) {
      expect((await api(GLOBEX, 'DELETE', `/api/v1/webhooks/endpoints/${id}`)).status).toBe(204);
    }
    await expectEventually(async () => expect((await deliveries(GLOBEX, '?status=pending'))).toEqual([]));
  });

  it('records a delivery as failed after its last attempt, lists it under status=failed, and redelivers it on request', async () => {
    const endpoint = await register(ACME, '/down/1', ['churn-risk']);
    receiver.downAnswer = 500;
    await suite.produce(TOPICS.customersChurnRisk, [{
      key: customerKey(ACME.tenant, 'c-9'),
      value: { eventId: 'c-9:churn-risk:1', occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'c-9', previousBand: 'green', band: 'red', score: 31, reasons: ['usage fell 60 %'] },
    }]);
    await expectEventually(async () => expect(await deliveries(ACME, '?status=failed')).toHaveLength(1), 30_000);
    const [failed] = await deliveries(ACME, '?status=failed');
    expect(failed).toMatchObject({ endpointId: endpoint.id, eventKind: 'churn-risk', eventId: 'c-9:churn-risk:1', status: 'failed', attempts: 4, lastStatusCode: 500, lastError: 'HTTP 500', nextAttemptAt: null });
    expect(receiver.on('/down/1')).toHaveLength(4);

    // Bad requests: an unknown status, another tenant's delivery, a pending one.
    expect((await api(ACME, 'GET', '/api/v1/webhooks/deliveries?status=lost')).status).toBe(400);
    expect((await api(GLOBEX, 'POST', `/api/v1/webhooks/deliveries/${failed.id}/redeliver`)).status).toBe(404);

    receiver.downAnswer = 200;
    const redelivered = await api<Delivery>(ACME, 'POST', `/api/v1/webhooks/deliveries/${failed.id}/redeliver`);
    expect(redelivered.status).toBe(202);
    expect(redelivered.body).toMatchObject({ id: failed.id, status: 'pending', attempts: 0, redeliveries: 1 });
    await expectEventually(async () => expect((await api<Delivery>(ACME, 'GET', `/api/v1/webhooks/deliveries/${failed.id}`)).body.status).toBe('succeeded'));
    const detail = await api<{ attemptLog: Array<{ round: number; attempt: number; statusCode: number }> }>(ACME, 'GET', `/api/v1/webhooks/deliveries/${failed.id}`);
    expect(detail.body.attemptLog.map((a) => [a.round, a.attempt, a.statusCode])).toEqual([[0, 1, 500], [0, 2, 500], [0, 3, 500], [0, 4, 500], [1, 1, 200]]);
    // The redelivery is the same message (same webhook-id and body), freshly signed.
    const requests = receiver.on('/down/1');
    expect(requests).toHaveLength(5);
    expect(new Set(requests.map((r) => `${r.headers['webhook-id']}|${r.body}`)).size).toBe(1);
    expect(new Webhook(endpoint.secret).verify(requests[4].body, requests[4].headers)).toMatchObject({ type: TOPICS.customersChurnRisk });
    expect(await deliveries(ACME, '?status=failed')).toEqual([]);

    // Paging walks every delivery once, in the listing's order, whatever the page size.
    const all = (await deliveries(ACME, '?limit=200')).map((d) => d.id);
    expect(all.length).toBeGreaterThanOrEqual(4);
    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { status: number; body: { deliveries: Delivery[]; nextCursor: string | null } } = await api(ACME, 'GET', `/api/v1/webhooks/deliveries?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.body.deliveries.map((d) => d.id));
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(seen).toEqual(all);
    }
    expect((await api(ACME, 'GET', '/api/v1/webhooks/deliveries?cursor=bm9wZQ')).status).toBe(400);
  });

  it('stops without waiting for a hanging endpoint, gives the aborted attempt back uncounted, and goes on after a restart without a second delivery', async () => {
    const endpoint = await register(ACME, '/sometimes/1', ['invoices']);
    receiver.hangSometimes = true;
    await suite.produce(TOPICS.billingInvoices, [invoice(ACME.tenant, 'c-2', 'inv-r')]);
    await expectEventually(() => expect(receiver.on('/sometimes/1')).toHaveLength(1));
    const stopping = Date.now();
    await service.app.close();
    expect(Date.now() - stopping).toBeLessThan(HANG_TIMEOUT_MS);
    const s = suite.schema('threshold-alerting');
    const stored = () => suite.query<{ id: string; status: string; attempts: number; n: number }>(
      `SELECT d.id, d.status, d.attempts, (SELECT count(*)::int FROM ${s}.webhook_delivery_attempts a WHERE a.delivery_id = d.id) AS n FROM ${s}.webhook_deliveries d WHERE d.event_id = 'inv-r:finalized' AND d.endpoint_id = $1`,
      [endpoint.id],
    );
    expect(await stored()).toEqual([{ id: expect.any(String), status: 'pending', attempts: 0, n: 0 }]);

    receiver.hangSometimes = false;
    service = await start();
    await expectEventually(async () => expect(await stored()).toEqual([{ id: expect.any(String), status: 'succeeded', attempts: 1, n: 1 }]));
    const requests = receiver.on('/sometimes/1');
    expect(requests).toHaveLength(2);
    expect(new Set(requests.map((r) => r.headers['webhook-id'])).size).toBe(1);
    // The restarted consumer resumed from its stored offsets: the invoice was not turned into deliveries again.
    expect((await deliveries(ACME, `?endpointId=${endpoint.id}`)).filter((d) => d.eventId === 'inv-r:finalized')).toHaveLength(1);
  });

  it('validates registrations: kinds, secrets, URLs', async () => {
    const post = (body: unknown) => api<{ errors?: Array<{ pointer: string }> }>(ACME, 'POST', '/api/v1/webhooks/endpoints', body);
    expect((await post({ url: `${receiver.base}/x`, eventKinds: [] })).status).toBe(400);
    expect((await post({ url: `${receiver.base}/x`, eventKinds: ['alerts', 'alerts'] })).status).toBe(400);
    expect((await post({ url: `${receiver.base}/x`, eventKinds: ['usage'] })).status).toBe(400);
    expect((await post({ url: 'ftp://example.com/x', eventKinds: ['alerts'] })).body.errors?.[0].pointer).toBe('/url');
    expect((await post({ url: `${receiver.base}/x`, eventKinds: ['alerts'], secret: 'not-a-secret' })).body.errors?.[0].pointer).toBe('/secret');
    const own = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    const created = await api<{ id: string; secret: string }>(ACME, 'POST', '/api/v1/webhooks/endpoints', { url: `${receiver.base}/x`, eventKinds: ['alerts'], secret: own });
    expect(created).toMatchObject({ status: 201, body: { secret: own } });
    expect((await api(ACME, 'GET', '/api/v1/webhooks/endpoints/not-a-uuid')).status).toBe(404);
    expect((await api(GLOBEX, 'DELETE', `/api/v1/webhooks/endpoints/${created.body.id}`)).status).toBe(404);
    expect((await api(ACME, 'DELETE', `/api/v1/webhooks/endpoints/${created.body.id}`)).status).toBe(204);
    expect((await api(ACME, 'DELETE', `/api/v1/webhooks/endpoints/${created.body.id}`)).status).toBe(404);
    expect((await fetch(`${base}/api/v1/webhooks/endpoints`)).status).toBe(401);
  });

  it('refuses private and loopback targets when they are not allowed, at registration and again at send time (DNS included)', async () => {
    // The receiver listens on loopback; with private targets not allowed, nothing reaches it.
    const port = new URL(receiver.base).port;
    const before = receiver.received.length;
    for (const url of [`http://127.0.0.1:${port}/`, `http://2130706433:${port}/`, `http://0177.0.0.1:${port}/`, `http://[::ffff:127.0.0.1]:${port}/`, `http://[::1]:${port}/`, `http://localhost:${port}/`, 'http://169.254.169.254/latest/meta-data/']) {
      const parsed = parseWebhookUrl(url);
      if ('error' in parsed) throw new Error(parsed.error);
      expect(await checkTarget(parsed.target, false)).toMatchObject({ allowed: false });
      expect(await postWebhook(url, {}, '{}', { timeoutMs: 1000, allowPrivate: false })).toMatchObject({ refused: true });
    }
    // A DNS name (this machine's) that resolves to a private address: refused by the resolving lookup of the socket itself.
    const host = hostname();
    const addresses = (await dns.lookup(host, { all: true })).map((a) => a.address);
    expect(addresses.every((a) => !classifyAddress(a).allowed)).toBe(true);
    const byName = await postWebhook(`http://${host}:${port}/`, {}, '{}', { timeoutMs: 1000, allowPrivate: false });
    expect(byName).toMatchObject({ refused: true, error: expect.stringContaining(`${host} resolves to`) });
    expect(receiver.received.length).toBe(before);
    // Allowed (local development), the same target is reached.
    expect(await postWebhook(`${receiver.base}/flaky/allowed`, { 'webhook-id': 'msg_x' }, '{}', { timeoutMs: 1000, allowPrivate: true })).toMatchObject({ statusCode: 503 });
  });
});

describe('webhooks with private targets refused (the default)', () => {
  const suite = new TestSuite();
  const receiver = new Receiver();
  let service: ServiceApp;
  let base: string;

  beforeAll(async () => {
    await receiver.start();
    await suite.createTopics([TOPICS.catalogApiKeys, TOPICS.billingInvoices]);
    const value: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: ACME.tenant, keyId: randomUUID(), keyHash: hashApiKey(ACME.key), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage(ACME.key, value)]);
    service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService, { WEBHOOKS_POLL_INTERVAL_MS: '50' }));
    await service.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await service?.app.close();
    await receiver.stop();
    await suite.cleanup();
  });

  it('answers 400 for a loopback URL, and fails (once, without a request) a delivery whose endpoint turned private after registration', async () => {
    const post = (url: string) =>
      fetch(`${base}/api/v1/webhooks/endpoints`, { method: 'POST', headers: { authorization: `Bearer ${ACME.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ url, eventKinds: ['invoices'] }) });
    await expectEventually(async () => expect((await post(`${receiver.base}/hook`)).status).toBe(400));
    const refused = (await (await post(`http://[::ffff:7f00:1]:${new URL(receiver.base).port}/`)).json()) as { errors: Array<{ pointer: string; detail: string }> };
    expect(refused.errors).toEqual([{ pointer: '/url', detail: expect.stringContaining('loopback') }]);

    // An endpoint registered while its name answered a public address now answers a private one (DNS rebinding):
    // stand-in, an endpoint row written directly with a name that resolves to this machine.
    const s = suite.schema('threshold-alerting');
    const id = randomUUID();
    await suite.query(`INSERT INTO ${s}.webhook_endpoints (id, tenant, url, secret, event_kinds) VALUES ($1, $2, $3, $4, $5)`, [
      id, ACME.tenant, `http://${hostname()}:${new URL(receiver.base).port}/hook`, `whsec_${Buffer.alloc(32, 2).toString('base64')}`, ['invoices'],
    ]);
    await suite.produce(TOPICS.billingInvoices, [{
      key: customerKey(ACME.tenant, 'c-1'),
      value: {
        eventId: 'inv-9:finalized', occurredAt: new Date().toISOString(), tenant: ACME.tenant, customer: 'c-1', invoiceId: 'inv-9', subscriptionId: 's', status: 'finalized', currency: 'EUR',
        periodStart: new Date().toISOString(), periodEnd: new Date().toISOString(), total: '1',
      } satisfies InvoiceChanged,
    }]);
    await expectEventually(async () => {
      const rows = await suite.query<{ status: string; attempts: number; last_error: string }>(`SELECT status, attempts, last_error FROM ${s}.webhook_deliveries WHERE endpoint_id = $1`, [id]);
      expect(rows).toEqual([{ status: 'failed', attempts: 1, last_error: expect.stringMatching(/^refused: .* resolves to /) }]);
    }, 30_000);
    expect(receiver.received).toEqual([]);
  });
});
