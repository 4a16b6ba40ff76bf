#!/usr/bin/env node
'use strict';
// Local single-node Apache Kafka (KRaft) on the machine's JVM, from the jars `npm run setup` fetched.
//   node tools/kafka.js fetch   - fetch the pinned broker jars with Maven (idempotent)
//   node tools/kafka.js format  - format the KRaft storage once (idempotent)
//   node tools/kafka.js run     - run the broker in the foreground (Ctrl-C stops it)
//   node tools/kafka.js ensure  - start it in the background unless it already answers
//   node tools/kafka.js stop    - stop a broker started by `ensure`
// Dependency-free on purpose: it runs before `npm install` has.
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn, spawnSync } = require('node:child_process');
const p = require('./local-paths');

const KAFKA_VERSION = fs
  .readFileSync(path.join(__dirname, 'kafka', 'pom.xml'), 'utf8')
  .match(/<kafka\.version>([^<]+)</)[1];
const stamp = path.join(p.kafkaLibs, `.complete-${KAFKA_VERSION}`);

function log(msg) {
  process.stdout.write(`[kafka] ${msg}\n`);
}

function need(cmd, hint) {
  const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${cmd} not found on PATH: ${hint}`);
}

function fetchJars() {
  if (fs.existsSync(stamp)) return false;
  need('java', 'install a JDK 17+ (or set KAFKA_BROKERS to use an existing broker)');
  need('mvn', 'install Apache Maven (or set KAFKA_BROKERS to use an existing broker)');
  log(`fetching Apache Kafka ${KAFKA_VERSION} broker jars with Maven...`);
  fs.rmSync(p.kafkaLibs, { recursive: true, force: true });
  const r = spawnSync(
    'mvn',
    ['-q', '-B', '-f', path.join(__dirname, 'kafka', 'pom.xml'), 'dependency:copy-dependencies',
      `-DoutputDirectory=${p.kafkaLibs}`, '-DincludeScope=runtime'],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) throw new Error('mvn could not fetch the Kafka broker jars (see output above)');
  fs.writeFileSync(stamp, new Date().toISOString());
  return true;
}

function writeConfig() {
  fs.mkdirSync(p.kafkaLogs, { recursive: true });
  const props = [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${p.kafkaControllerPort}`,
    `listeners=PLAINTEXT://127.0.0.1:${p.kafkaPort},CONTROLLER://127.0.0.1:${p.kafkaControllerPort}`,
    `advertised.listeners=PLAINTEXT://127.0.0.1:${p.kafkaPort}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${p.kafkaData}`,
    'num.partitions=3',
    // A single node cannot replicate: internal topics need a replication factor of 1.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'group.initial.rebalance.delay.ms=0',
    'auto.create.topics.enable=true',
    'log.retention.hours=168',
    'log.segment.bytes=134217728',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(p.kafkaDir, 'server.properties'), props);
  const log4j = [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${path.join(p.kafkaLogs, 'server.log')}`,
    `appender.file.filePattern = ${path.join(p.kafkaLogs, 'server.log.%i')}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 50MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 3',
    'rootLogger.level = INFO',
    'rootLogger.appenderRef.file.ref = file',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(p.kafkaDir, 'log4j2.properties'), log4j);
}

function javaArgs(mainClass, args) {
  return [
    '-Xms256m', '-Xmx1g', '-XX:+UseG1GC', '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${path.join(p.kafkaDir, 'log4j2.properties')}`,
    `-Dkafka.logs.dir=${p.kafkaLogs}`,
    '-cp', path.join(p.kafkaLibs, '*'),
    mainClass, ...args,
  ];
}

function format() {
  writeConfig();
  if (fs.existsSync(path.join(p.kafkaData, 'meta.properties'))) return false;
  const clusterId = crypto.randomBytes(16).toString('base64url');
  log(`formatting KRaft storage (cluster ${clusterId})...`);
  const r = spawnSync('java', javaArgs('kafka.tools.StorageTool',
    // `--cluster-id=`: a base64url id may begin with '-', which the tool's parser would take for an option.
    ['format', `--cluster-id=${clusterId}`, '-c', path.join(p.kafkaDir, 'server.properties')]), { stdio: 'inherit' });
  if (r.status !== 0) throw new Error('formatting the Kafka storage failed');
  return true;
}

function portOpen(port, host = '127.0.0.1', timeoutMs = 500) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function waitForPort(port, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`broker exited with code ${child.exitCode}; see ${p.kafkaLogs}/server.log`);
    if (await portOpen(port)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`broker did not listen on ${port} within ${timeoutMs} ms; see ${p.kafkaLogs}/server.log`);
}

function spawnBroker(detached) {
  fetchJars();
  format();
  const child = spawn('java', javaArgs('kafka.Kafka', [path.join(p.kafkaDir, 'server.properties')]), {
    detached,
    stdio: detached ? 'ignore' : ['ignore', 'inherit', 'inherit'],
  });
  fs.writeFileSync(p.kafkaPidFile, String(child.pid));
  return child;
}

async function ensure() {
  if (await portOpen(p.kafkaPort)) return { started: false };
  log(`starting a local broker on 127.0.0.1:${p.kafkaPort}...`);
  const child = spawnBroker(true);
  child.unref();
  await waitForPort(p.kafkaPort, 90_000, child);
  return { started: true, pid: child.pid };
}

function stop() {
  if (!fs.existsSync(p.kafkaPidFile)) return false;
  const pid = Number(fs.readFileSync(p.kafkaPidFile, 'utf8'));
  fs.rmSync(p.kafkaPidFile, { force: true });
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try { process.kill(pid, 0); } catch { return true; }
    spawnSync('sleep', ['0.2']);
  }
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  return true;
}

async function run() {
  const child = spawnBroker(false);
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => {
    fs.rmSync(p.kafkaPidFile, { force: true });
    process.exit(code ?? 0);
  });
}

module.exports = { fetchJars, format, ensure, stop, portOpen, waitForPort, spawnBroker, KAFKA_VERSION };

if (require.main === module) {
  const cmd = process.argv[2];
  const actions = {
    fetch: async () => fetchJars(),
    format: async () => format(),
    run,
    ensure: async () => {
      const result = await ensure();
      // --json: one machine-readable line for callers (the test harness).
      if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(result)}\n`);
      else log(result.started ? `started (pid ${result.pid})` : 'already running');
    },
    stop: async () => log(stop() ? 'stopped' : 'no broker started by tools/kafka.js is running'),
  };
  if (!actions[cmd]) {
    console.error('usage: node tools/kafka.js fetch|format|run|ensure|stop');
    process.exit(2);
  }
  actions[cmd]().catch((e) => {
    console.error(`[kafka] ${e.message}`);
    process.exit(1);
  });
}
