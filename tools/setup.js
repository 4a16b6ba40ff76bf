#!/usr/bin/env node
'use strict';
// `npm run setup`: idempotent one-machine set-up, called by `npm start` and `npm test` too.
//  1. Node packages (npm ci when node_modules is missing or older than package-lock.json)
//  2. unless KAFKA_BROKERS is set: the pinned Kafka broker jars (Maven) and formatted KRaft storage
//  3. unless DATABASE_URL is set: the `tally` database on the local Postgres, one schema per service,
//     migrations applied
// Dependency-free until step 1 has installed packages.
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawnSync } = require('node:child_process');
const p = require('./local-paths');

const started = Date.now();
const say = (msg) => process.stdout.write(`[setup] ${msg}\n`);

function checkNode() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  if (major < 20 || (major === 20 && minor < 19)) {
    throw new Error(`Node ${process.versions.node} is too old: Tally needs Node 20.19+, 22.12+ or 24`);
  }
}

function installPackages() {
  const lock = path.join(p.root, 'package-lock.json');
  const lockHash = crypto.createHash('sha256').update(fs.readFileSync(lock)).digest('hex');
  const marker = path.join(p.root, 'node_modules', '.tally-lock-hash');
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === lockHash) return;
  say('installing Node packages (npm ci)...');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: p.root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm ci failed (see output above)');
  fs.writeFileSync(marker, lockHash);
}

function setUpKafka() {
  if (process.env.KAFKA_BROKERS) {
    say(`KAFKA_BROKERS=${process.env.KAFKA_BROKERS}: using that broker, no local one`);
    return;
  }
  const kafka = require('./kafka');
  kafka.fetchJars();
  kafka.format();
}

function setUpDatabase() {
  if (process.env.DATABASE_URL) {
    say('DATABASE_URL is set: services migrate their own schemas there on start');
    return;
  }
  const r = spawnSync(process.execPath, ['-r', path.join(__dirname, 'register.js'), path.join(__dirname, 'migrate.ts')], {
    cwd: p.root,
    stdio: 'inherit',
  });
  if (r.status !== 0) throw new Error('database set-up failed (see output above)');
}

try {
  checkNode();
  fs.mkdirSync(p.stateDir, { recursive: true });
  installPackages();
  setUpKafka();
  setUpDatabase();
  say(`ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (e) {
  console.error(`[setup] ${e.message}`);
  process.exit(1);
}
