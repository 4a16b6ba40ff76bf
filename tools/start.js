#!/usr/bin/env node
'use strict';
// `npm start`: the local broker (unless KAFKA_BROKERS is set) and all five services, each waited on until
// ready. A service that stops is reported and restarted (with backoff) while the others keep running; one that
// refuses its configuration (exit code 78) stops everything with its message. Ctrl-C stops the services, then
// the broker; nothing is left running.
// TALLY_SINGLE_PROCESS=1: the five services and the gateway in ONE Node process instead, a worker thread each
// (tools/single-process.js), on the same ports; if a service stops, that process stops and is restarted whole.
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { SERVICE_NODE_FLAGS } = require('./service-node-flags');
const p = require('./local-paths');
const kafka = require('./kafka');
const { expandReplicas, parseReplicas, PORT_STEP } = require('./replicas');
const { parseSingleProcess } = require('./single-process');

const SERVICES = [
  { name: 'ingestion', port: 3001 },
  { name: 'aggregation', port: 3002 },
  { name: 'threshold-alerting', port: 3003 },
  { name: 'billing', port: 3004 },
  { name: 'health-scoring', port: 3005 },
];
/** The processes to run: TALLY_REPLICAS=aggregation=2,... starts more than one of a service (one consumer group). */
let INSTANCES = SERVICES.map((svc) => ({ ...svc, replica: 0, label: svc.name, logName: svc.name }));
/** The front door (apps/gateway): every tenant API on one port, started once the services are. */
const GATEWAY = { name: 'gateway', port: 3000 };
/** TALLY_SINGLE_PROCESS=1: the one process that runs every service and the gateway, each in a worker thread. */
const HOST = { name: 'single-process', label: 'single-process host', logName: 'single-process' };
let singleProcess = false;
const logDir = path.join(p.stateDir, 'logs');
/** The current process of each service (a restarted service gets a new one). */
const running = new Map();
/** Exit code of a service whose configuration is invalid (EX_CONFIG, see runService). */
const EX_CONFIG = 78;
let broker;
let stopping = false;

const say = (msg) => process.stdout.write(`[start] ${msg}\n`);
const portEnv = (name) => `${name.toUpperCase().replace(/-/g, '_')}_PORT`;
const portOf = (svc) => Number(process.env[portEnv(svc.name)] || svc.port) + PORT_STEP * (svc.replica ?? 0);
/** Where a service's output goes: its own log, or the host's in single-process mode. */
const logOf = (svc) => path.join(logDir, `${singleProcess ? HOST.logName : svc.logName}.log`);

function ready(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health/ready', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

/** Whether the service answered ready within `timeoutMs` (it may still become ready later). */
async function waitReady(svc, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    if (await ready(portOf(svc))) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

/** Reports each change of a service's readiness from now on (e.g. one that became ready late, or stopped being). */
function watchReadiness(initial) {
  const state = new Map(initial);
  const timer = setInterval(async () => {
    for (const svc of INSTANCES) {
      const now = await ready(portOf(svc));
      if (stopping || now === state.get(svc.label)) continue;
      state.set(svc.label, now);
      say(now ? `${svc.label} is ready` : `${svc.label} is NOT ready (see ${logOf(svc)}); the others keep running`);
      if (now) restarts.set(singleProcess ? HOST.label : svc.label, 0);
    }
  }, 5_000);
  timer.unref();
}

/** Consecutive restarts of a service that has not become ready since (for the backoff). */
const restarts = new Map();

function startService(svc) {
  const label = svc.label ?? svc.name;
  const logName = svc.logName ?? svc.name;
  const log = fs.createWriteStream(path.join(logDir, `${logName}.log`), { flags: 'a' });
  const upstreams = svc === GATEWAY || svc === HOST ? Object.fromEntries(SERVICES.map((s) => [`${portEnv(s.name).replace(/_PORT$/, '')}_URL`, `http://127.0.0.1:${portOf(s)}`])) : {};
  // The host gets every service's port (each thread reads its own <SERVICE>_PORT); a service its own.
  const ports = Object.fromEntries((svc === HOST ? [...SERVICES, GATEWAY] : [svc]).map((s) => [portEnv(s.name), String(portOf(s))]));
  const args =
    svc === HOST
      ? [path.join(__dirname, 'single-process.js'), ...SERVICES.map((s) => s.name), GATEWAY.name]
      : ['-r', path.join(__dirname, 'register.js'), path.join(p.root, 'apps', svc.name, 'src', 'main.ts')];
  const child = spawn(process.execPath, [...SERVICE_NODE_FLAGS, ...args], {
    cwd: p.root,
    env: { ...process.env, ...upstreams, ...ports },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Everything goes to the service's log file; warnings and errors are echoed here too.
  child.stdout.pipe(log);
  child.stderr.on('data', (chunk) => {
    log.write(chunk);
    if (!stopping) process.stderr.write(chunk.toString().replace(/^(?=.)/gm, `[${label}] `));
  });
  child.on('exit', (code, signal) => {
    if (stopping) return;
    if (code === EX_CONFIG) {
      say(`${label} refused its configuration (see above); stopping everything`);
      shutdown(1);
      return;
    }
    const attempt = restarts.get(label) ?? 0;
    restarts.set(label, attempt + 1);
    const delayMs = Math.min(30_000, 1_000 * 2 ** Math.min(attempt, 5));
    say(`${label} stopped unexpectedly (code ${code}, signal ${signal}); ${svc === HOST ? 'every service with it' : 'the others keep running'}; restarting it in ${delayMs / 1000} s (log: ${logDir}/${logName}.log)`);
    setTimeout(() => {
      if (!stopping) startService(svc);
    }, delayMs);
  });
  running.set(label, child);
  return child;
}

function waitExit(child, ms) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  say('stopping services...');
  const children = [...running.values()];
  for (const c of children) c.kill('SIGTERM');
  // The host gives its threads 15 s itself (tools/single-process.js), then reports which did not stop.
  await Promise.all(children.map((c) => waitExit(c, c === running.get(HOST.label) ? 20_000 : 15_000)));
  if (broker) {
    say('stopping the broker...');
    broker.kill('SIGTERM');
    await waitExit(broker, 30_000);
  }
  say('stopped');
  process.exit(code);
}

/** The admin API's bearer token: ADMIN_TOKEN if set, else one generated once into .tally/admin-token. */
function adminToken() {
  if (process.env.ADMIN_TOKEN) return { token: process.env.ADMIN_TOKEN, where: 'ADMIN_TOKEN' };
  const file = path.join(p.stateDir, 'admin-token');
  if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(24).toString('base64url'), { mode: 0o600 });
  return { token: fs.readFileSync(file, 'utf8').trim(), where: file };
}

/**
 * The HMAC secret that signs API-key catalog messages, shared by the services: CATALOG_SIGNING_SECRET if set,
 * else one generated once into .tally/catalog-signing-secret (kept, so keys signed earlier stay valid).
 */
function catalogSigningSecret() {
  return keptSecret('CATALOG_SIGNING_SECRET', 'catalog-signing-secret');
}

/** `name` from the environment, else a random secret generated once into .tally/<file> and kept across starts. */
function keptSecret(name, file) {
  if (process.env[name]) return process.env[name];
  const where = path.join(p.stateDir, file);
  if (!fs.existsSync(where)) fs.writeFileSync(where, crypto.randomBytes(32).toString('base64url'), { mode: 0o600 });
  return fs.readFileSync(where, 'utf8').trim();
}

async function main() {
  fs.mkdirSync(logDir, { recursive: true });
  singleProcess = parseSingleProcess(process.env.TALLY_SINGLE_PROCESS);
  INSTANCES = expandReplicas(SERVICES, parseReplicas(process.env.TALLY_REPLICAS, SERVICES.map((s) => s.name)));
  if (singleProcess && INSTANCES.length > SERVICES.length) throw new Error('TALLY_REPLICAS runs more processes of a service; TALLY_SINGLE_PROCESS=1 runs one process for all: set one or the other');
  const admin = adminToken();
  process.env.ADMIN_TOKEN = admin.token;
  process.env.CATALOG_SIGNING_SECRET = catalogSigningSecret();
  // Customer portal tokens minted by the gateway stay valid across `npm start` restarts.
  process.env.PORTAL_TOKEN_SECRET = keptSecret('PORTAL_TOKEN_SECRET', 'portal-token-secret');
  process.on('SIGINT', () => shutdown(0));
  process.on('SIGTERM', () => shutdown(0));
  if (process.env.KAFKA_BROKERS) {
    say(`using Kafka at ${process.env.KAFKA_BROKERS}`);
  } else if (await kafka.portOpen(p.kafkaPort)) {
    say(`a broker already listens on 127.0.0.1:${p.kafkaPort}; using it`);
  } else {
    say(`starting Kafka on 127.0.0.1:${p.kafkaPort} (logs: ${p.kafkaLogs}/server.log)`);
    broker = kafka.spawnBroker(false);
    broker.on('exit', (code) => {
      if (!stopping) {
        say(`the broker stopped unexpectedly (code ${code})`);
        shutdown(1);
      }
    });
    await kafka.waitForPort(p.kafkaPort, 90_000, broker);
  }
  if (singleProcess) {
    say(`single process (TALLY_SINGLE_PROCESS=1): the services and the gateway as threads of one process (log: ${logOf(HOST)})`);
    startService(HOST);
  } else for (const svc of INSTANCES) startService(svc);
  const readiness = await Promise.all(INSTANCES.map(async (svc) => [svc.label, await waitReady(svc, 120_000)]));
  if (stopping) return;
  if (!singleProcess) startService(GATEWAY);
  const gatewayReady = await waitReady(GATEWAY, 30_000);
  if (stopping) return;
  const notReady = readiness.filter(([, ok]) => !ok).map(([name]) => name);
  say(notReady.length === 0 ? 'Tally is running:' : `Tally is running, but NOT ready yet: ${notReady.join(', ')} (see their logs; the others work, and a change is reported here)`);
  if (singleProcess) say(`  all in one process, pid ${running.get(HOST.label)?.pid}`);
  say(`  API (front door)    http://127.0.0.1:${portOf(GATEWAY)}  (every tenant API; reference: /api/v1/docs)${gatewayReady ? '' : '  NOT READY'}`);
  say('  per service, for operations:');
  for (const svc of INSTANCES) say(`  ${svc.label.padEnd(21)} http://127.0.0.1:${portOf(svc)}  (/health/ready, /metrics)${notReady.includes(svc.label) ? '  NOT READY' : ''}`);
  if (INSTANCES.length > SERVICES.length) say('  (replicas of a service share its consumer group; the front door routes to the first one)');
  watchReadiness(readiness);
  say(`admin API token: ${admin.where === 'ADMIN_TOKEN' ? 'from ADMIN_TOKEN' : `in ${admin.where}`}`);
  say(`logs in ${logDir}; Ctrl-C stops everything`);
}

main().catch((e) => {
  console.error(`[start] ${e.message}`);
  shutdown(1);
});
