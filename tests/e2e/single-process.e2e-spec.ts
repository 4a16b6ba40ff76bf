import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { expectEventually, TestSuite } from '@tally/testing';
import { freePort, isReady, postJson } from '../../bench/local-http';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'single-process-admin-token-0123456789';
const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'];
const { SERVICE_NODE_FLAGS } = require('../../tools/service-node-flags') as { SERVICE_NODE_FLAGS: string[] };
const envPrefix = (name: string) => name.toUpperCase().replace(/-/g, '_');

interface Host {
  child: ChildProcess;
  ports: Record<string, number>;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Pids whose parent is `pid`, from /proc. */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/**
 * Single-process mode (tools/single-process.js): the five services as worker threads of ONE Node process,
 * started as `npm start` starts the host, on this suite's schemas and topics. Each keeps its own port, schema,
 * consumer group, /health and /metrics; events posted to ingestion reach aggregation's query API; SIGTERM
 * stops them all through their own shutdown hooks; one service that fails takes the whole host down.
 */
describe('single-process mode: five services as threads of one process', () => {
  const suite = new TestSuite();
  const hosts: Host[] = [];

  const startHost = async (extraEnv: Record<string, string> = {}, ports?: Record<string, number>): Promise<Host> => {
    const chosen = ports ?? Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)));
    let output = '';
    const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, path.join(ROOT, 'tools/single-process.js')], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: suite.databaseUrl,
        KAFKA_BROKERS: suite.kafkaBrokers,
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: '2',
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        ADMIN_TOKEN: ADMIN,
        LOG_LEVEL: 'info',
        ...Object.fromEntries(SERVICES.flatMap((s) => [[`${envPrefix(s)}_PORT`, String(chosen[s])], [`${envPrefix(s)}_DB_SCHEMA`, suite.schema(s)]])),
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const host = { child, ports: chosen, output: () => output, exited };
    hosts.push(host);
    return host;
  };

  const waitAllReady = async (host: Host) =>
    expectEventually(async () => {
      expect(host.child.exitCode).toBeNull();
      for (const s of SERVICES) expect([s, await isReady(host.ports[s])]).toEqual([s, true]);
    }, 150_000, 500);

  afterAll(async () => {
    for (const h of hosts) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
    await suite.cleanup();
  }, 60_000);

  it('runs the pipeline in one process, each service on its own port, schema and group, and stops on SIGTERM with exit 0', async () => {
    const host = await startHost();
    await waitAllReady(host);

    // One process: the services are threads, not children.
    expect(childrenOf(host.child.pid!)).toEqual([]);

    // Each service's /health and /metrics as in its own process, each with its own registry.
    for (const s of SERVICES) {
      const health = await fetch(`http://127.0.0.1:${host.ports[s]}/health`);
      expect([s, health.status, await health.json()]).toEqual([s, 200, { status: 'ok' }]);
    }
    const metrics = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await (await fetch(`http://127.0.0.1:${host.ports[s]}/metrics`)).text()] as const)));
    expect(metrics.ingestion).toContain('tally_ingest_events_accepted_total');
    expect(metrics.billing).toContain('tally_billing_job_failures_total');
    expect(metrics.ingestion).not.toContain('tally_billing_job_failures_total');
    expect(metrics.billing).not.toContain('tally_ingest_events_accepted_total');

    // Each service in its own schema.
    const schemas = await suite.query<{ schema_name: string }>(`SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE '${suite.id}\\_%' ORDER BY 1`);
    expect(schemas.map((r) => r.schema_name)).toEqual(SERVICES.map((s) => suite.schema(s)).sort());

    // Events over HTTP to ingestion, counted once (a resent batch included), read back from aggregation's API.
    await postJson(host.ports.ingestion, '/api/v1/admin/tenants', ADMIN, { id: 'solo', name: 'Solo' });
    const { key } = (await postJson(host.ports.ingestion, '/api/v1/admin/tenants/solo/api-keys', ADMIN, { name: 'solo' })) as { key: string };
    await postJson(host.ports.ingestion, '/api/v1/meters', key as string, { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    const time = new Date().toISOString();
    const events = Array.from({ length: 40 }, (_, i) => ({ specversion: '1.0', id: `sp-${i}`, source: 'single-process', type: 'api.call', subject: `c${i % 2}`, time, data: { calls: i + 1 } }));
    const post = async (batch: object[]) => {
      const res = await fetch(`http://127.0.0.1:${host.ports.ingestion}/api/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents-batch+json' },
        body: JSON.stringify(batch),
      });
      expect(res.status).toBe(202);
    };
    await post(events.slice(0, 25));
    await post(events.slice(20));
    await post(events.slice(0, 10)); // a producer retrying a batch
    // c0 got the odd values 1, 3, ..., 39 (sum 400), c1 the even ones 2, 4, ..., 40 (sum 420).
    await expectEventually(async () => {
      const res = await fetch(`http://127.0.0.1:${host.ports.aggregation}/api/v1/meters/calls/query?subject=c0&subject=c1`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { data: Array<{ subject: string; value: number }> };
      expect(Object.fromEntries(body.data.map((r) => [r.subject, Number(r.value)]))).toEqual({ c0: 400, c1: 420 });
    }, 60_000, 500);

    // The consumer groups are the services' own (`<prefix>tally-<service>`), each with a member.
    const admin = suite.kafka.admin();
    await admin.connect();
    try {
      const { groups } = await admin.describeGroups(['aggregation', 'threshold-alerting', 'billing', 'health-scoring'].map((s) => `${suite.topicPrefix}tally-${s}`));
      for (const g of groups) expect([g.groupId, g.state, g.members.length > 0]).toEqual([g.groupId, 'Stable', true]);
    } finally {
      await admin.disconnect();
    }

    const stopping = Date.now();
    host.child.kill('SIGTERM');
    const { code, signal } = await host.exited;
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopping).toBeLessThan(20_000);
    // Every service ran its own shutdown (runService logs `stopping`, then closes the app).
    const stopped = host
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { service: string; message: string })
      .filter((l) => l.message === 'stopping')
      .map((l) => l.service);
    expect(stopped.sort()).toEqual([...SERVICES].sort());
    for (const s of SERVICES) expect(await isReady(host.ports[s])).toBe(false);
  }, 300_000);

  it('exits 78 with the service\'s own message when one service refuses its configuration, leaving nothing running', async () => {
    const host = await startHost({ BILLING_JOB_INTERVAL_MS: '5' });
    const { code } = await host.exited;
    expect(code).toBe(78);
    expect(host.output()).toContain('[billing] invalid configuration for billing:');
    expect(host.output()).toMatch(/\[billing\]\s+- BILLING_JOB_INTERVAL_MS: Number must be greater than or equal to 100/);
    expect(host.output()).toContain('[single-process] billing stopped (exit code 78)');
    for (const s of SERVICES) expect(await isReady(host.ports[s])).toBe(false);
  }, 120_000);

  it('exits non-zero when a service fails after starting (its port is taken), stopping the others', async () => {
    const taken: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => taken.listen(port, '0.0.0.0', r));
    try {
      const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)));
      ports['health-scoring'] = port;
      const host = await startHost({}, ports);
      const { code } = await host.exited;
      expect(code).toBe(1);
      expect(host.output()).toMatch(/"service":"health-scoring".*could not start: listen EADDRINUSE/);
      expect(host.output()).toContain('[single-process] health-scoring stopped (exit code 1)');
      for (const s of SERVICES.filter((n) => n !== 'health-scoring')) expect(await isReady(ports[s])).toBe(false);
    } finally {
      taken.close();
    }
  }, 200_000);

  it('refuses, before starting anything, settings that would make two services collide', async () => {
    const port = await freePort();
    const host = await startHost({ INGESTION_PORT: String(port), AGGREGATION_PORT: String(port) });
    const started = Date.now();
    const { code } = await host.exited;
    expect(code).toBe(78);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(host.output()).toContain(`port ${port} is set for ingestion and aggregation`);
    expect(host.output()).not.toContain('"service"');
  }, 30_000);
});
