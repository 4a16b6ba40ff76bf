// The chaos run: usage flows through all five services while they are SIGKILLed and restarted, Postgres
// connections are terminated and (optionally) the broker restarts; meanwhile subscriptions are created
// through billing's API, each an anniversary subscription backdated a month, so billing rolls and closes
// those periods (one invoice each) while it is being killed. Some events are sent with times in that first
// period, before and after their subscription exists, so aggregation re-buckets usage (ADR 0006) under the
// same faults. Then everything drains and the run checks that nothing was lost or counted twice, that every
// threshold alert fired exactly once and that every period was invoiced once; finally every subscription is
// canceled, and billing's reconciliation must show every closed period's ledger units = units invoiced.
// Poison messages (chaos-poison.ts) are produced among the good ones on the same keys, in every codec, to the
// raw topic and straight to usage.events.v1: each must end in the DLQ with its reason while readiness stays
// 200 and every good event is still counted exactly once.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Client } from 'pg';
import { HEADERS, TOPICS } from '@tally/contracts';
import { KAFKA_COMPRESSIONS, KAFKAJS_COMPRESSION_TYPES, nodeCanCompress, registerKafkajsCodecs, type DeadLetterValue, type KafkaCompression } from '@tally/kafka';
import {
  checkDeadLetterMetrics,
  checkDeadLetters,
  parseDeadLetterMetrics,
  POISON_KINDS,
  POISON_TAG_HEADER,
  sha256,
  SOURCE_TOPIC_MAX_MESSAGE_BYTES,
  type InjectedPoison,
  type PoisonKind,
} from './chaos-poison';
import { freePort, getJson, isReady, postJson } from './local-http';

const ROOT = path.resolve(__dirname, '..');
const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'] as const;
type Service = (typeof SERVICES)[number];
// Ingestion too: its raw path produces directly (at least once), so a kill between its send and its commit resends.
const KILLABLE: Service[] = ['aggregation', 'threshold-alerting', 'billing', 'ingestion'];
const ADMIN = 'chaos-admin-token-0123456789';
// One secret for the whole run: services restarted by the chaos must still verify the keys signed before.
const CATALOG_SIGNING_SECRET = 'chaos-catalog-signing-secret-0123456789abcdef';
const THRESHOLDS = [50, 75, 90, 100];

export interface ChaosOptions {
  kafkaBrokers: string;
  databaseUrl: string;
  events: number;
  customers: number;
  ratePerSecond: number;
  serviceKills: number;
  restartBroker: boolean;
  terminatePostgres: boolean;
  seed: number;
  /** Rounds of every poison kind spread over the load (default 1); a last round always follows the faults. 0: no poison. */
  poisonRounds?: number;
  log?: (msg: string) => void;
}

export interface ChaosReport {
  faults: Array<{ atSeconds: number; fault: string }>;
  checks: Array<{ check: string; passed: boolean; detail: string }>;
  passed: boolean;
}



/** Retries a call that fails while a service is down or restarting. */
async function retry<T>(call: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
}

class Stack {
  private readonly procs = new Map<Service, { child: ChildProcess; port: number }>();
  /** When each service's current process was spawned: no earlier process can consume what is sent after it. */
  readonly spawnedAt = new Map<Service, number>();
  /** Services between "ready" after a start and the next kill: their readiness must answer 200. */
  readonly up = new Set<Service>();

  constructor(
    private readonly runId: string,
    private readonly o: ChaosOptions,
  ) {}

  port(service: Service): number {
    return this.procs.get(service)!.port;
  }

  /** Starts (or restarts) a service and waits until it is ready, retrying while Kafka or Postgres is away. */
  async start(service: Service): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const port = this.procs.get(service)?.port ?? (await freePort());
      const child = spawn(process.execPath, ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps', service, 'src/main.ts')], {
        cwd: ROOT,
        env: {
          ...process.env,
          PORT: String(port),
          DATABASE_URL: this.o.databaseUrl,
          KAFKA_BROKERS: this.o.kafkaBrokers,
          DB_SCHEMA: `${this.runId}_${service.replace(/-/g, '_')}`,
          KAFKA_TOPIC_PREFIX: `${this.runId}.`,
          KAFKA_PARTITIONS: '3',
          ADMIN_TOKEN: ADMIN,
          CATALOG_SIGNING_SECRET,
          // Events of the backdated first period are up to a month and a day old.
          INGEST_MAX_LATENESS_HOURS: String(40 * 24),
          INGEST_RATE_LIMIT_PER_SECOND: '1000000',
          LOG_LEVEL: 'error',
          // A SIGKILLed member holds its partitions until this expires; keep the outage short.
          CONSUMER_SESSION_TIMEOUT_MS: '6000',
          // Billing closes ended periods at once and often, so closes happen while it is being killed.
          BILLING_JOB_INTERVAL_MS: '300',
          BILLING_GRACE_PERIOD_HOURS: '0',
        },
        stdio: 'ignore',
      });
      this.procs.set(service, { child, port });
      this.spawnedAt.set(service, Date.now());
      for (let i = 0; i < 240 && child.exitCode === null; i++) {
        if (await isReady(port)) {
          this.up.add(service);
          return;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      child.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 1000));
    }
    throw new Error(`${service} did not become ready`);
  }

  async kill(service: Service): Promise<void> {
    const proc = this.procs.get(service);
    if (!proc) return;
    this.up.delete(service);
    proc.child.kill('SIGKILL');
    await new Promise((r) => (proc.child.exitCode !== null || proc.child.signalCode ? r(null) : proc.child.once('exit', r)));
  }

  async stopAll(): Promise<void> {
    this.up.clear();
    for (const { child } of this.procs.values()) child.kill('SIGTERM');
    await Promise.all([...this.procs.values()].map(({ child }) => new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)))));
  }
}


export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const log = o.log ?? (() => undefined);
  const runId = `chaos${Date.now().toString(36)}`;
  const kafka = new Kafka({ clientId: runId, brokers: o.kafkaBrokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 30 } });
  const db = new Client({ connectionString: o.databaseUrl });
  await db.connect();
  const stack = new Stack(runId, o);
  const faults: ChaosReport['faults'] = [];
  const checks: ChaosReport['checks'] = [];
  let random = o.seed >>> 0;
  const rand = () => ((random = (Math.imul(random, 1664525) + 1013904223) >>> 0) / 4294967296);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // kafkajs knows only gzip by itself; the others come from @tally/kafka (module-wide, for every client here).
  registerKafkajsCodecs();
  const codecs: KafkaCompression[] = KAFKA_COMPRESSIONS.filter((c) => nodeCanCompress(c));
  if (!codecs.includes('zstd')) {
    log(`zstd: not produced on Node ${process.version} (compressing needs Node >= 22.15); reading it is covered by the Java producer test in libs/kafka/src/lib/compression`);
  }
  let monitoring = false;
  let monitor: Promise<void> | undefined;
  try {
    // The two source topics take records up to 4 MiB (their DLQ keeps the broker's 1 MiB), so oversized poison
    // gets in and its dead letter fits only as a cut copy. The services find them created.
    const setupAdmin = kafka.admin();
    await setupAdmin.connect();
    await setupAdmin.createTopics({
      waitForLeaders: true,
      topics: [TOPICS.usageEventsRaw, TOPICS.usageEvents].map((t) => ({
        topic: `${runId}.${t}`,
        numPartitions: 3,
        configEntries: [
          { name: 'min.insync.replicas', value: '1' },
          { name: 'max.message.bytes', value: String(SOURCE_TOPIC_MAX_MESSAGE_BYTES) },
        ],
      })),
    });
    await setupAdmin.disconnect();
    log(`starting the five services (${runId})`);
    for (const s of SERVICES) await stack.start(s);
    await postJson(stack.port('ingestion'), '/api/v1/admin/tenants', ADMIN, { id: 'chaos', name: 'Chaos' });
    const { key } = (await postJson(stack.port('ingestion'), '/api/v1/admin/tenants/chaos/api-keys', ADMIN, { name: 'chaos' })) as { key: string };
    await postJson(stack.port('ingestion'), '/api/v1/meters', key, { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });

    // Billing's catalog: a plan with 40 calls included and a base fee of 10, and the customers.
    const billing = (pathname: string, body: unknown, idempotencyKey?: string) => postJson(stack.port('billing'), pathname, key, body, idempotencyKey);
    await retry(() => billing('/api/v1/plans', {
      code: 'chaos', name: 'Chaos', interval: 'monthly', currency: 'EUR', baseFee: '10',
      charges: [{ meter: 'calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '40', thresholds: THRESHOLDS, hardLimit: false }],
    }), 60_000);
    for (let i = 0; i < o.customers; i++) await retry(() => billing('/api/v1/customers', { id: `c${i}`, name: `Customer ${i}`, currency: 'EUR' }), 60_000);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const started = Date.now();
    const elapsed = () => Math.round((Date.now() - started) / 100) / 10;

    // Readiness of every live service, twice a second for the whole run: a poison message must never turn it
    // to 503. A killed service is down, not counted; nor is any service while the broker restarts (and 30 s after).
    const readiness = { samples: new Map<Service, number>(), excluded: 0, violations: [] as string[] };
    let brokerAway = false;
    let brokerBackAt = 0;
    monitoring = true;
    monitor = (async () => {
      while (monitoring) {
        await Promise.all(
          [...stack.up].map(async (service) => {
            const spawned = stack.spawnedAt.get(service);
            const status = await fetch(`http://127.0.0.1:${stack.port(service)}/health/ready`, { signal: AbortSignal.timeout(10_000) }).then(
              (r) => r.status,
              (e: Error) => `${e.name}`,
            );
            if (!stack.up.has(service) || stack.spawnedAt.get(service) !== spawned) return; // killed meanwhile
            if (brokerAway || Date.now() < brokerBackAt + 30_000) {
              readiness.excluded += 1;
              return;
            }
            readiness.samples.set(service, (readiness.samples.get(service) ?? 0) + 1);
            if (status !== 200) readiness.violations.push(`${service} ${status} at ${elapsed()} s`);
          }),
        );
        await sleep(500);
      }
    })();

    // Poison: each kind sent alone (its offset is known from the acknowledgement), on a customer's key, in
    // the codecs in turn, between the good batches; the last round follows the faults (see below).
    const injected: InjectedPoison[] = [];
    let poisonSent = 0;
    const sendPoison = async (kind: PoisonKind, round: string) => {
      const n = poisonSent++;
      const codec = codecs[n % codecs.length];
      const tag = `${round}#${n}`;
      const m = kind.build(`c${Math.floor(rand() * o.customers)}`, tag, 'chaos');
      const topic = kind.source === 'raw' ? TOPICS.usageEventsRaw : TOPICS.usageEvents;
      for (;;) {
        const sendStartedAt = Date.now();
        try {
          const [ack] = await producer.send({
            topic: `${runId}.${topic}`,
            acks: -1,
            compression: KAFKAJS_COMPRESSION_TYPES[codec],
            messages: [{ key: m.key, value: m.value, headers: { ...m.headers, [POISON_TAG_HEADER]: tag } }],
          });
          injected.push({ tag, kind, topic, partition: ack.partition, offset: ack.baseOffset ?? '', codec, valueSize: m.value.length, valueSha256: sha256(m.value), sentAt: sendStartedAt });
          return;
        } catch {
          await sleep(500); // the broker may be restarting; a send that got in all the same is a second poison message
        }
      }
    };
    const poisonRounds = o.poisonRounds ?? 1;
    const batchSize = Math.max(1, Math.round(o.ratePerSecond / 20));
    const batches = Math.ceil(o.events / batchSize);
    const poisonPlan = Array.from({ length: poisonRounds }, (_, r) => POISON_KINDS.map((kind) => ({ kind, round: `r${r}`, order: rand() })))
      .flat()
      .sort((a, b) => a.order - b.order)
      .map((p, i, all) => ({ ...p, afterBatch: Math.floor(((i + 1) * batches) / (all.length + 1)) }));
    // Anniversary subscriptions backdated one month (day clamped to 28, so the anniversary exists in every
    // month): the first period [firstStart, secondStart) is closed, the second holds now. Its bounds are not
    // UTC months, so events counted before the subscription sit in calendar-month windows that re-bucketing
    // must split (the first period's days of last month and of this month, and this month's after the anniversary).
    const now = new Date();
    const anniversary = Math.min(now.getUTCDate(), 28);
    const firstStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, anniversary));
    const secondStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), anniversary));

    /** Where the poison went: the DLQ, each service's dead-letter counters, and no parked outbox row. */
    const poisonChecks = async () => {
      const deadLetters: DeadLetterValue[] = [];
      const dlqConsumer = kafka.consumer({ groupId: `${runId}-verify-dlq`, maxBytesPerPartition: 8 * 1024 * 1024 });
      await dlqConsumer.connect();
      await dlqConsumer.subscribe({ topic: `${runId}.${TOPICS.usageEventsDlq}`, fromBeginning: true });
      await dlqConsumer.run({ eachMessage: async ({ message }) => void deadLetters.push(JSON.parse(message.value!.toString()) as DeadLetterValue) });
      const where = (topic: string, partition: number, offset: string) => `${topic}/${partition}/${offset}`;
      const dlqDeadline = Date.now() + 90_000;
      for (;;) {
        const seen = new Set(deadLetters.map((d) => where(d.source.topic, d.source.partition, d.source.offset)));
        if (injected.every((p) => seen.has(where(p.topic, p.partition, p.offset))) || Date.now() > dlqDeadline) break;
        await sleep(300);
      }
      await sleep(1000); // a dead letter that should not be there (a good event) has the time to show up too
      await dlqConsumer.disconnect();
      const results = checkDeadLetters(injected, deadLetters);
      for (const service of SERVICES) {
        const page = await fetch(`http://127.0.0.1:${stack.port(service)}/metrics`).then((r) => r.text());
        const consumes = service === 'ingestion' ? TOPICS.usageEventsRaw : service === 'aggregation' ? TOPICS.usageEvents : undefined;
        results.push(checkDeadLetterMetrics(service, parseDeadLetterMetrics(page), injected.filter((p) => p.topic === consumes), stack.spawnedAt.get(service) ?? 0));
      }
      const parked: string[] = [];
      for (const s of SERVICES) {
        const schema = `"${runId}_${s.replace(/-/g, '_')}"`;
        const rows: Array<{ topic: string; n: number }> = await db.query(`SELECT topic, count(*)::int AS n FROM ${schema}.outbox WHERE parked_at IS NOT NULL GROUP BY topic`).then((r) => r.rows);
        for (const r of rows) parked.push(`${s}: ${r.n} on ${r.topic}`);
      }
      results.push({ check: 'outbox: no row parked (every dead letter fit the broker)', passed: parked.length === 0, detail: parked.length ? parked.join(', ') : `${SERVICES.length} services` });
      return results;
    };

    // Load at a fixed rate, with faults at random moments inside it. Units per customer: all of them, and
    // those with times in the closed first period (capped at 19, below the first alert threshold, 50 % of the
    // 40 included, so that period never alerts and the alert checks stay about the running period).
    const expected = new Map<string, number>();
    const expectedFirst = new Map<string, number>();
    const FIRST_PERIOD_CAP = 19;
    const durationMs = (o.events / o.ratePerSecond) * 1000;
    const schedule: Array<{ at: number; fault: string }> = [];
    for (let i = 0; i < o.serviceKills; i++) schedule.push({ at: rand() * durationMs * 0.8, fault: `SIGKILL ${KILLABLE[i % KILLABLE.length]}` });
    if (o.terminatePostgres) schedule.push({ at: rand() * durationMs * 0.8, fault: 'terminate Postgres connections' });
    if (o.restartBroker) schedule.push({ at: durationMs * 0.5, fault: 'restart broker' });
    schedule.sort((a, b) => a.at - b.at);
    const restarts: Array<Promise<void>> = [];
    // A kill aimed at a service that is still coming back waits for it, so every kill listed hits a live process.
    const comingBack = new Map<Service, Promise<void>>();
    const brokerScript = (command: string) =>
      new Promise<void>((resolve) => spawn(process.execPath, [path.join(ROOT, 'tools/kafka.js'), command], { stdio: 'ignore' }).once('exit', () => resolve()));
    // Subscriptions arrive under load, through billing's API (retried while billing is down: the create is
    // idempotent by id). Each started a month ago, so billing rolls it and invoices its first period.
    const subscribing = (async () => {
      await new Promise((r) => setTimeout(r, durationMs * 0.1));
      for (let i = 0; i < o.customers; i++) {
        await retry(() => billing('/api/v1/subscriptions', { id: `sub-${i}`, customer: `c${i}`, plan: 'chaos', billingTime: 'anniversary', startAt: firstStart.toISOString() }), 120_000);
      }
    })();
    const injector = (async () => {
      for (const f of schedule) {
        const wait = started + f.at - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const service = f.fault.startsWith('SIGKILL') ? (f.fault.split(' ')[1] as Service) : undefined;
        if (service) await comingBack.get(service);
        faults.push({ atSeconds: elapsed(), fault: f.fault });
        log(`fault: ${f.fault}`);
        if (service) {
          await stack.kill(service);
          // Restarted in the background so the next fault still lands under load.
          const restart = new Promise((r) => setTimeout(r, 500)).then(() => stack.start(service));
          comingBack.set(service, restart.catch(() => undefined));
          restarts.push(restart);
        } else if (f.fault.startsWith('terminate')) {
          await db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE $1`, [`%:${runId}\\_%`]);
        } else {
          // Not spawnSync: the load generator keeps producing (and retrying) while the broker is away.
          brokerAway = true;
          await brokerScript('stop');
          await brokerScript('ensure');
          brokerBackAt = Date.now();
          brokerAway = false;
        }
      }
    })();
    let sent = 0;
    const codecCount = new Map<string, number>();
    for (let i = 0, batch = 0; i < o.events; i += batchSize, batch++) {
      const due = started + (i / o.ratePerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const messages = [];
      for (let j = i; j < Math.min(o.events, i + batchSize); j++) {
        const customer = `c${Math.floor(rand() * o.customers)}`;
        const calls = 1 + Math.floor(rand() * 3);
        expected.set(customer, (expected.get(customer) ?? 0) + calls);
        // One event in ten (until the customer's cap) belongs to the closed first period, at a random time in it.
        const late = rand() < 0.1 && (expectedFirst.get(customer) ?? 0) + calls <= FIRST_PERIOD_CAP;
        const at = rand();
        if (late) expectedFirst.set(customer, (expectedFirst.get(customer) ?? 0) + calls);
        const time = late ? new Date(firstStart.getTime() + Math.floor(at * (secondStart.getTime() - firstStart.getTime()))) : new Date();
        const event = { specversion: '1.0', id: `ev-${j}`, source: 'chaos', type: 'api.call', subject: customer, time: time.toISOString(), data: { calls } };
        messages.push({ key: customer, value: JSON.stringify(event), headers: { [HEADERS.tenant]: 'chaos' } });
        // 2 % resent, as a producer retrying after a timeout would.
        if (rand() < 0.02) messages.push({ key: customer, value: JSON.stringify(event), headers: { [HEADERS.tenant]: 'chaos' } });
      }
      // Good batches in every codec too, one after the other on each partition.
      const codec = codecs[batch % codecs.length];
      codecCount.set(codec, (codecCount.get(codec) ?? 0) + 1);
      for (;;) {
        try {
          await producer.send({ topic: `${runId}.${TOPICS.usageEventsRaw}`, acks: -1, compression: KAFKAJS_COMPRESSION_TYPES[codec], messages });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 500)); // the broker may be restarting
        }
      }
      sent += messages.length;
      while (poisonPlan.length > 0 && poisonPlan[0].afterBatch <= batch) {
        const p = poisonPlan.shift()!;
        await sendPoison(p.kind, p.round);
      }
    }
    for (const p of poisonPlan.splice(0)) await sendPoison(p.kind, p.round);
    await injector;
    await Promise.all(restarts);
    await subscribing;
    // The last round after every restart, so each service's last process meets every kind (its metrics are
    // checked), followed by one good event per customer: events after poison on every key are counted too.
    let uniqueEvents = o.events;
    if (poisonRounds > 0) {
      for (const kind of POISON_KINDS) await sendPoison(kind, 'last');
      const tail = Array.from({ length: o.customers }, (_, c) => {
        const customer = `c${c}`;
        expected.set(customer, (expected.get(customer) ?? 0) + 1);
        const event = { specversion: '1.0', id: `ev-tail-${c}`, source: 'chaos', type: 'api.call', subject: customer, time: new Date().toISOString(), data: { calls: 1 } };
        return { key: customer, value: JSON.stringify(event), headers: { [HEADERS.tenant]: 'chaos' } };
      });
      await producer.send({ topic: `${runId}.${TOPICS.usageEventsRaw}`, acks: -1, messages: tail });
      sent += tail.length;
      uniqueEvents += tail.length;
    }
    log(
      `sent ${sent} messages (${uniqueEvents} unique events; batches by codec: ${[...codecCount].map(([c, n]) => `${c} ${n}`).join(', ')}) ` +
        `and ${injected.length} poison messages; draining`,
    );
    const entitlementRows = async () => Number((await db.query(`SELECT count(*) AS n FROM "${runId}_threshold_alerting".entitlements`)).rows[0].n);
    const entitlementDeadline = Date.now() + 120_000;
    while ((await entitlementRows()) < o.customers && Date.now() < entitlementDeadline) await new Promise((r) => setTimeout(r, 200));

    const agg = `"${runId}_aggregation"`;
    const drainDeadline = Date.now() + 180_000;
    const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
    while ((await count(`SELECT count(*) AS n FROM ${agg}.event_ids`)) < uniqueEvents && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 500));

    const totals = new Map<string, number>(
      (await db.query(`SELECT customer, sum(sum_value)::text AS v FROM ${agg}.window_aggregates WHERE window_kind = 'PERIOD' GROUP BY customer`)).rows.map(
        (r: { customer: string; v: string }) => [r.customer, Number(r.v)],
      ),
    );
    const diff = (got: Map<string, number>) => [...new Set([...expected.keys(), ...got.keys()])].filter((c) => expected.get(c) !== got.get(c));
    const aggDiff = diff(totals);
    checks.push({ check: 'aggregation: every accepted event counted exactly once', passed: aggDiff.length === 0, detail: aggDiff.length ? `${aggDiff.length} customers differ, e.g. ${aggDiff.slice(0, 3).map((c) => `${c}: expected ${expected.get(c)}, got ${totals.get(c)}`).join('; ')}` : `${uniqueEvents} events, ${expected.size} customers` });

    // Downstream projections converge after the aggregates drain through the outbox.
    // Alerts are about the running period: its usage is everything but the first period's.
    const expectedAlerts = new Set<string>();
    for (const [customer, usage] of expected) for (const t of THRESHOLDS) if (usage - (expectedFirst.get(customer) ?? 0) >= (40 * t) / 100) expectedAlerts.add(`${customer}:${t}`);
    // Over all of a customer's PERIOD windows (the two periods, and the emptied calendar-month ones at 0).
    const billingUsage = async () =>
      new Map<string, number>(
        (await db.query(`SELECT customer, sum(value)::text AS v FROM "${runId}_billing".period_usage GROUP BY customer`)).rows.map((r: { customer: string; v: string }) => [r.customer, Number(r.v)]),
      );
    const fired = async () => new Set<string>((await db.query(`SELECT customer || ':' || substr(threshold, 9) AS k FROM "${runId}_threshold_alerting".fired_thresholds WHERE threshold LIKE 'percent:%'`)).rows.map((r: { k: string }) => r.k));
    const settleDeadline = Date.now() + 60_000;
    while (Date.now() < settleDeadline && (diff(await billingUsage()).length > 0 || (await fired()).size < expectedAlerts.size)) await new Promise((r) => setTimeout(r, 500));
    const billDiff = diff(await billingUsage());
    checks.push({ check: 'billing: period usage equals the events sent', passed: billDiff.length === 0, detail: billDiff.length ? `${billDiff.length} customers differ` : `${expected.size} customers` });
    const firedNow = await fired();
    const missing = [...expectedAlerts].filter((a) => !firedNow.has(a));
    const extra = [...firedNow].filter((a) => !expectedAlerts.has(a));
    checks.push({ check: 'threshold-alerting: every crossed threshold fired, none wrongly', passed: missing.length === 0 && extra.length === 0, detail: `${expectedAlerts.size} expected, ${missing.length} missing, ${extra.length} extra` });

    // On the topic, an alert may repeat (at-least-once relay) but only with the same event id.
    const consumer = kafka.consumer({ groupId: `${runId}-verify` });
    const onTopic = new Map<string, number>();
    const distinctIds = new Set<string>();
    await consumer.connect();
    await consumer.subscribe({ topic: `${runId}.${TOPICS.alertsUsageThreshold}`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const a = JSON.parse(message.value!.toString());
        distinctIds.add(a.eventId);
        const k = `${a.customer}:${a.thresholdPercent}`;
        onTopic.set(k, (onTopic.get(k) ?? 0) + 1);
      },
    });
    const topicDeadline = Date.now() + 30_000;
    while (Date.now() < topicDeadline && onTopic.size < expectedAlerts.size) await new Promise((r) => setTimeout(r, 300));
    await consumer.disconnect();
    const topicMissing = [...expectedAlerts].filter((a) => !onTopic.has(a));
    checks.push({
      check: 'alerts.usage-threshold.v1: each alert published, one event id per alert',
      passed: topicMissing.length === 0 && distinctIds.size === onTopic.size,
      detail: `${onTopic.size} alerts, ${[...onTopic.values()].reduce((s, n) => s + n, 0) - onTopic.size} redelivered copies, ${topicMissing.length} missing`,
    });
    // Every subscription's first period invoiced exactly once: the base fee, and its usage above the 40 included
    // at 0.01 (the units on the invoice; units counted after it was final are the next invoice's adjustment).
    const invoiceRows: Array<{ subscription_id: string; n: string; statuses: string; totals: string; units: string }> = [];
    const invoiceDeadline = Date.now() + 60_000;
    for (;;) {
      invoiceRows.splice(0, invoiceRows.length, ...(await db.query(
        `SELECT i.subscription_id, count(*)::text AS n, string_agg(i.status, ',') AS statuses, string_agg(i.total::text, ',') AS totals,
           COALESCE(sum(b.units), 0)::text AS units
         FROM "${runId}_billing".invoices i
         LEFT JOIN "${runId}_billing".billed_usage b ON b.tenant = i.tenant AND b.document_id = i.invoice_id AND b.document_kind = 'invoice'
         WHERE i.period_start = $1 AND i.kind = 'period' GROUP BY i.subscription_id`,
        [firstStart],
      )).rows);
      if (invoiceRows.filter((r) => r.statuses === 'finalized').length >= o.customers || Date.now() > invoiceDeadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const firstTotal = (units: number) => (1000 + Math.max(0, units - 40)) / 100;
    const badInvoices = invoiceRows.filter((r) => r.n !== '1' || r.statuses !== 'finalized' || Number(r.totals) !== firstTotal(Number(r.units)));
    checks.push({
      check: 'billing: every ended period invoiced exactly once, for the right amount',
      passed: invoiceRows.length === o.customers && badInvoices.length === 0,
      detail: `${invoiceRows.length} of ${o.customers} subscriptions invoiced${badInvoices.length ? `; wrong: ${badInvoices.slice(0, 3).map((r) => `${r.subscription_id} x${r.n} ${r.statuses} ${r.totals}`).join('; ')}` : ''}`,
    });
    const invoiceConsumer = kafka.consumer({ groupId: `${runId}-verify-invoices` });
    const finalizedEvents = new Map<string, Set<string>>();
    await invoiceConsumer.connect();
    await invoiceConsumer.subscribe({ topic: `${runId}.${TOPICS.billingInvoices}`, fromBeginning: true });
    await invoiceConsumer.run({
      eachMessage: async ({ message }) => {
        const inv = JSON.parse(message.value!.toString());
        // Issued: finalized, or paid at once when nothing is due (no payments are reported in this run).
        if (inv.status === 'finalized' || inv.status === 'paid') finalizedEvents.set(inv.invoiceId, (finalizedEvents.get(inv.invoiceId) ?? new Set()).add(inv.eventId));
      },
    });
    const invoiceTopicDeadline = Date.now() + 30_000;
    const issuedNow = async () => Number((await db.query(`SELECT count(*) AS n FROM "${runId}_billing".invoices WHERE status <> 'draft'`)).rows[0].n);
    while (Date.now() < invoiceTopicDeadline && finalizedEvents.size < Math.max(invoiceRows.length, await issuedNow())) await new Promise((r) => setTimeout(r, 300));
    await invoiceConsumer.disconnect();
    // Every invoice issued so far (the first periods' and any other), each number once.
    const numbers = (await db.query(`SELECT count(*)::int AS issued, count(DISTINCT number)::int AS n FROM "${runId}_billing".invoices WHERE status <> 'draft'`)).rows[0] as { issued: number; n: number };
    checks.push({
      check: 'billing.invoices.v1: each invoice finalized once (one event id), numbers unique',
      passed: finalizedEvents.size >= invoiceRows.length && [...finalizedEvents.values()].every((ids) => ids.size === 1) && numbers.n === numbers.issued && numbers.issued === finalizedEvents.size,
      detail: `${finalizedEvents.size} finalized invoices published, ${numbers.issued} issued, ${numbers.n} distinct numbers`,
    });

    if (poisonRounds > 0) checks.push(...(await poisonChecks()));
    monitoring = false;
    await monitor;
    const sampled = [...readiness.samples].map(([s, n]) => `${s} ${n}`).join(', ');
    checks.push({
      check: 'readiness: 200 whenever a service was up (polled every 0.5 s, poison in the stream)',
      passed: readiness.violations.length === 0 && readiness.samples.size === SERVICES.length,
      detail: `${[...readiness.samples.values()].reduce((a, n) => a + n, 0)} samples (${sampled})${readiness.excluded ? `, ${readiness.excluded} left out around the broker restart` : ''}` +
        (readiness.violations.length ? `; not ready: ${readiness.violations.slice(0, 5).join(', ')}${readiness.violations.length > 5 ? ` (+${readiness.violations.length - 5})` : ''}` : ''),
    });

    // health-scoring reads the aggregates in its own consumer group: wait for it like for the others.
    const healthRowsNow = async () => Number((await db.query(`SELECT count(*) AS n FROM "${runId}_health_scoring".customer_health WHERE scored_at IS NOT NULL`)).rows[0].n);
    const healthDeadline = Date.now() + 60_000;
    while (Date.now() < healthDeadline && (await healthRowsNow()) < expected.size) await new Promise((r) => setTimeout(r, 300));
    const healthRows = await healthRowsNow();
    checks.push({ check: 'health-scoring: every active customer scored', passed: healthRows === expected.size, detail: `${healthRows} of ${expected.size}` });

    // Reconciliation (ADR 0006): every subscription is canceled now, so both its periods close and the last
    // invoice bills whatever of the first period was counted after that one was final. Then billing's own
    // check (GET /api/v1/billing/reconciliation: per closed period and meter, ledger units = invoice +
    // adjustments − credit notes) must be clean for every period, and the units billed per customer over all
    // documents must equal the units sent.
    for (let i = 0; i < o.customers; i++) {
      await retry(() => billing(`/api/v1/subscriptions/sub-${i}/cancel`, { atPeriodEnd: false }, `chaos-cancel-${runId}-${i}`), 60_000);
    }
    const reconciliationPath = `/api/v1/billing/reconciliation?from=${encodeURIComponent(firstStart.toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`;
    type Reconciliation = { periodsAndMetersChecked: number; mismatches: Array<{ customer: string; periodStart: string; ledgerUnits: string; invoicedUnits: string; state: string }> };
    const billedPerCustomer = async () =>
      new Map<string, number>(
        (await db.query(`SELECT customer, sum(units)::text AS v FROM "${runId}_billing".billed_usage GROUP BY customer`)).rows.map((r: { customer: string; v: string }) => [r.customer, Number(r.v)]),
      );
    let reconciliation: Reconciliation = { periodsAndMetersChecked: 0, mismatches: [] };
    const reconcileDeadline = Date.now() + 90_000;
    for (;;) {
      reconciliation = (await retry(() => getJson(stack.port('billing'), reconciliationPath, key), 30_000)) as unknown as Reconciliation;
      const settled = reconciliation.periodsAndMetersChecked >= 2 * o.customers && reconciliation.mismatches.length === 0 && diff(await billedPerCustomer()).length === 0;
      if (settled || Date.now() > reconcileDeadline) break;
      await sleep(500);
    }
    checks.push({
      check: 'billing reconciliation: every closed period, ledger units = units invoiced (GET /api/v1/billing/reconciliation)',
      passed: reconciliation.periodsAndMetersChecked === 2 * o.customers && reconciliation.mismatches.length === 0,
      detail:
        `${reconciliation.periodsAndMetersChecked} closed periods x meters checked (expected ${2 * o.customers}), ${reconciliation.mismatches.length} mismatches` +
        (reconciliation.mismatches.length
          ? `, e.g. ${reconciliation.mismatches.slice(0, 3).map((m) => `${m.customer} ${m.periodStart}: ledger ${m.ledgerUnits}, invoiced ${m.invoicedUnits} (${m.state})`).join('; ')}`
          : ''),
    });
    const billed = await billedPerCustomer();
    const billedDiff = diff(billed);
    const firstUnits = [...expectedFirst.values()].reduce((a, n) => a + n, 0);
    const adjustments = Number((await db.query(`SELECT count(*) AS n FROM "${runId}_billing".billed_usage WHERE document_kind <> 'invoice'`)).rows[0].n);
    checks.push({
      check: 'billing: every unit sent invoiced exactly once, over all invoices, adjustments and credit notes',
      passed: billedDiff.length === 0,
      detail: billedDiff.length
        ? `${billedDiff.length} customers differ, e.g. ${billedDiff.slice(0, 3).map((c) => `${c}: sent ${expected.get(c)}, billed ${billed.get(c)}`).join('; ')}`
        : `${[...billed.values()].reduce((a, n) => a + n, 0)} units for ${billed.size} customers (${firstUnits} of them timed in the first periods; ${adjustments} adjustment or credit-note rows)`,
    });
    // Set by the correction job at each billing tick (every 300 ms here).
    let gauge: Array<{ state: string; value: number }> = [];
    const gaugeDeadline = Date.now() + 15_000;
    do {
      const metricsPage = await fetch(`http://127.0.0.1:${stack.port('billing')}/metrics`).then((r) => r.text());
      gauge = [...metricsPage.matchAll(/^tally_billing_reconciliation_mismatches\{state="([a-z_]+)"\} (\S+)$/gm)].map((m) => ({ state: m[1], value: Number(m[2]) }));
      if (gauge.length === 3 && gauge.every((g) => g.value === 0)) break;
      await sleep(300);
    } while (Date.now() < gaugeDeadline);
    checks.push({
      check: 'tally_billing_reconciliation_mismatches: 0 in every state',
      passed: gauge.length === 3 && gauge.every((g) => g.value === 0),
      detail: gauge.length ? gauge.map((g) => `${g.state} ${g.value}`).join(', ') : 'metric not exported',
    });
    await producer.disconnect();
    return { faults, checks, passed: checks.every((c) => c.passed) };
  } finally {
    monitoring = false;
    await monitor;
    await stack.stopAll();
    // CHAOS_KEEP_SCHEMAS=1 leaves the run's schemas for a post-mortem.
    if (!process.env.CHAOS_KEEP_SCHEMAS) for (const s of SERVICES) await db.query(`DROP SCHEMA IF EXISTS "${runId}_${s.replace(/-/g, '_')}" CASCADE`).catch(() => undefined);
    else log(`schemas kept: ${runId}_*`);
    await db.end();
    const admin = kafka.admin();
    await admin.connect().catch(() => undefined);
    const topics = (await admin.listTopics().catch(() => [] as string[])).filter((t) => t.startsWith(`${runId}.`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

export function formatReport(report: ChaosReport): string {
  const lines = ['| t (s) | fault injected |', '|---|---|', ...report.faults.map((f) => `| ${f.atSeconds} | ${f.fault} |`), '', '| check | result | detail |', '|---|---|---|'];
  for (const c of report.checks) lines.push(`| ${c.check} | ${c.passed ? 'passed' : 'FAILED'} | ${c.detail} |`);
  return lines.join('\n');
}
