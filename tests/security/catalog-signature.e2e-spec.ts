import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { dlqTopicFor, HEADERS, TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { createServiceApp, hashApiKey, signApiKeyChange, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, TestSuite, type TopicCollector } from '@tally/testing';
import { ingestionService } from '../../apps/ingestion/src/ingestion.service';
import { aggregationService } from '../../apps/aggregation/src/aggregation.service';

const ADMIN = 'catalog-signature-admin-token';

/**
 * An attacker who can produce to Kafka must not be able to mint API keys: catalog messages forged with
 * kafkajs (unsigned, signed with another secret, a genuine signature on altered content) are dead-lettered
 * by aggregation's projection and their keys answer 401, while a key created through ingestion's API works
 * there and its revocation (also signed) reaches it.
 */
describe('signed API-key catalog (ingestion -> aggregation, real Kafka + Postgres)', () => {
  const suite = new TestSuite();
  const apps: ServiceApp[] = [];
  let ingestionUrl: string;
  let aggregationUrl: string;
  let collector: TopicCollector;

  const call = (base: string, method: string, path: string, token: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const listEvents = (key: string) => call(aggregationUrl, 'GET', '/api/v1/events', key);
  const madeUpKey = () => `tly_${randomBytes(24).toString('base64url')}`;
  const keyMessage = (tenant: string, key: string): ApiKeyChanged => ({
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    tenant,
    keyId: randomUUID(),
    keyHash: hashApiKey(key),
    revoked: false,
  });

  beforeAll(async () => {
    await suite.createTopics();
    for (const definition of [ingestionService, aggregationService]) {
      const service = await createServiceApp(definition, suite.serviceConfig(definition, { ADMIN_TOKEN: ADMIN }));
      await service.app.listen(0, '127.0.0.1');
      apps.push(service);
    }
    [ingestionUrl, aggregationUrl] = apps.map(({ app }) => `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`);
    collector = await suite.collect([TOPICS.catalogApiKeys, dlqTopicFor(TOPICS.catalogApiKeys)]);
    for (const tenant of ['acme', 'globex']) {
      expect((await call(ingestionUrl, 'POST', '/api/v1/admin/tenants', ADMIN, { id: tenant, name: tenant })).status).toBe(201);
    }
  });

  afterAll(async () => {
    for (const { app } of apps.reverse()) await app.close();
    await suite.cleanup();
  });

  it('accepts the key ingestion created and signed, refuses every forged one with its reason, and applies a signed revocation', async () => {
    const created = await call(ingestionUrl, 'POST', '/api/v1/admin/tenants/acme/api-keys', ADMIN, { name: 'real' });
    expect(created.status).toBe(201);
    const real = (await created.json()) as { id: string; key: string };
    await expectEventually(async () => expect((await listEvents(real.key)).status).toBe(200));
    const genuine = collector.on<ApiKeyChanged>(TOPICS.catalogApiKeys).find((m) => m.value.keyId === real.id)!;
    expect(genuine.headers[HEADERS.signature]).toMatch(/^v1=[0-9a-f]{64}$/);

    const forged = {
      unsigned: madeUpKey(),
      otherSecret: madeUpKey(),
      malformed: madeUpKey(),
      tenantSwapped: madeUpKey(),
      keyMoved: madeUpKey(),
    };
    const unsigned = keyMessage('globex', forged.unsigned);
    const otherSecret = keyMessage('globex', forged.otherSecret);
    const malformed = keyMessage('globex', forged.malformed);
    // The genuine message's signature on a copy naming another tenant and a hash the attacker knows the key of.
    const tenantSwapped: ApiKeyChanged = { ...genuine.value, tenant: 'globex', keyHash: hashApiKey(forged.tenantSwapped) };
    // A signature that is genuine for its content, replayed under another Kafka key (so another projection row).
    const keyMoved = keyMessage('globex', forged.keyMoved);
    const wrongSecret = createHash('sha256').update('not the deployment secret').digest('hex');
    await suite.produce(TOPICS.catalogApiKeys, [
      { key: unsigned.keyId, value: unsigned },
      { key: otherSecret.keyId, value: otherSecret, headers: { [HEADERS.signature]: signApiKeyChange(wrongSecret, otherSecret.keyId, otherSecret) } },
      { key: malformed.keyId, value: malformed, headers: { [HEADERS.signature]: 'v1=not-hex' } },
      { key: genuine.key, value: tenantSwapped, headers: { [HEADERS.signature]: genuine.headers[HEADERS.signature] } },
      { key: 'another-key', value: keyMoved, headers: { [HEADERS.signature]: signApiKeyChange(suite.catalogSigningSecret, keyMoved.keyId, keyMoved) } },
    ]);

    const dlq = await expectEventually(() => {
      const dead = collector.on<{ reason: string; source: { topic: string } }>(dlqTopicFor(TOPICS.catalogApiKeys));
      expect(dead).toHaveLength(5);
      return dead;
    });
    const reasons = dlq.map((m) => m.value.reason);
    expect(reasons.filter((r) => r.startsWith('unsigned catalog message'))).toHaveLength(1);
    expect(reasons.filter((r) => r.startsWith('malformed tally-signature'))).toHaveLength(1);
    expect(reasons.filter((r) => r.startsWith('invalid tally-signature'))).toHaveLength(3);
    expect(dlq.every((m) => m.value.source.topic === TOPICS.catalogApiKeys)).toBe(true);

    for (const key of Object.values(forged)) {
      const res = await listEvents(key);
      expect(res.status).toBe(401);
    }
    // The genuine key is untouched by the altered copy of its message (same Kafka key, same key id).
    expect((await listEvents(real.key)).status).toBe(200);
    const projected = await suite.query<{ tenant: string }>(`SELECT tenant FROM "${suite.schema('aggregation')}".api_key_projection`);
    expect(projected).toEqual([{ tenant: 'acme' }]);

    expect((await call(ingestionUrl, 'DELETE', `/api/v1/admin/api-keys/${real.id}`, ADMIN)).status).toBe(204);
    // The projection's guard caches an answer for 5 s.
    await expectEventually(async () => expect((await listEvents(real.key)).status).toBe(401), 20_000);
  });
});
