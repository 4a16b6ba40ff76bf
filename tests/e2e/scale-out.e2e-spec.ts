import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { TOPICS } from '@tally/contracts';
import { expectEventually, TestSuite } from '@tally/testing';
import { freePort, isReady, postJson } from '../../bench/local-http';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'scale-out-admin-token-0123456789';
const CUSTOMERS = 24;
const INCLUDED = 40;
const THRESHOLDS = [50, 100];
const PARTITIONS = 4;

interface Replica {
  service: string;
  port: number;
  child: ChildProcess;
}

/**
 * Scale-out: services run as several processes of one consumer group, as a Deployment with replicas would.
 * Two aggregation and two threshold-alerting replicas share the partitions (checked on the broker), then one
 * of each is SIGKILLed under load and a third aggregation replica joins; every event is still counted once
 * and every crossed threshold alerts once, whichever replica held the partition when.
 */
describe('scale-out: replicas of one consumer group share the work and lose or double nothing', () => {
  const suite = new TestSuite();
  const replicas: Replica[] = [];

  const start = async (service: string): Promise<Replica> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps', service, 'src/main.ts')], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: suite.databaseUrl,
        KAFKA_BROKERS: suite.kafkaBrokers,
        DB_SCHEMA: suite.schema(service),
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: String(PARTITIONS),
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        ADMIN_TOKEN: ADMIN,
        INGEST_RATE_LIMIT_PER_SECOND: '1000000',
        LOG_LEVEL: 'error',
        // A SIGKILLed member holds its partitions until its session expires: keep that short.
        CONSUMER_SESSION_TIMEOUT_MS: '6000',
      },
      stdio: 'ignore',
    });
    const replica = { service, port, child };
    replicas.push(replica);
    await expectEventually(async () => {
      expect(child.exitCode).toBeNull();
      expect(await isReady(port)).toBe(true);
    }, 90_000);
    return replica;
  };

  const kill = async (replica: Replica): Promise<void> => {
    replica.child.kill('SIGKILL');
    await new Promise((r) => (replica.child.exitCode !== null || replica.child.signalCode ? r(null) : replica.child.once('exit', r)));
  };

  /** Members of a service's consumer group that hold at least one partition of `logical`, from the broker. */
  const membersHolding = async (service: string, logical: string): Promise<number> => {
    const admin = suite.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups([`${suite.topicPrefix}tally-${service}`]);
      const topic = suite.topic(logical);
      let holding = 0;
      for (const member of groups[0]?.members ?? []) {
        const assignment = member.memberAssignment;
        // Consumer protocol assignment: version, then [topic, [partition]]; enough to look for the topic's name.
        if (assignment.length > 0 && assignment.includes(Buffer.from(topic))) holding += 1;
      }
      return holding;
    } finally {
      await admin.disconnect();
    }
  };

  beforeAll(async () => {
    // The services create the topics with KAFKA_PARTITIONS partitions; the first replica of each does it.
    await start('ingestion');
    await start('billing');
    await start('aggregation');
    await start('aggregation');
    await start('threshold-alerting');
    await start('threshold-alerting');
  }, 300_000);

  afterAll(async () => {
    for (const r of replicas) if (r.child.exitCode === null && !r.child.signalCode) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => new Promise((res) => (r.child.exitCode !== null || r.child.signalCode ? res(null) : r.child.once('exit', res)))));
    await suite.cleanup();
  }, 120_000);

  it('counts every event once and alerts every crossed threshold once across a kill and a join', async () => {
    const ingestion = replicas.find((r) => r.service === 'ingestion')!;
    const billing = replicas.find((r) => r.service === 'billing')!;
    await postJson(ingestion.port, '/api/v1/admin/tenants', ADMIN, { id: 'scale', name: 'Scale' });
    const { key } = (await postJson(ingestion.port, '/api/v1/admin/tenants/scale/api-keys', ADMIN, { name: 'scale' })) as { key: string };
    await postJson(ingestion.port, '/api/v1/meters', key, { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    await expectEventually(async () => {
      await postJson(billing.port, '/api/v1/plans', key, {
        code: 'scale', name: 'Scale', interval: 'monthly', currency: 'EUR', baseFee: '0',
        charges: [{ meter: 'calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: String(INCLUDED), thresholds: THRESHOLDS, hardLimit: false }],
      });
    }, 30_000);
    for (let c = 0; c < CUSTOMERS; c++) {
      await postJson(billing.port, '/api/v1/customers', key, { id: `c${c}`, name: `Customer ${c}`, currency: 'EUR' });
      await postJson(billing.port, '/api/v1/subscriptions', key, { id: `sub-${c}`, customer: `c${c}`, plan: 'scale' });
    }
    const ta = `"${suite.schema('threshold-alerting')}"`;
    await expectEventually(async () => expect((await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ta}.entitlements`))[0].n).toBe(CUSTOMERS), 60_000);

    // Both replicas of each consumer hold partitions: the work is really split.
    await expectEventually(async () => {
      expect(await membersHolding('aggregation', TOPICS.usageEvents)).toBe(2);
      expect(await membersHolding('threshold-alerting', TOPICS.usageAggregates)).toBe(2);
    }, 60_000);

    // Customer c gets 20 + 5·(c mod 8) events (20..55: every customer crosses 50 %, some 100 %), interleaved
    // round-robin so every partition sees traffic before, during and after the kill and the join.
    const events: Array<{ id: string; customer: string }> = [];
    for (let i = 0; i < 55; i++) for (let c = 0; c < CUSTOMERS; c++) if (i < 20 + 5 * (c % 8)) events.push({ id: `e-${c}-${i}`, customer: `c${c}` });
    const send = async (batch: typeof events) => {
      const body = batch.map((e) => ({ specversion: '1.0', id: e.id, source: 'scale-out', type: 'api.call', subject: e.customer, time: new Date().toISOString(), data: { calls: 1 } }));
      const res = await fetch(`http://127.0.0.1:${ingestion.port}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(202);
    };
    const third = Math.ceil(events.length / 3);
    await send(events.slice(0, third));
    // One replica of each dies mid-stream; the other takes its partitions over after the session timeout.
    await kill(replicas.filter((r) => r.service === 'aggregation')[0]);
    await kill(replicas.filter((r) => r.service === 'threshold-alerting')[0]);
    await send(events.slice(third, 2 * third));
    // A new aggregation replica joins while events flow.
    const joining = start('aggregation');
    await send(events.slice(2 * third));
    await joining;
    // The survivor and the newcomer now share aggregation's partitions; threshold-alerting's survivor holds all.
    await expectEventually(async () => {
      expect(await membersHolding('aggregation', TOPICS.usageEvents)).toBe(2);
      expect(await membersHolding('threshold-alerting', TOPICS.usageAggregates)).toBe(1);
    }, 60_000);
    // Duplicates (a producer retrying a whole batch) are still counted once.
    await send(events.slice(0, 50));

    const expected = new Map<string, number>();
    for (const e of events) expected.set(e.customer, (expected.get(e.customer) ?? 0) + 1);
    const agg = `"${suite.schema('aggregation')}"`;
    await expectEventually(async () => {
      const rows = await suite.query<{ customer: string; v: string }>(`SELECT customer, sum(sum_value)::text AS v FROM ${agg}.window_aggregates WHERE window_kind = 'PERIOD' GROUP BY customer`);
      expect(new Map(rows.map((r) => [r.customer, Number(r.v)]))).toEqual(expected);
    }, 120_000);

    const expectedAlerts = new Set<string>();
    for (const [customer, usage] of expected) for (const t of THRESHOLDS) if (usage >= (INCLUDED * t) / 100) expectedAlerts.add(`${customer}:${t}`);
    const collector = await suite.collect([TOPICS.alertsUsageThreshold]);
    await expectEventually(async () => {
      const fired = await suite.query<{ k: string }>(`SELECT customer || ':' || substr(threshold, 9) AS k FROM ${ta}.fired_thresholds WHERE threshold LIKE 'percent:%'`);
      expect(new Set(fired.map((r) => r.k))).toEqual(expectedAlerts);
      // On the topic an alert may repeat (at-least-once relay) but only with the same alert id.
      const ids = new Map<string, Set<string>>();
      for (const m of collector.messages) {
        const v = m.value as { customer: string; threshold: string; thresholdUnit: string; eventId: string };
        if (v.thresholdUnit !== 'percent') continue;
        const k = `${v.customer}:${v.threshold}`;
        ids.set(k, (ids.get(k) ?? new Set()).add(v.eventId));
      }
      expect(new Set(ids.keys())).toEqual(expectedAlerts);
      expect([...ids.values()].filter((s) => s.size !== 1)).toEqual([]);
    }, 120_000);
  }, 600_000);
});
