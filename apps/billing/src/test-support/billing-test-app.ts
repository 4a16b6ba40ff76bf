import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { createServiceApp, hashApiKey, type ServiceApp } from '@tally/nest-platform';
import { expectEventually, type TestSuite, type TopicCollector } from '@tally/testing';
import { billingService } from '../billing.service';

/**
 * The billing integration specs' shared start: billing on real Kafka and Postgres with API keys for some
 * tenants, listening on a free port, with a collector on the topics the spec reads, and an HTTP client.
 * Not a spec itself (jest matches `*.integration-spec.ts` only).
 */
export interface BillingTestApp {
  service: ServiceApp;
  base: string;
  collector: TopicCollector;
  /** A request as a tenant (the first key unless `key`), with a JSON body and `Accept: application/json` unless `headers` say otherwise. */
  request(method: string, path: string, options?: { body?: unknown; headers?: Record<string, string>; key?: string }): Promise<Response>;
  get(path: string, key?: string): Promise<Response>;
  post(path: string, body: unknown, key?: string): Promise<Response>;
}

export const json = async <T>(res: Response | Promise<Response>): Promise<T> => (await (await res).json()) as T;

/**
 * Starts billing with the job timer left to the test (explicit clocks: `BILLING_JOB_INTERVAL_MS` one hour) and a
 * one-hour grace period unless `config` says otherwise; returns once every tenant's key is accepted.
 */
export async function startBillingApp(
  suite: TestSuite,
  options: { keys: Array<{ tenant: string; key: string }>; collect: string[]; config?: Record<string, string> },
): Promise<BillingTestApp> {
  await suite.createTopics();
  for (const { tenant, key } of options.keys) {
    const value: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant, keyId: randomUUID(), keyHash: hashApiKey(key), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage(tenant, value)]);
  }
  const service = await createServiceApp(billingService, suite.serviceConfig(billingService, { BILLING_GRACE_PERIOD_HOURS: '1', BILLING_JOB_INTERVAL_MS: '3600000', ...options.config }));
  await service.app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
  const collector = await suite.collect(options.collect);
  const defaultKey = options.keys[0].key;
  const request: BillingTestApp['request'] = (method, path, { body, headers = {}, key = defaultKey } = {}) =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const app: BillingTestApp = {
    service,
    base,
    collector,
    request,
    get: (path, key) => request('GET', path, { key }),
    post: (path, body, key) => request('POST', path, { body, key }),
  };
  for (const { key } of options.keys) await expectEventually(async () => expect((await app.get('/api/v1/plans', key)).status).toBe(200));
  return app;
}

/** Closes billing (when it started) and removes the suite's topics and schemas. */
export async function stopBillingApp(app: BillingTestApp | undefined, suite: TestSuite): Promise<void> {
  await app?.service.app.close();
  await suite.cleanup();
}
