// Memory of the five services at rest: a process each (as `npm start`) against one process
// (tools/single-process.js, as TALLY_SINGLE_PROCESS=1), from source (ts-node in every process or thread) and
// compiled (tools/build.js, as the image). Each layout is started on a private schema/topic prefix, waited on
// until every service is ready, left 10 s, then its total RSS and the machine's used memory are sampled.
//   node -r ./tools/register.js bench/idle-rss.ts [rounds (2)]
// Alternates the layouts round by round (others may share the machine).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, isReady } from './local-http';
import { rssMiB } from './process-stats';
import { median } from './stats';
import { ADMIN, BROKERS, DATABASE_URL, ROOT, dropRun } from './pipeline';
const { SERVICE_NODE_FLAGS } = require('../tools/service-node-flags') as { SERVICE_NODE_FLAGS: string[] };

const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'];
const SCHEMAS = SERVICES.map((s) => s.replace(/-/g, '_'));
const BUILD = path.join(ROOT, '.tally', 'build-idle-rss');
type Layout = 'process each (source)' | 'single process (source)' | 'process each (compiled)' | 'single process (compiled)';
const LAYOUTS: Layout[] = ['process each (source)', 'single process (source)', 'process each (compiled)', 'single process (compiled)'];
const envPrefix = (name: string) => name.toUpperCase().replace(/-/g, '_');

/** Used memory of the machine (MemTotal - MemAvailable), MiB. */
function machineUsedMiB(): number {
  const info = readFileSync('/proc/meminfo', 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(info)![1]);
  return (kb('MemTotal') - kb('MemAvailable')) / 1024;
}

async function measure(layout: Layout, runId: string): Promise<{ rssMiB: number; processes: number; readySeconds: number }> {
  const ports = await Promise.all(SERVICES.map(() => freePort()));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL,
    KAFKA_BROKERS: BROKERS,
    KAFKA_TOPIC_PREFIX: `${runId}.`,
    ADMIN_TOKEN: ADMIN,
    CATALOG_SIGNING_SECRET: 'bench-catalog-signing-secret-0123456789abcdef',
    LOG_LEVEL: 'error',
  };
  delete env.PORT;
  delete env.DB_SCHEMA;
  SERVICES.forEach((s, i) => {
    env[`${envPrefix(s)}_PORT`] = String(ports[i]);
    env[`${envPrefix(s)}_DB_SCHEMA`] = `${runId}_${SCHEMAS[i]}`;
  });
  const compiled = layout.endsWith('(compiled)');
  const flags = compiled ? ['--enable-source-maps', ...SERVICE_NODE_FLAGS] : SERVICE_NODE_FLAGS;
  const children: ChildProcess[] = layout.startsWith('single')
    ? [spawn(process.execPath, [...flags, path.join(ROOT, 'tools/single-process.js'), ...(compiled ? [`--dist=${BUILD}`] : [])], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] })]
    : SERVICES.map((s) =>
        spawn(process.execPath, [...flags, ...(compiled ? [path.join(BUILD, 'apps', s, 'src/main.js')] : ['-r', path.join(ROOT, 'tools/register.js'), path.join(ROOT, 'apps', s, 'src/main.ts')])], {
          cwd: ROOT,
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
  const started = Date.now();
  try {
    for (const port of ports) {
      while (!(await isReady(port))) {
        if (children.some((c) => c.exitCode !== null)) throw new Error(`${layout}: a process exited`);
        if (Date.now() - started > 180_000) throw new Error(`${layout}: not ready`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const readySeconds = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 10_000));
    const rss = children.reduce((sum, c) => sum + rssMiB(c.pid!), 0);
    return { rssMiB: Math.round(rss), processes: children.length, readySeconds: Math.round(readySeconds * 10) / 10 };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  }
}

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2);
  const build = spawnSync(process.execPath, [path.join(ROOT, 'tools/build.js'), BUILD], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(1);
  const db = new Client({ connectionString: DATABASE_URL });
  await db.connect();
  const kafka = new Kafka({ clientId: 'idle-rss', brokers: BROKERS.split(','), logLevel: logLevel.NOTHING });
  const results = new Map<Layout, Array<{ rssMiB: number; processes: number; readySeconds: number }>>(LAYOUTS.map((l) => [l, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const layout of LAYOUTS) {
        const runId = `idle${Date.now().toString(36)}`;
        const before = machineUsedMiB();
        try {
          const r = await measure(layout, runId);
          results.get(layout)!.push(r);
          process.stdout.write(`[idle-rss] round ${round} ${layout}: ${r.rssMiB} MiB in ${r.processes} process(es), ready in ${r.readySeconds} s (machine used before: ${Math.round(before)} MiB)\n`);
        } finally {
          await dropRun(db, kafka, runId, SCHEMAS);
        }
      }
    }
  } finally {
    await db.end();
    rmSync(BUILD, { recursive: true, force: true });
  }
  process.stdout.write('\n| layout | processes | total RSS MiB, median | ready in s, median | per round |\n|---|---|---|---|---|\n');
  for (const [layout, rs] of results) {
    process.stdout.write(`| ${layout} | ${rs[0]?.processes} | ${median(rs.map((r) => r.rssMiB))} | ${median(rs.map((r) => r.readySeconds))} | ${rs.map((r) => r.rssMiB).join(', ')} |\n`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
