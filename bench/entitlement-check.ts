/**
 * Entitlement check latency, alone: threshold-alerting in this process (real Kafka and Postgres, a private
 * topic prefix and schema, removed at the end), projections filled through Kafka, then a closed loop of
 * keep-alive requests from a worker thread (its own event loop, so the client does not queue behind the
 * server's) against the single check and the batch check, on loopback only, for a bounded time.
 *
 *   node -r ./tools/register.js bench/entitlement-check.ts [--seconds=10] [--connections=16] [--customers=2000] [--batch=100]
 *
 * Needs the local broker and Postgres (`npm run setup`); KAFKA_BROKERS / DATABASE_URL override them.
 */
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { customerMeterKey, subscriptionKey, TOPICS, type ApiKeyChanged, type SubscriptionChanged, type UsageAggregate } from '@tally/contracts';
import { createServiceApp, hashApiKey } from '@tally/nest-platform';
import { TestSuite } from '@tally/testing';
import { EntitlementProjection } from '../apps/threshold-alerting/src/entitlements/entitlement-projection';
import { thresholdAlertingService } from '../apps/threshold-alerting/src/threshold-alerting.service';

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  const value = found ? Number(found.split('=')[1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
};
const SECONDS = Math.min(arg('seconds', 10), 120);
const CONNECTIONS = Math.min(arg('connections', 16), 256);
const CUSTOMERS = Math.min(arg('customers', 2000), 100_000);
const BATCH = Math.min(arg('batch', 100), 1000);
const KEY = 'bench-entitlement-key';

/** The load loop, as plain JS for the worker: `connections` requests in flight, each starting when the last ended. */
const LOAD_LOOP = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, key, seconds, connections, customers, batch } = workerData;
async function run(kind) {
  const latencies = [];
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  let seq = 0;
  const one = async () => {
    while (Date.now() < end) {
      const n = seq++;
      const started = process.hrtime.bigint();
      const res = kind === 'single'
        ? await fetch(url + '/api/v1/entitlements/c-' + (n % customers) + '/api-calls', { headers: { authorization: 'Bearer ' + key } })
        : await fetch(url + '/api/v1/entitlements/check', {
            method: 'POST',
            headers: { authorization: 'Bearer ' + key, 'content-type': 'application/json' },
            body: JSON.stringify({ checks: Array.from({ length: batch }, (_, i) => ({ customer: 'c-' + ((n * batch + i) % customers), meter: 'api-calls' })) }),
          });
      await res.arrayBuffer();
      latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (res.status !== 200) errors++;
    }
  };
  await Promise.all(Array.from({ length: connections }, one));
  return { latencies, errors };
}
(async () => parentPort.postMessage({ single: await run('single'), batch: await run('batch') }))();
`;

interface LoopResult {
  latencies: number[];
  errors: number;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const summary = (r: LoopResult) => {
  const sorted = [...r.latencies].sort((a, b) => a - b);
  return { requests: sorted.length, perSecond: Math.round(sorted.length / SECONDS), errors: r.errors, p50: +percentile(sorted, 50).toFixed(2), p99: +percentile(sorted, 99).toFixed(2) };
};

async function main(): Promise<void> {
  process.env.KAFKA_BROKERS ??= '127.0.0.1:9092';
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/tally_test';
  process.env.LOG_LEVEL ??= 'warn';
  const suite = new TestSuite();
  const periodStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
  const periodEnd = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1)).toISOString();
  try {
    await suite.createTopics();
    const key: ApiKeyChanged = { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', keyId: randomUUID(), keyHash: hashApiKey(KEY), revoked: false };
    await suite.produce(TOPICS.catalogApiKeys, [suite.signedApiKeyMessage('k', key)]);
    const service = await createServiceApp(thresholdAlertingService, suite.serviceConfig(thresholdAlertingService, { API_READ_RATE_LIMIT_PER_SECOND: '1000000' }));
    try {
      await service.app.listen(0, '127.0.0.1');
      const url = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
      const customers = Array.from({ length: CUSTOMERS }, (_, i) => `c-${i}`);
      for (let i = 0; i < customers.length; i += 500) {
        const slice = customers.slice(i, i + 500);
        await suite.produce(TOPICS.billingSubscriptions, slice.map((c) => ({
          key: subscriptionKey('acme', c, 'sub'),
          value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: c, subscriptionId: 'sub', plan: 'pro', status: 'active', periodStart, periodEnd,
            entitlements: [{ meter: 'api-calls', included: '1000', thresholds: [50, 75, 90, 100], hardLimit: true }] } satisfies SubscriptionChanged,
        })));
        await suite.produce(TOPICS.usageAggregates, slice.map((c, j) => ({
          key: customerMeterKey('acme', c, 'api-calls'),
          value: { eventId: randomUUID(), occurredAt: new Date().toISOString(), tenant: 'acme', customer: c, meter: 'api-calls', windowKind: 'PERIOD', windowStart: periodStart, windowEnd: periodEnd,
            value: String((i + j) % 1200), eventCount: 1, lastEventTime: new Date().toISOString(), version: 1 } satisfies UsageAggregate,
        })));
      }
      const projection = service.app.get(EntitlementProjection);
      const deadline = Date.now() + 120_000;
      while (projection.size < CUSTOMERS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      if (projection.size < CUSTOMERS) throw new Error(`only ${projection.size} of ${CUSTOMERS} customer-meters projected after 120 s`);

      const result = await new Promise<{ single: LoopResult; batch: LoopResult }>((resolve, reject) => {
        const worker = new Worker(LOAD_LOOP, { eval: true, workerData: { url, key: KEY, seconds: SECONDS, connections: CONNECTIONS, customers: CUSTOMERS, batch: BATCH } });
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      const report = { node: process.version, seconds: SECONDS, connections: CONNECTIONS, customers: CUSTOMERS, batchSize: BATCH, single: summary(result.single), batch: summary(result.batch) };
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      if (result.single.errors + result.batch.errors > 0) process.exitCode = 1;
    } finally {
      await service.app.close();
    }
  } finally {
    await suite.cleanup();
  }
}

void main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
