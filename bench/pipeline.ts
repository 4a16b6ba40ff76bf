// The machinery `npm run bench` and `npm run bench:growth` share: the services started as separate processes
// on a private schema/topic prefix per run, the load produced onto the raw topic, the CPU accounting per
// process (Postgres backends included) and the exactness check of the totals.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { Client } from 'pg';
import { HEADERS } from '@tally/contracts';
import { registerKafkajsCodecs } from '@tally/kafka';
import { ensureDatabase } from '@tally/postgres';
import type { ExpectedTotals } from './load-generator';
import type { ProcessGroup, ProcessUsage } from './process-stats';
import { freePort, isReady, postJson } from './local-http';
const { SERVICE_NODE_FLAGS } = require('../tools/service-node-flags') as { SERVICE_NODE_FLAGS: string[] };

export const ROOT = path.resolve(__dirname, '..');
/**
 * BENCH_SERVICES_ROOT: the checkout whose services are started (default this one), e.g. a worktree of the
 * commit before a change, for A/B runs measured by the same bench code.
 */
export const SERVICES_ROOT = path.resolve(process.env.BENCH_SERVICES_ROOT ?? ROOT);
export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/tally_bench';
export const ADMIN = 'bench-admin-token-0123456789';
const CATALOG_SIGNING_SECRET = 'bench-catalog-signing-secret-0123456789abcdef';
export const BENCH_METERS = [
  { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' },
  { slug: 'requests', eventType: 'api.call', aggregation: 'COUNT' },
  { slug: 'users', eventType: 'api.call', aggregation: 'UNIQUE_COUNT', valueProperty: '$.user' },
];
/** BENCH_SINGLE_PROCESS: unset/0 = a process per service, 1 = one process for all (anything else is refused). */
export function parseBenchSingleProcess(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new Error(`BENCH_SINGLE_PROCESS: "${value}" is neither 1 (the services as threads of one process) nor 0 (a process each)`);
}
/**
 * BENCH_SINGLE_PROCESS=1: a run's services as worker threads of ONE process (tools/single-process.js, what
 * TALLY_SINGLE_PROCESS=1 runs) instead of a process each; the CPU and RSS table then has one column,
 * `single-process`, for the three services.
 */
export const SINGLE_PROCESS = parseBenchSingleProcess(process.env.BENCH_SINGLE_PROCESS);
const PIPELINE_SERVICES = ['ingestion', 'aggregation', 'threshold-alerting'];
/** The processes the services run in: one each, or the single-process host. */
export const SERVICE_PROCESSES = SINGLE_PROCESS ? ['single-process'] : PIPELINE_SERVICES;
/** The processes whose CPU the pipeline costs (the generator is the load, reported apart). */
export const PIPELINE_PROCESSES = [...SERVICE_PROCESSES, 'broker', 'postgres'];
export const CPU_COLUMNS = [...PIPELINE_PROCESSES, 'generator'];
export const say = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

export interface Service {
  child: ChildProcess;
  port: number;
}

async function waitReady(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    if (await isReady(port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`service on ${port} not ready`);
}

/** What every service of a run shares: database, broker, the run's topic prefix, tokens, no rate limit. */
function runEnv(runId: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    DATABASE_URL,
    KAFKA_BROKERS: BROKERS,
    KAFKA_TOPIC_PREFIX: `${runId}.`,
    KAFKA_PARTITIONS: '4',
    ADMIN_TOKEN: ADMIN,
    CATALOG_SIGNING_SECRET,
    INGEST_RATE_LIMIT_PER_SECOND: '10000000',
    LOG_LEVEL: 'error',
  };
}

const schemaOf = (runId: string, name: string) => `${runId}_${name.replace(/-/g, '_')}`;

/** BENCH_CPU_PROF=1 writes a V8 CPU profile per process into bench/results/profiles (open in Chrome DevTools). */
const profileFlags = (name: string, runId: string) =>
  process.env.BENCH_CPU_PROF === '1' ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ROOT, 'bench/results/profiles')}`, `--cpu-prof-name=${name}-${runId}.cpuprofile`] : [];

export async function startService(name: string, runId: string): Promise<Service> {
  const port = await freePort();
  // The flags `npm start` and the image start the services with (tools/service-node-flags.js).
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...profileFlags(name, runId), '-r', path.join(SERVICES_ROOT, 'tools/register.js'), path.join(SERVICES_ROOT, 'apps', name, 'src/main.ts')], {
    cwd: SERVICES_ROOT,
    env: { ...runEnv(runId), PORT: String(port), DB_SCHEMA: schemaOf(runId, name) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitReady(port, child);
  return { child, port };
}

/**
 * The services as threads of one process (tools/single-process.js of SERVICES_ROOT), each on its own port
 * and schema through the per-service variables (<SERVICE>_PORT, <SERVICE>_DB_SCHEMA), as `npm start` does.
 */
export async function startSingleProcess(names: string[], runId: string): Promise<Service[]> {
  const ports = await Promise.all(names.map(() => freePort()));
  const env = runEnv(runId);
  delete env.PORT;
  delete env.DB_SCHEMA;
  for (const [i, name] of names.entries()) {
    const prefix = name.toUpperCase().replace(/-/g, '_');
    env[`${prefix}_PORT`] = String(ports[i]);
    env[`${prefix}_DB_SCHEMA`] = schemaOf(runId, name);
  }
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...profileFlags('single-process', runId), path.join(SERVICES_ROOT, 'tools/single-process.js'), ...names], {
    cwd: SERVICES_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    for (const port of ports) await waitReady(port, child);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return ports.map((port) => ({ child, port }));
}

/** The pipeline of one run: ingestion, aggregation and threshold-alerting, tenant `bench` with the bench meters. */
export interface Pipeline {
  runId: string;
  ingestion: Service;
  aggregation: Service;
  alerting: Service;
  /** The tenant's API key. */
  key: string;
}

export async function startPipeline(runId: string): Promise<Pipeline> {
  if (SINGLE_PROCESS) {
    const [ingestion, aggregation, alerting] = await startSingleProcess(PIPELINE_SERVICES, runId);
    try {
      return { runId, ingestion, aggregation, alerting, key: await benchTenant(ingestion.port) };
    } catch (e) {
      ingestion.child.kill('SIGKILL');
      throw e;
    }
  }
  const started: Service[] = [];
  try {
    const ingestion = await startService('ingestion', runId);
    started.push(ingestion);
    const aggregation = await startService('aggregation', runId);
    started.push(aggregation);
    const alerting = await startService('threshold-alerting', runId);
    started.push(alerting);
    return { runId, ingestion, aggregation, alerting, key: await benchTenant(ingestion.port) };
  } catch (e) {
    for (const s of started) s.child.kill('SIGKILL');
    throw e;
  }
}

/** Tenant `bench`, its API key and the bench meters. */
async function benchTenant(ingestionPort: number): Promise<string> {
  await postJson(ingestionPort, '/api/v1/admin/tenants', ADMIN, { id: 'bench', name: 'Bench' });
  const { key } = (await postJson(ingestionPort, '/api/v1/admin/tenants/bench/api-keys', ADMIN, { name: 'bench' })) as { key: string };
  for (const meter of BENCH_METERS) await postJson(ingestionPort, '/api/v1/meters', key, meter);
  return key;
}

export function pipelinePids(p: Pipeline): Record<string, number> {
  if (SINGLE_PROCESS) return { 'single-process': p.ingestion.child.pid! };
  return { ingestion: p.ingestion.child.pid!, aggregation: p.aggregation.child.pid!, 'threshold-alerting': p.alerting.child.pid! };
}

/** SIGTERM (graceful) and wait for the exits; `kill = true` for the cleanup path. */
export async function stopPipeline(p: Pipeline, kill = false): Promise<void> {
  // One child for all three in single-process mode.
  const children = [...new Set([p.ingestion.child, p.aggregation.child, p.alerting.child])];
  for (const c of children) c.kill(kill ? 'SIGKILL' : 'SIGTERM');
  if (!kill) await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
}

/** Drops a run's schemas and topics. */
export async function dropRun(db: Client, kafka: Kafka, runId: string, schemas = ['ingestion', 'aggregation', 'threshold_alerting']): Promise<void> {
  for (const s of schemas) await db.query(`DROP SCHEMA IF EXISTS "${runId}_${s}" CASCADE`);
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${runId}.`));
    await admin.deleteTopics({ topics }).catch(() => undefined);
  } finally {
    await admin.disconnect();
  }
}

export async function produceAll<E extends object & { subject: string }>(producer: Producer, topic: string, events: Iterable<E>, ratePerSecond?: number, onSend?: (at: number, event: E) => void): Promise<number> {
  const inFlight = new Set<Promise<unknown>>();
  let batch: Array<{ key: string; value: string; headers: Record<string, string> }> = [];
  let sent = 0;
  const started = Date.now();
  const flush = async () => {
    const messages = batch;
    batch = [];
    const p = producer.sendBatch({ acks: -1, topicMessages: [{ topic, messages }] });
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (inFlight.size >= 4) await Promise.race(inFlight);
  };
  for (const e of events) {
    if (ratePerSecond) {
      const due = started + (sent / ratePerSecond) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      (e as { time?: string }).time = new Date().toISOString();
      onSend?.(Date.now(), e);
    }
    batch.push({ key: e.subject, value: JSON.stringify(e), headers: { [HEADERS.tenant]: 'bench' } });
    sent += 1;
    if (batch.length >= (ratePerSecond ? Math.max(1, Math.floor(ratePerSecond / 100)) : 2000)) await flush();
  }
  if (batch.length > 0) await flush();
  await Promise.all(inFlight);
  return sent;
}

/**
 * The Postgres backends serving this run's services, told apart by the application name each service's pool
 * sets (`tally-<service>:<schema>`, the schemas prefixed with the run id): another bench on the same database at the same
 * time is not counted. (The broker is shared with whatever else runs on the machine; these are not.)
 */
export function postgresBackends(db: Client, runId: string): ProcessGroup {
  const likeRun = `%:${runId.replace(/[\\%_]/g, (c) => `\\${c}`)}\\_%`;
  return {
    list: async () =>
      (
        await db.query(
          `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND application_name LIKE $1`,
          [likeRun],
        )
      ).rows.map((r: { pid: number }) => r.pid),
  };
}

export async function count(db: Client, sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n);
}

/**
 * CPU per unique event in µs per process, and `pipeline` = the pipeline processes' sum (not the generator).
 * Adds the generator (this process, `generatorSeconds` of CPU) to `processes`.
 */
export function cpuPerEvent(processes: Record<string, ProcessUsage>, generatorSeconds: number, elapsedSeconds: number, events: number): Record<string, number> {
  processes.generator = { cpuSeconds: Math.round(generatorSeconds * 100) / 100, cpuPercent: Math.round((1000 * generatorSeconds) / elapsedSeconds) / 10, peakRssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20) };
  const micros = Object.fromEntries(Object.entries(processes).map(([name, p]) => [name, Math.round((p.cpuSeconds * 1e6) / events)]));
  micros.pipeline = PIPELINE_PROCESSES.reduce((sum, name) => sum + (micros[name] ?? 0), 0);
  // The services alone, comparable between a process each and single-process mode.
  micros.services = SERVICE_PROCESSES.reduce((sum, name) => sum + (micros[name] ?? 0), 0);
  return micros;
}

/** Peak RSS of the services' processes, summed (a process each: the sum of their peaks, an upper bound). */
export function servicesPeakRssMiB(processes: Record<string, ProcessUsage>): number {
  return Math.round(SERVICE_PROCESSES.reduce((sum, name) => sum + (processes[name]?.peakRssMiB ?? 0), 0));
}

/**
 * Busy CPU seconds of the whole machine so far (all cores, from /proc/stat: everything but idle and iowait).
 * Counts whatever else runs meanwhile too; compare it between alternating runs, not as an absolute.
 */
export function machineCpuSeconds(): number {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks;
  return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
}

/** A PERIOD window's totals as stored: SUM of calls, COUNT of requests, distinct users. */
export interface PeriodRow {
  customer: string;
  meter: string;
  month: string;
  sum: string;
  n: string;
  d: string;
}

/** Compares stored PERIOD totals per customer and month with the expected ones; returns the mismatches. */
export function compareTotals(rows: PeriodRow[], expected: ExpectedTotals): string[] {
  const actual = new Map<string, { calls?: number; requests?: number; users?: number }>();
  for (const r of rows) {
    const cur = actual.get(`${r.customer}|${r.month}`) ?? {};
    if (r.meter === 'calls') cur.calls = Number(r.sum);
    if (r.meter === 'requests') cur.requests = Number(r.n);
    if (r.meter === 'users') cur.users = Number(r.d);
    actual.set(`${r.customer}|${r.month}`, cur);
  }
  const mismatches: string[] = [];
  for (const [key, exp] of expected.byCustomerMonth) {
    const got = actual.get(key);
    if (!got || got.calls !== exp.calls || got.requests !== exp.requests || got.users !== exp.users.size) {
      mismatches.push(`${key}: expected ${exp.calls}/${exp.requests}/${exp.users.size}, got ${got?.calls}/${got?.requests}/${got?.users}`);
    }
  }
  for (const key of actual.keys()) if (!expected.byCustomerMonth.has(key)) mismatches.push(`${key}: unexpected`);
  return mismatches;
}

export async function verify(db: Client, schema: string, expected: ExpectedTotals, tenant = 'bench'): Promise<string[]> {
  const rows = (
    await db.query(
      `SELECT customer, meter, to_char(window_start AT TIME ZONE 'UTC', 'YYYY-MM') AS month, sum_value::text AS sum, event_count::text AS n, distinct_count::text AS d
       FROM "${schema}".window_aggregates WHERE window_kind = 'PERIOD' AND tenant = $1`,
      [tenant],
    )
  ).rows as PeriodRow[];
  return compareTotals(rows, expected);
}

export interface BenchInfra {
  db: Client;
  kafka: Kafka;
  /** The broker's pid, when found, for the CPU table. */
  pids: Record<string, number>;
  close(): Promise<void>;
}

/**
 * `tools/setup.js` (unless BENCH_SKIP_SETUP=1), the local broker (started if needed and stopped again at
 * close), the bench database and a connection to it, a Kafka client that reads the services' compressed topics.
 */
export async function openBenchInfra(): Promise<BenchInfra> {
  // BENCH_SKIP_SETUP=1: the machine is set up already (e.g. repeated A/B runs while others share node_modules).
  if (process.env.BENCH_SKIP_SETUP !== '1') {
    const setup = spawnSync(process.execPath, [path.join(ROOT, 'tools/setup.js')], { stdio: 'inherit' });
    if (setup.status !== 0) process.exit(setup.status ?? 1);
  }
  let stopBroker = false;
  if (!process.env.KAFKA_BROKERS) {
    const out = spawnSync(process.execPath, [path.join(ROOT, 'tools/kafka.js'), 'ensure', '--json'], { encoding: 'utf8' });
    stopBroker = JSON.parse(out.stdout.split('\n').find((l) => l.startsWith('{')) ?? '{}').started === true;
  }
  await ensureDatabase(DATABASE_URL);
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  // The services compress their topics (KAFKA_COMPRESSION); the latency observer and the naive baseline read them.
  registerKafkajsCodecs();
  const kafka = new Kafka({ clientId: 'bench', brokers: BROKERS.split(','), logLevel: logLevel.ERROR });
  const brokerPid = Number(spawnSync('pgrep', ['-f', 'kafka.Kafka'], { encoding: 'utf8' }).stdout.split('\n')[0]) || 0;
  return {
    db,
    kafka,
    pids: brokerPid ? { broker: brokerPid } : {},
    close: async () => {
      await db.end();
      if (stopBroker) spawnSync(process.execPath, [path.join(ROOT, 'tools/kafka.js'), 'stop']);
    },
  };
}
