import type { AddressInfo } from 'node:net';
import { OpenMeter } from '@openmeter/sdk';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { expectEventually, TestSuite } from '@tally/testing';
import { loadGatewayConfig, upstreamUrlEnv } from '../../apps/gateway/src/gateway-config';
import { createGateway, type Gateway } from '../../apps/gateway/src/gateway-server';
import type { UpstreamName } from '../../apps/gateway/src/route-table';
import openApiDocument from '../../apps/gateway/src/openapi/openapi.json';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { CatalogRepository } from '../../apps/billing/src/catalog/catalog.repository';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';
import { SERVICES } from '../../tools/services';

/**
 * @openmeter/sdk, unchanged, against the front door: one base URL for every tenant API, the five services and the
 * gateway in this process on real Kafka and Postgres. What the SDK expects and Tally answers differently is listed
 * in apps/gateway/README.md ("OpenMeter SDK").
 */
describe('@openmeter/sdk against the front door', () => {
  const suite = new TestSuite();
  const apps = new Map<string, ServiceApp>();
  let gateway: Gateway;
  let baseUrl: string;
  let openmeter: OpenMeter;
  let key: string;

  beforeAll(async () => {
    await suite.createTopics();
    const env: Record<string, string> = { GATEWAY_PORT: '0' };
    for (const definition of SERVICES) {
      const service = await createServiceApp(definition, suite.serviceConfig(definition, { ADMIN_TOKEN: 'e2e-admin-token-0123456789' }));
      await service.app.listen(0, '127.0.0.1');
      apps.set(definition.name, service);
      env[upstreamUrlEnv(definition.name as UpstreamName)] = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    }
    gateway = createGateway(loadGatewayConfig(env), openApiDocument, new JsonLogger('gateway', undefined, 'warn'));
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;

    const keys = apps.get('ingestion')!.app.get(ApiKeyService);
    await keys.createTenant('acme', 'Acme');
    ({ key } = await keys.createKey('acme', 'sdk'));
    openmeter = new OpenMeter({ baseUrl, apiKey: key });
  });

  afterAll(async () => {
    await gateway?.close();
    for (const { app } of [...apps.values()].reverse()) await app.close();
    await suite.cleanup();
  });

  const api = (path: string) => fetch(`${baseUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('meters, events ingest and list, meter query and the entitlement, all on one base URL', async () => {
    // A meter (Tally's meter API takes OpenMeter's fields), then listed and read through the SDK.
    const created = await fetch(`${baseUrl}/api/v1/meters`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls', groupBy: { region: '$.region' } }),
    });
    expect(created.status).toBe(201);
    const meters = await expectEventually(async () => {
      const list = await openmeter.meters.list();
      expect(list.map((m) => m.slug)).toEqual(['api-calls']);
      return list;
    });
    expect(meters).toHaveLength(1);
    const meter = await openmeter.meters.get('api-calls');
    expect(meter).toMatchObject({ slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls', groupBy: { region: '$.region' } });

    // Billing: a plan including 100 calls, so threshold-alerting projects an entitlement.
    const billing = apps.get('billing')!.app;
    await billing.get(CatalogRepository).upsertCustomer('acme', { id: 'customer-1', name: 'Customer One', currency: 'EUR', timezone: 'UTC', taxRate: '0' });
    await billing.get(CatalogRepository).addPlanVersion('acme', {
      code: 'starter',
      name: 'Starter',
      interval: 'monthly',
      currency: 'EUR',
      baseFee: '0',
      charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '100', thresholds: [50, 75, 90, 100], hardLimit: false }],
    });
    await billing.get(SubscriptionService).create('acme', { customer: 'customer-1', plan: 'starter' });
    // Usage counts toward the period once the entitlement is projected (events before the subscription are not in it).
    await expectEventually(async () =>
      expect(await suite.query(`SELECT 1 FROM "${suite.schema('threshold-alerting')}".entitlements WHERE customer = 'customer-1'`)).toHaveLength(1),
    );

    // Ingest: a batch as the SDK sends it (application/cloudevents-batch+json, its own ids and defaults).
    const time = new Date();
    await openmeter.events.ingest([
      { type: 'api.call', subject: 'customer-1', time, data: { calls: 3, region: 'eu' } },
      { type: 'api.call', subject: 'customer-1', time, data: { calls: 4, region: 'us' } },
      { id: 'evt-fixed', source: 'sdk-test', type: 'api.call', subject: 'customer-1', time, data: { calls: 5, region: 'eu' } },
    ]);
    // The same event again (a client retry): counted once.
    await openmeter.events.ingest({ id: 'evt-fixed', source: 'sdk-test', type: 'api.call', subject: 'customer-1', time, data: { calls: 5, region: 'eu' } });

    const from = new Date(time.getTime() - 3_600_000);
    const to = new Date(time.getTime() + 3_600_000);
    const total = await expectEventually(async () => {
      const result = await openmeter.meters.query('api-calls', { from, to, subject: ['customer-1'] });
      expect(result.data.map((row) => Number(row.value))).toEqual([12]);
      return result;
    }, 60_000);
    // Tally answers the value as a decimal string where OpenMeter has a number (README "OpenMeter SDK").
    expect(total.data[0]).toMatchObject({ subject: 'customer-1', windowStart: from, windowEnd: to });
    const byRegion = await openmeter.meters.query('api-calls', { from, to, groupBy: ['region'] });
    expect(Object.fromEntries(byRegion.data.map((row) => [row.groupBy?.region, Number(row.value)]))).toEqual({ eu: 8, us: 4 });

    // OpenMeter answers a bare array of {event, ingestedAt, storedAt}; Tally a page {data: [event fields, ingestedAt,
    // readings], nextCursor} (README "OpenMeter SDK"). The SDK hands the body through, so the page is what a caller gets.
    const events = (await openmeter.events.list({ from, to })) as unknown as { data: Array<{ id: string; source: string; data: { calls: number } }>; nextCursor: string | null };
    expect(events.data.map((e) => e.data.calls).sort()).toEqual([3, 4, 5]);
    expect(events.data.filter((e) => e.id === 'evt-fixed')).toHaveLength(1);
    expect(events.data.filter((e) => e.source === '@openmeter/sdk')).toHaveLength(2);

    // The entitlement, on Tally's route through the same base URL (the SDK's own path is not served, see the README).
    const entitlement = await expectEventually(async () => {
      const res = await api('/api/v1/entitlements/customer-1/api-calls');
      expect(res.status).toBe(200);
      const body = await res.json();
      expect(body).toMatchObject({ allowed: true, usage: '12', included: '100' });
      return body;
    }, 60_000);
    expect(entitlement).toMatchObject({ remaining: '88', hardLimit: false });

    // And through the SDK: OpenMeter's value route, the subject as customer and the meter's slug as feature key.
    expect(await openmeter.entitlementsV1.value('customer-1', 'api-calls')).toEqual({ hasAccess: true, balance: 88, usage: 12, overage: 0, totalAvailableGrantAmount: 100 });
    await expect(openmeter.entitlementsV1.value('customer-1', 'no-such-meter')).rejects.toMatchObject({ status: 404 });
    await expect(openmeter.entitlementsV1.value('customer-1', 'api-calls', { time: new Date(0) })).rejects.toMatchObject({ status: 400 });
  });

});
