import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { expectEventually, TestSuite } from '@tally/testing';
import { freePort, isReady } from '../../bench/local-http';

const ROOT = path.resolve(__dirname, '../..');
const SERVICES = ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring'];
const envPrefix = (name: string) => name.toUpperCase().replace(/-/g, '_');

/**
 * Single-process mode on the compiled services (tools/build.js, as the image runs them): `--dist=DIR` loads
 * DIR/apps/<service>/src/main.js in each thread with no register hook; a directory without a build is refused.
 */
describe('single-process mode on the compiled build', () => {
  const suite = new TestSuite();
  // Inside the repository so the compiled code finds node_modules (as /app/dist/server finds /app/node_modules).
  const out = path.join(ROOT, '.tally', `build-${suite.topicPrefix.replace(/[^a-z0-9]/gi, '')}`);

  beforeAll(async () => {
    await new Promise<void>((resolve, reject) => {
      const build = spawn(process.execPath, [path.join(ROOT, 'tools/build.js'), out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      build.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      build.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tools/build.js exited ${code}: ${err}`))));
    });
  }, 120_000);

  afterAll(async () => {
    rmSync(out, { recursive: true, force: true });
    await suite.cleanup();
  }, 60_000);

  const host = (args: string[], env: Record<string, string>) => {
    let output = '';
    const child = spawn(process.execPath, ['--enable-source-maps', '--max-semi-space-size=32', path.join(ROOT, 'tools/single-process.js'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        DATABASE_URL: suite.databaseUrl,
        KAFKA_BROKERS: suite.kafkaBrokers,
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: '2',
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        ADMIN_TOKEN: 'single-compiled-admin-token-0123456789',
        LOG_LEVEL: 'info',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, exited, output: () => output };
  };

  it('runs the five compiled services in one process without ts-node and stops them on SIGTERM', async () => {
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)));
    const env = Object.fromEntries(SERVICES.flatMap((s) => [[`${envPrefix(s)}_PORT`, String(ports[s])], [`${envPrefix(s)}_DB_SCHEMA`, suite.schema(s)]]));
    const h = host([`--dist=${out}`], env);
    try {
      await expectEventually(async () => {
        expect(h.child.exitCode).toBeNull();
        for (const s of SERVICES) expect([s, await isReady(ports[s])]).toEqual([s, true]);
      }, 120_000, 500);
    } finally {
      h.child.kill('SIGTERM');
    }
    expect(await h.exited).toBe(0);
  }, 200_000);

  it('refuses a directory without a build, starting nothing', async () => {
    const h = host([`--dist=${path.join(out, 'nothing-here')}`, 'ingestion'], {});
    expect(await h.exited).toBe(1);
    expect(h.output()).toContain(`single-process: ${path.relative(ROOT, path.join(out, 'nothing-here/apps/ingestion/src/main.js'))} not found (run node tools/build.js first)`);
  }, 30_000);

  it.each([['--dist='], ['--dists'], ['-d']])('refuses the option %p', async (arg) => {
    const h = host([arg, 'ingestion'], {});
    expect(await h.exited).toBe(78);
    expect(h.output()).toMatch(/single-process: (unknown option|--dist= needs)/);
  }, 30_000);
});
