#!/usr/bin/env node
'use strict';
// `npm run setup`: idempotent one-machine set-up, called by `npm start` and `npm test` too.
//  1. Node packages (npm ci when node_modules is missing or older than package-lock.json)
//  2. unless KAFKA_BROKERS is set: the pinned Kafka broker jars (Maven) and formatted KRaft storage
//  3. unless DATABASE_URL is set: the `tally` database on the local Postgres, one schema per service,
//     migrations applied
//  4. the dashboard (apps/dashboard) built into dist/apps/dashboard, skipped while its sources are unchanged
//  5. for the tests (not `npm start`): Debian's chromium for the browser tests, when missing and we are root
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

/** A hash of the dashboard's sources and the lock file: the build is redone only when one of them changed. */
function dashboardSourceHash(dir) {
  const hash = crypto.createHash('sha256');
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (!/\.spec\.tsx?$/.test(entry.name) && entry.name !== 'README.md') hash.update(`${path.relative(dir, full)}\0`).update(fs.readFileSync(full));
    }
  };
  walk(dir);
  hash.update(fs.readFileSync(path.join(p.root, 'package-lock.json')));
  return hash.digest('hex');
}

function buildDashboard() {
  const dir = path.join(p.root, 'apps', 'dashboard');
  const out = path.join(p.root, 'dist', 'apps', 'dashboard');
  const marker = path.join(out, '.source-hash');
  const sourceHash = dashboardSourceHash(dir);
  if (fs.existsSync(path.join(out, 'index.html')) && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === sourceHash) return;
  const vite = path.join(p.root, 'node_modules', 'vite', 'bin', 'vite.js');
  if (!fs.existsSync(vite)) {
    say('vite is not installed (production install?): the dashboard is not built, /dashboard/ answers 404');
    return;
  }
  say('building the dashboard (apps/dashboard -> dist/apps/dashboard)...');
  const r = spawnSync(process.execPath, [vite, 'build', '--config', path.join(dir, 'vite.config.mts'), '--logLevel', 'warn'], { cwd: p.root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('the dashboard build failed (see output above)');
  fs.writeFileSync(marker, sourceHash);
}

/**
 * The browser tests drive Debian's chromium (never a downloaded browser). Installed for `npm test`/`npm run setup`
 * when missing and we may (root, apt-get present); otherwise those tests skip themselves with a message.
 */
function ensureChromium() {
  const chromium = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (fs.existsSync(chromium) || process.env.npm_lifecycle_event === 'start' || process.env.TALLY_SKIP_BROWSER_INSTALL) return;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0 || !fs.existsSync('/usr/bin/apt-get')) {
    say(`no Chromium at ${chromium} and not root with apt-get: the browser tests will be skipped (apt-get install chromium)`);
    return;
  }
  say('installing Debian\'s chromium for the browser tests (apt-get)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const ok = spawnSync('apt-get', ['update'], { stdio: 'inherit', env }).status === 0 && spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { stdio: 'inherit', env }).status === 0;
  if (!ok) say('apt-get could not install chromium: the browser tests will be skipped');
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
};

/**
 * Two set-ups at once (`npm start` in one terminal, `npm test` in another) would run two `npm ci` into
 * the same node_modules and break both; the second waits for the first instead. The lock is a file created
 * exclusively and holding its owner's pid. A lock whose holder died (or that stayed empty: its holder died
 * right after creating it) is taken over by renaming it away, which only one waiter can do.
 */
function withSetupLock(work) {
  const lock = path.join(p.stateDir, 'setup.lock');
  const deadline = Date.now() + 15 * 60_000;
  const readHolder = (file) => {
    try {
      const st = fs.statSync(file);
      // A directory is the lock of an older Tally (its pid in a file inside).
      const pidFile = st.isDirectory() ? path.join(file, 'pid') : file;
      const pid = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8') || 0) : 0;
      return { pid, ino: st.ino, ageMs: Date.now() - st.mtimeMs };
    } catch (e) {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    }
  };
  for (let waited = false; ; ) {
    try {
      const fd = fs.openSync(lock, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = readHolder(lock);
    if (!holder) continue;
    if (holder.pid ? !alive(holder.pid) : holder.ageMs > 10_000) {
      const away = `${lock}.stale-${process.pid}`;
      try {
        fs.renameSync(lock, away);
      } catch (e) {
        if (e.code === 'ENOENT') continue; // another waiter took it over first
        throw e;
      }
      // Between reading and renaming, another waiter may have taken over and created a fresh lock: put it back.
      if (readHolder(away)?.ino !== holder.ino) {
        try {
          fs.linkSync(away, lock);
        } catch (e) {
          if (e.code !== 'EEXIST') throw e;
        }
      }
      fs.rmSync(away, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another set-up (pid ${holder.pid || '?'}) has held ${lock} for 15 minutes`);
    if (!waited) say(`waiting for another set-up (pid ${holder.pid || '?'}) to finish...`);
    waited = true;
    sleep(500);
  }
  try {
    work();
  } finally {
    // Only our own lock: if it was (wrongly) taken over, the new holder's file stays.
    if (readHolder(lock)?.pid === process.pid) fs.rmSync(lock, { force: true });
  }
}

try {
  checkNode();
  fs.mkdirSync(p.stateDir, { recursive: true });
  withSetupLock(() => {
    installPackages();
    setUpKafka();
    setUpDatabase();
    buildDashboard();
    ensureChromium();
  });
  say(`ready (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (e) {
  console.error(`[setup] ${e.message}`);
  process.exit(1);
}
