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
import { alertsOfRow, compareAlerts, expectedFiring, type AlertId, type ChaosCharge, type FiredRow, type PublishedAlert } from './chaos-alerts';

const ROOT = path.resolve(__dirname, '..');
const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'] as const;
type Service = (typeof SERVICES)[number];
// Ingestion too: its raw path produces directly (at least once), so a kill between its send and its commit resends.
const KILLABLE: Service[] = ['aggregation', 'threshold-alerting', 'billing', 'ingestion'];
const ADMIN = 'chaos-admin-token-0123456789';
// One secret for the whole run: services restarted by the chaos must still verify the keys signed before.
const CATALOG_SIGNING_SECRET = 'chaos-catalog-signing-secret-0123456789abcdef';
// Alerts of the `calls` meter (SUM, 40 included at 0.01 each): percentages (one of them not whole), usage
// amounts, money spent and a step every 15 units above the last fixed unit threshold (80). Every fixed unit
// threshold is above the 19 units a customer may have in the closed first period, so that period alerts nothing.
const THRESHOLDS = [50, 75, 87.5, 100];
const CALLS: ChaosCharge = { included: '40', price: '0.01', thresholds: THRESHOLDS, hardLimit: false, absolute: ['25', '80'], spend: ['0.5', '0.75'], stepUnits: '15' };
// A gauge: `seats` (LATEST) with 10 included and an 80 % threshold. Some customers go up to 9 seats (fires),
// down to 5 (recovers: the threshold re-arms) and up to exactly 8 (fires again, generation 2), each step
// sent only once alerting has applied the one before, so no batching can skip a level.
const SEATS: ChaosCharge = { included: '10', price: '1', thresholds: [80], hardLimit: false };
const SEAT_LEVELS = [9, 5, 8];
const PLAN_METERS = 2;
/** Every fourth customer is on the plan with hard limits: its 100 % alert is `hard_limit`, not `overage`. */
const onHardPlan = (i: number) => i % 4 === 1;
const hasSeats = (i: number) => i % 5 === 2;
// Forecast customers `f<k>`: a subscription that started about 6 days ago, 8 calls on each of the last two
// UTC days and none since. Their forecast is the run-rate alone (fewer than 8 complete days): 16 units ×
// period length ÷ at most 7 days elapsed ≥ 64 ≥ 100 % of 40, with usage 16 below 90 % (and below every other
// threshold). It exists only once both days' DAY aggregates and a PERIOD usage holding them are applied (with
// less, there is no forecast, which changes nothing), and then it stays ≥ 64: it fires once, deterministically.
const FORECAST_DAY_UNITS = 8;

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
    await postJson(stack.port('ingestion'), '/api/v1/meters', key, { slug: 'seats', eventType: 'seat.count', aggregation: 'LATEST', valueProperty: '$.seats' });

    // Billing's catalog: two plans with a base fee of 10, 40 calls and 10 seats included, their alerts (the
    // second with hard limits), and the customers.
    const billing = (pathname: string, body: unknown, idempotencyKey?: string) => postJson(stack.port('billing'), pathname, key, body, idempotencyKey);
    const planCharge = (meter: string, c: ChaosCharge, hardLimit: boolean) => ({
      meter, model: 'standard', properties: { amount: c.price }, includedUnits: c.included, thresholds: c.thresholds, hardLimit,
      ...(c.absolute || c.spend || c.stepUnits ? { alerts: { absolute: c.absolute, spend: c.spend, stepUnits: c.stepUnits } } : {}),
    });
    for (const [code, hardLimit] of [['chaos', false], ['chaos-hard', true]] as const) {
      await retry(() => billing('/api/v1/plans', {
        code, name: code, interval: 'monthly', currency: 'EUR', baseFee: '10',
        charges: [planCharge('calls', CALLS, hardLimit), planCharge('seats', SEATS, false)],
      }), 60_000);
    }
    for (let i = 0; i < o.customers; i++) await retry(() => billing('/api/v1/customers', { id: `c${i}`, name: `Customer ${i}`, currency: 'EUR' }), 60_000);
    const forecastCustomers = Array.from({ length: Math.max(1, Math.round(o.customers / 20)) }, (_, k) => `f${k}`);
    for (const f of forecastCustomers) await retry(() => billing('/api/v1/customers', { id: f, name: `Forecast ${f}`, currency: 'EUR' }), 60_000);
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
    // The forecast customers' period: from 6 days ago, or from the 1st of this month when that day is past the
    // 28th (3 to 5 days ago then: still the forecast's minimum of 3 days elapsed, and both history days inside).
    const sixDaysAgo = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 6));
    const forecastStart = sixDaysAgo.getUTCDate() > 28 ? new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)) : sixDaysAgo;

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
        await retry(() => billing('/api/v1/subscriptions', { id: `sub-${i}`, customer: `c${i}`, plan: onHardPlan(i) ? 'chaos-hard' : 'chaos', billingTime: 'anniversary', startAt: firstStart.toISOString() }), 120_000);
      }
      for (const f of forecastCustomers) {
        await retry(() => billing('/api/v1/subscriptions', { id: `sub-${f}`, customer: f, plan: 'chaos', billingTime: 'anniversary', startAt: forecastStart.toISOString() }), 120_000);
      }
    })();
    // The seat gauge, level by level (SEAT_LEVELS): each level is sent once threshold-alerting has stored what
    // the one before did (fired, recovered, fired again), so no batching of aggregates can skip a level; from
    // the start of the load, so the first level waits for the subscriptions and the faults.
    const seatCustomers = Array.from({ length: o.customers }, (_, i) => i).filter(hasSeats).map((i) => `c${i}`);
    const ta = `"${runId}_threshold_alerting"`;
    type SeatState = { generation: number; recovered: boolean } | undefined;
    const seatStates = async () =>
      new Map<string, SeatState>(
        (await db.query(`SELECT customer, generation, recovered_at IS NOT NULL AS recovered FROM ${ta}.fired_thresholds WHERE meter = 'seats' AND threshold = 'percent:80'`)).rows.map(
          (r: { customer: string; generation: number; recovered: boolean }) => [r.customer, { generation: r.generation, recovered: r.recovered }],
        ),
      );
    const seatLevelReached: Array<(s: SeatState) => boolean> = [
      (st) => st?.generation === 1 && !st.recovered,
      (st) => st?.generation === 1 && st.recovered,
      (st) => st?.generation === 2 && !st.recovered,
    ];
    const seatLog: string[] = [];
    let seatEventsSent = 0;
    const seating = (async () => {
      for (const [level, seats] of SEAT_LEVELS.entries()) {
        const time = new Date().toISOString(); // LATEST is by event time: each level later than the one before
        const messages = seatCustomers.map((customer) => ({
          key: customer,
          value: JSON.stringify({ specversion: '1.0', id: `seats-${level}-${customer}`, source: 'chaos', type: 'seat.count', subject: customer, time, data: { seats } }),
          headers: { [HEADERS.tenant]: 'chaos' },
        }));
        for (;;) {
          try {
            await producer.send({ topic: `${runId}.${TOPICS.usageEventsRaw}`, acks: -1, messages });
            break;
          } catch {
            await sleep(500);
          }
        }
        seatEventsSent += messages.length;
        const deadline = Date.now() + 180_000;
        for (;;) {
          const states = await seatStates();
          if (seatCustomers.every((c) => seatLevelReached[level](states.get(c)))) break;
          if (Date.now() > deadline) {
            seatLog.push(`${seats} seats: not applied within 180 s`);
            return;
          }
          await sleep(300);
        }
        seatLog.push(`${seats} seats applied at ${elapsed()} s`);
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
    // The forecast customers' history, at noon of each of the last two UTC days, sent before their subscription exists.
    const history = forecastCustomers.flatMap((customer) =>
      [2, 1].map((daysAgo) => {
        expected.set(customer, (expected.get(customer) ?? 0) + FORECAST_DAY_UNITS);
        const time = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - daysAgo, 12)).toISOString();
        const event = { specversion: '1.0', id: `ev-history-${customer}-${daysAgo}`, source: 'chaos', type: 'api.call', subject: customer, time, data: { calls: FORECAST_DAY_UNITS } };
        return { key: customer, value: JSON.stringify(event), headers: { [HEADERS.tenant]: 'chaos' } };
      }),
    );
    await producer.send({ topic: `${runId}.${TOPICS.usageEventsRaw}`, acks: -1, messages: history });
    let sent = history.length;
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
    await seating;
    log(`seats: ${seatLog.join(', ')}`);
    // The last round after every restart, so each service's last process meets every kind (its metrics are
    // checked), followed by one good event per customer: events after poison on every key are counted too.
    let uniqueEvents = o.events + seatEventsSent + history.length;
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
    while ((await entitlementRows()) < (o.customers + forecastCustomers.length) * PLAN_METERS && Date.now() < entitlementDeadline) await new Promise((r) => setTimeout(r, 200));

    const agg = `"${runId}_aggregation"`;
    const drainDeadline = Date.now() + 180_000;
    const count = async (sql: string) => Number((await db.query(sql)).rows[0].n);
    while ((await count(`SELECT count(*) AS n FROM ${agg}.event_ids`)) < uniqueEvents && Date.now() < drainDeadline) await new Promise((r) => setTimeout(r, 500));

    const totals = new Map<string, number>(
      (await db.query(`SELECT customer, sum(sum_value)::text AS v FROM ${agg}.window_aggregates WHERE window_kind = 'PERIOD' AND meter = 'calls' GROUP BY customer`)).rows.map(
        (r: { customer: string; v: string }) => [r.customer, Number(r.v)],
      ),
    );
    const diff = (got: Map<string, number>) => [...new Set([...expected.keys(), ...got.keys()])].filter((c) => expected.get(c) !== got.get(c));
    const aggDiff = diff(totals);
    checks.push({ check: 'aggregation: every accepted event counted exactly once', passed: aggDiff.length === 0, detail: aggDiff.length ? `${aggDiff.length} customers differ, e.g. ${aggDiff.slice(0, 3).map((c) => `${c}: expected ${expected.get(c)}, got ${totals.get(c)}`).join('; ')}` : `${uniqueEvents} events, ${expected.size} customers` });

    // Downstream projections converge after the aggregates drain through the outbox.
    // Alerts are about the running period: its usage is everything but the first period's. Expected per kind,
    // by event id (one per customer, meter, period, threshold and generation): the fixed thresholds each
    // running usage reaches (exact decimals; spend priced from the plan), the top step (intermediate steps may
    // or may not fire, see expectedFiring), the seat customers' fire, recovery and second fire, and the forecast
    // customers' forecast and nothing else. No other forecast: the running period's usage of the c customers
    // is all timed today (no complete day with usage) and the first period's forecast, after its end, is its
    // usage (at most 19 of 40).
    const expectedIds: AlertId[] = [];
    const possibleIds: AlertId[] = [];
    const idOf = (customer: string, meter: string, threshold: string, period = secondStart) => `chaos:${customer}:${meter}:${period.toISOString()}:${threshold}`;
    for (const f of forecastCustomers) {
      const { fixed, steps } = expectedFiring(String(expected.get(f) ?? 0), CALLS);
      for (const [id, kind] of fixed) expectedIds.push({ eventId: idOf(f, 'calls', id, forecastStart), kind, threshold: id.slice(id.indexOf(':') + 1), generation: 1 }); // none by design
      if (steps?.top) expectedIds.push({ eventId: idOf(f, 'calls', `step-units:${steps.top}`, forecastStart), kind: 'step', threshold: steps.top, generation: 1 });
      expectedIds.push({ eventId: idOf(f, 'calls', 'forecast:100', forecastStart), kind: 'forecast', threshold: '100', generation: 1 });
    }
    for (let i = 0; i < o.customers; i++) {
      const customer = `c${i}`;
      const running = (expected.get(customer) ?? 0) - (expectedFirst.get(customer) ?? 0);
      const { fixed, steps } = expectedFiring(String(running), { ...CALLS, hardLimit: onHardPlan(i) });
      for (const [id, kind] of fixed) expectedIds.push({ eventId: idOf(customer, 'calls', id), kind, threshold: id.slice(id.indexOf(':') + 1), generation: 1 });
      if (steps?.top) {
        expectedIds.push({ eventId: idOf(customer, 'calls', `step-units:${steps.top}`), kind: 'step', threshold: steps.top, generation: 1 });
        for (let v = Number(steps.base) + Number(steps.every); v < Number(steps.top); v += Number(steps.every)) {
          possibleIds.push({ eventId: idOf(customer, 'calls', `step-units:${v}`), kind: 'step', threshold: String(v), generation: 1 });
        }
      }
      if (hasSeats(i)) {
        const id = idOf(customer, 'seats', 'percent:80');
        expectedIds.push({ eventId: id, kind: 'soft', threshold: '80', generation: 1 }, { eventId: `${id}:1:recovered`, kind: 'recovered', threshold: '80', generation: 1 }, { eventId: `${id}:2`, kind: 'soft', threshold: '80', generation: 2 });
      }
    }
    // Over all of a customer's PERIOD windows (the two periods, and the emptied calendar-month ones at 0).
    const billingUsage = async () =>
      new Map<string, number>(
        (await db.query(`SELECT customer, sum(value)::text AS v FROM "${runId}_billing".period_usage WHERE meter = 'calls' GROUP BY customer`)).rows.map((r: { customer: string; v: string }) => [r.customer, Number(r.v)]),
      );
    const storedAlerts = async () =>
      (
        await db.query(
          `SELECT customer, meter, period_start, threshold, kind, generation, recovered_at IS NOT NULL AS recovered FROM ${ta}.fired_thresholds`,
        )
      ).rows.flatMap((r: { customer: string; meter: string; period_start: Date; threshold: string; kind: string; generation: number; recovered: boolean }) =>
        alertsOfRow('chaos', { customer: r.customer, meter: r.meter, periodStart: r.period_start.toISOString(), threshold: r.threshold, kind: r.kind, generation: r.generation, recovered: r.recovered } satisfies FiredRow),
      );
    const settleDeadline = Date.now() + 60_000;
    const allStored = async () => {
      const ids = new Set((await storedAlerts()).map((a) => a.eventId));
      return expectedIds.every((a) => ids.has(a.eventId));
    };
    while (Date.now() < settleDeadline && (diff(await billingUsage()).length > 0 || !(await allStored()))) await new Promise((r) => setTimeout(r, 500));
    const billDiff = diff(await billingUsage());
    checks.push({ check: 'billing: period usage equals the events sent', passed: billDiff.length === 0, detail: billDiff.length ? `${billDiff.length} customers differ` : `${expected.size} customers` });
    const seatsFinal = (
      await db.query(`SELECT count(*)::int AS n FROM ${agg}.window_aggregates WHERE window_kind = 'PERIOD' AND meter = 'seats' AND window_start = $1 AND latest_value = $2`, [secondStart, SEAT_LEVELS.at(-1)])
    ).rows[0].n as number;
    checks.push({
      check: 'aggregation: every seat gauge (LATEST) ends at its last level',
      passed: seatsFinal === seatCustomers.length && seatLog.length === SEAT_LEVELS.length && seatLog.every((l) => l.includes('applied')),
      detail: `${seatsFinal} of ${seatCustomers.length} customers at ${SEAT_LEVELS.at(-1)} seats; levels ${SEAT_LEVELS.join(' -> ')}: ${seatLog.join(', ')}`,
    });

    // On the topic, an alert may repeat (at-least-once relay) but only with the same event id.
    const stored = await storedAlerts();
    const published: PublishedAlert[] = [];
    const consumer = kafka.consumer({ groupId: `${runId}-verify` });
    await consumer.connect();
    await consumer.subscribe({ topic: `${runId}.${TOPICS.alertsUsageThreshold}`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const a = JSON.parse(message.value!.toString());
        published.push({ eventId: a.eventId, kind: a.kind, threshold: a.threshold, generation: a.generation });
      },
    });
    const wanted = new Set([...expectedIds, ...stored].map((a) => a.eventId));
    const topicDeadline = Date.now() + 30_000;
    while (Date.now() < topicDeadline && new Set(published.map((p) => p.eventId).filter((id) => wanted.has(id))).size < wanted.size) await new Promise((r) => setTimeout(r, 300));
    await sleep(1000); // an alert that should not be there has the time to show up too
    await consumer.disconnect();
    for (const c of compareAlerts(expectedIds, possibleIds, stored, published)) {
      checks.push({ check: `alerts ${c.kind}: each exactly once per (customer, meter, period, threshold, generation), stored and on alerts.usage-threshold.v1`, passed: c.passed, detail: c.detail });
    }
    // Every subscription's first period invoiced exactly once: the base fee, and its usage above the 40 included
    // at 0.01 (the calls on the invoice; units counted after it was final are the next invoice's adjustment; no
    // seat is timed in the first period, so its seats line is 0).
    const invoiceRows: Array<{ subscription_id: string; n: string; statuses: string; totals: string; units: string }> = [];
    const invoiceDeadline = Date.now() + 60_000;
    for (;;) {
      invoiceRows.splice(0, invoiceRows.length, ...(await db.query(
        `SELECT i.subscription_id, count(*)::text AS n, string_agg(i.status, ',') AS statuses, string_agg(i.total::text, ',') AS totals,
           COALESCE(sum(b.units), 0)::text AS units
         FROM "${runId}_billing".invoices i
         LEFT JOIN (SELECT tenant, document_id, sum(units) AS units FROM "${runId}_billing".billed_usage WHERE document_kind = 'invoice' AND meter = 'calls' GROUP BY tenant, document_id) b
           ON b.tenant = i.tenant AND b.document_id = i.invoice_id
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

    // Reconciliation (ADR 0006): every subscription is canceled now, so both its periods (one for a forecast
    // customer) close, each with a line per meter, and the last
    // invoice bills whatever of the first period was counted after that one was final. Then billing's own
    // check (GET /api/v1/billing/reconciliation: per closed period and meter, ledger units = invoice +
    // adjustments − credit notes) must be clean for every period, and the units billed per customer over all
    // documents must equal the calls sent.
    for (let i = 0; i < o.customers; i++) {
      await retry(() => billing(`/api/v1/subscriptions/sub-${i}/cancel`, { atPeriodEnd: false }, `chaos-cancel-${runId}-${i}`), 60_000);
    }
    for (const f of forecastCustomers) await retry(() => billing(`/api/v1/subscriptions/sub-${f}/cancel`, { atPeriodEnd: false }, `chaos-cancel-${runId}-${f}`), 60_000);
    const reconciliationPath = `/api/v1/billing/reconciliation?from=${encodeURIComponent(firstStart.toISOString())}&to=${encodeURIComponent(new Date(Date.now() + 86_400_000).toISOString())}`;
    type Reconciliation = { periodsAndMetersChecked: number; mismatches: Array<{ customer: string; periodStart: string; ledgerUnits: string; invoicedUnits: string; state: string }> };
    const billedPerCustomer = async () =>
      new Map<string, number>(
        (await db.query(`SELECT customer, sum(units)::text AS v FROM "${runId}_billing".billed_usage WHERE meter = 'calls' GROUP BY customer`)).rows.map((r: { customer: string; v: string }) => [r.customer, Number(r.v)]),
      );
    let reconciliation: Reconciliation = { periodsAndMetersChecked: 0, mismatches: [] };
    const reconcileDeadline = Date.now() + 90_000;
    for (;;) {
      reconciliation = (await retry(() => getJson(stack.port('billing'), reconciliationPath, key), 30_000)) as unknown as Reconciliation;
      const settled = reconciliation.periodsAndMetersChecked >= (2 * o.customers + forecastCustomers.length) * PLAN_METERS && reconciliation.mismatches.length === 0 && diff(await billedPerCustomer()).length === 0;
      if (settled || Date.now() > reconcileDeadline) break;
      await sleep(500);
    }
    checks.push({
      check: 'billing reconciliation: every closed period, ledger units = units invoiced (GET /api/v1/billing/reconciliation)',
      passed: reconciliation.periodsAndMetersChecked === (2 * o.customers + forecastCustomers.length) * PLAN_METERS && reconciliation.mismatches.length === 0,
      detail:
        `${reconciliation.periodsAndMetersChecked} closed periods x meters checked (expected ${(2 * o.customers + forecastCustomers.length) * PLAN_METERS}), ${reconciliation.mismatches.length} mismatches` +
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
