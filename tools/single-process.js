#!/usr/bin/env node
'use strict';
// Single-process mode (performance issue #15): several Tally services in ONE Node process, each in its own
// worker thread with its own copy of the environment. Every service runs its unchanged main (as `npm start`
// runs it: tools/register.js + apps/<service>/src/main.ts, or with --dist[=DIR] the compiled
// DIR/apps/<service>/src/main.js of `node tools/build.js [DIR]` (default dist/server, as the image)), so it keeps its topics,
// consumer group, schema, HTTP port, /health and /metrics. Threads give each service its own module
// registry: its own process.env, prom-client default registry and OpenTelemetry SDK, none shared.
//   node --max-semi-space-size=32 tools/single-process.js [--dist[=DIR]] [service ...]   (default: the five services)
// SIGTERM/SIGINT stops every service through its own shutdown hooks (exit 0 once all have stopped cleanly; the
// code of one whose shutdown failed, or 1 if one had to be cut off after the stop timeout). A service that stops by itself (crash, refused configuration,
// port taken) stops the others and the host exits with that service's code (78 for a refused configuration,
// as a service's own process), so a supervisor sees one failed process and never a half-running one.
const fs = require('node:fs');
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const ROOT = path.resolve(__dirname, '..');
/** What the host can run, with each one's default port (as in the services' definitions and the gateway's config). */
const DEFAULT_PORTS = { ingestion: 3001, aggregation: 3002, 'threshold-alerting': 3003, billing: 3004, 'health-scoring': 3005, gateway: 3000 };
const FIVE_SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'];
const EX_CONFIG = 78;
const STOP_TIMEOUT_MS = 15_000;

const envPrefix = (name) => name.toUpperCase().replace(/-/g, '_');

/** TALLY_SINGLE_PROCESS: unset, '' or '0' = a process per service, '1' = this host; anything else is refused. */
function parseSingleProcess(value) {
  if (value === undefined || value.trim() === '' || value.trim() === '0') return false;
  if (value.trim() === '1') return true;
  throw new Error(`TALLY_SINGLE_PROCESS: "${value}" is neither 1 (every service in one process) nor 0 (a process per service)`);
}

/** The services named on the command line (the five by default); unknown or repeated names are refused. */
function parseServiceNames(args) {
  if (args.length === 0) return [...FIVE_SERVICES];
  const seen = new Set();
  for (const name of args) {
    if (!Object.hasOwn(DEFAULT_PORTS, name)) throw new Error(`single-process: unknown service "${name}" (one of ${Object.keys(DEFAULT_PORTS).join(', ')})`);
    if (seen.has(name)) throw new Error(`single-process: "${name}" is named twice (one thread per service; replicas need processes)`);
    seen.add(name);
  }
  return args;
}

/**
 * Settings that, set once for the whole host, would make its services collide: one schema, one consumer group,
 * one port. Each service reads `<SERVICE>_<NAME>` before `<NAME>` (service-config.ts; the gateway GATEWAY_PORT),
 * so those are fine; what counts for ports is the port each service ends up with (PORT, its own, its default).
 */
function configProblems(names, env) {
  if (names.length < 2) return [];
  const problems = [];
  const services = names.filter((n) => n !== 'gateway');
  for (const [variable, users] of Object.entries({ DB_SCHEMA: services, CONSUMER_GROUP: services })) {
    if (env[variable] === undefined || users.length < 2) continue;
    const missing = users.filter((n) => env[`${envPrefix(n)}_${variable}`] === undefined);
    if (missing.length > 1) problems.push(`${variable}=${env[variable]} would be shared by ${missing.join(', ')}: unset it or set ${missing.map((n) => `${envPrefix(n)}_${variable}`).join(', ')}`);
  }
  const byPort = new Map();
  for (const name of names) {
    const port = env[`${envPrefix(name)}_PORT`] ?? env.PORT ?? String(DEFAULT_PORTS[name]);
    // Port 0 (any free port) cannot collide.
    if (port.trim() === '0') continue;
    byPort.set(port, [...(byPort.get(port) ?? []), name]);
  }
  for (const [port, users] of byPort) if (users.length > 1) problems.push(`port ${port} is set for ${users.join(' and ')}: each service needs its own (<SERVICE>_PORT)`);
  return problems;
}

/**
 * How a service's main is loaded: from source as `npm start` does, or compiled (tools/build.js) as the image
 * does: `dist` true for dist/server, or the directory tools/build.js wrote (relative to `root`).
 */
function serviceEntry(name, { root = ROOT, dist = false } = {}) {
  if (dist) return { entry: path.resolve(root, dist === true ? 'dist/server' : dist, 'apps', name, 'src/main.js'), preload: [] };
  return { entry: path.join(root, 'apps', name, 'src/main.ts'), preload: [path.join(root, 'tools/register.js')] };
}

/** Copies a stream to `out` whole line by whole line, so two threads' log lines never interleave mid-line. */
function pipeLines(stream, out, prefix) {
  let rest = '';
  const write = (line) => out.write(prefix && !line.startsWith('{') ? `${prefix}${line}\n` : `${line}\n`);
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop();
    for (const line of lines) write(line);
  });
  return new Promise((resolve) =>
    stream.on('end', () => {
      if (rest) write(rest);
      rest = '';
      resolve();
    }),
  );
}

/**
 * The running services of one host. `done` resolves with the exit code the host should end with, once every
 * thread has ended: 0 after a stop() in which every service stopped cleanly; else the code of the first service
 * that ended without being asked (at least 1), or that failed its shutdown, or 1 if one had to be cut off.
 */
class ServiceHost {
  constructor({ names, env = process.env, root = ROOT, dist = false, stopTimeoutMs = STOP_TIMEOUT_MS, stdout = process.stdout, stderr = process.stderr, say } = {}) {
    this.names = names;
    this.env = env;
    this.root = root;
    this.dist = dist;
    this.stopTimeoutMs = stopTimeoutMs;
    this.stdout = stdout;
    this.stderr = stderr;
    this.say = say ?? ((msg) => stderr.write(`[single-process] ${msg}\n`));
    this.workers = new Map();
    /** Ends of the threads' stdout and stderr: a service's last words (e.g. why it refused its configuration) come after its exit event. */
    this.outputEnded = [];
    this.stopping = false;
    this.code = 0;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start() {
    const entries = this.names.map((name) => [name, serviceEntry(name, { root: this.root, dist: this.dist })]);
    const missing = entries.filter(([, { entry }]) => !fs.existsSync(entry)).map(([, { entry }]) => path.relative(this.root, entry));
    if (missing.length > 0) throw new Error(`single-process: ${missing.join(', ')} not found${this.dist ? ' (run node tools/build.js first)' : ''}`);
    for (const [name, { entry, preload }] of entries) {
      const worker = new Worker(path.join(__dirname, 'service-worker.js'), {
        workerData: { entry, preload },
        // Its own copy: what one service changes in process.env no other sees.
        env: { ...this.env },
        stdout: true,
        stderr: true,
      });
      this.outputEnded.push(pipeLines(worker.stdout, this.stdout), pipeLines(worker.stderr, this.stderr, `[${name}] `));
      worker.on('error', (e) => this.say(`${name} crashed: ${e?.stack ?? e}`));
      worker.on('exit', (code) => this.onExit(name, code));
      this.workers.set(name, worker);
    }
    return this;
  }

  onExit(name, code) {
    this.workers.delete(name);
    if (!this.stopping) {
      // Nothing asked it to stop: a crash, a refused configuration, a port taken, or an unexpected clean end.
      this.code = code || 1;
      this.say(`${name} stopped (exit code ${code}); stopping ${this.workers.size > 0 ? [...this.workers.keys()].join(', ') : 'the host'}`);
      void this.stop('SIGTERM', true);
    } else if (code !== 0 && this.code === 0) {
      // Asked to stop, but its shutdown failed: the stop was not clean.
      this.code = code;
      this.say(`${name} stopped with exit code ${code}`);
    }
    if (this.workers.size === 0) this.resolveDone(this.code);
  }

  /** Asks every service to stop through its own shutdown hooks; cuts off any still running after the timeout. */
  async stop(signal = 'SIGTERM', failing = false) {
    if (this.stopping) return this.done;
    this.stopping = true;
    if (!failing) this.say(`${signal}: stopping ${[...this.workers.keys()].join(', ')}`);
    const running = [...this.workers];
    for (const [, worker] of running) worker.postMessage({ type: 'stop', signal });
    const timer = setTimeout(() => {
      for (const [name, worker] of this.workers) {
        this.say(`${name} did not stop within ${this.stopTimeoutMs / 1000} s; cutting it off`);
        if (this.code === 0) this.code = 1;
        void worker.terminate();
      }
    }, this.stopTimeoutMs);
    timer.unref();
    if (this.workers.size === 0) this.resolveDone(this.code);
    const code = await this.done;
    clearTimeout(timer);
    return code;
  }

  /** Resolves once every thread's output has been copied (or after `ms`, whichever is first). */
  async flushed(ms = 2_000) {
    await Promise.race([Promise.all(this.outputEnded), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}

async function main(argv = process.argv.slice(2)) {
  const distArg = argv.find((a) => a === '--dist' || a.startsWith('--dist='));
  const dist = distArg === undefined ? false : distArg === '--dist' ? true : path.resolve(distArg.slice('--dist='.length));
  const unknownFlag = argv.find((a) => a.startsWith('-') && a !== distArg);
  let names;
  try {
    if (unknownFlag) throw new Error(`single-process: unknown option ${unknownFlag} (only --dist[=DIR])`);
    if (dist === path.resolve('')) throw new Error('single-process: --dist= needs the directory tools/build.js wrote');
    names = parseServiceNames(argv.filter((a) => !a.startsWith('-')));
    const problems = configProblems(names, process.env);
    if (problems.length > 0) throw new Error(`single-process: invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(EX_CONFIG);
  }
  const host = new ServiceHost({ names, dist });
  process.on('SIGTERM', () => void host.stop('SIGTERM'));
  process.on('SIGINT', () => void host.stop('SIGINT'));
  try {
    host.start();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
  host.say(`pid ${process.pid}: ${names.join(', ')} (one thread each)`);
  const code = await host.done;
  await host.flushed();
  process.exit(code);
}

if (require.main === module) void main();

module.exports = { parseSingleProcess, parseServiceNames, configProblems, serviceEntry, ServiceHost, DEFAULT_PORTS, FIVE_SERVICES, EX_CONFIG };
