import { spawn, type ChildProcess } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { TOPICS } from '@tally/contracts';
import { expectEventually, TestSuite } from '@tally/testing';
import { freePort, isReady, postJson } from '../../bench/local-http';

const ROOT = path.resolve(__dirname, '../..');
const ADMIN = 'compiled-admin-token-0123456789';

function* jsFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* jsFiles(full);
    else if (full.endsWith('.js')) yield full;
  }
}

/**
 * What the production image does, without Docker (none where the tests run): the Dockerfile's build command
 * (`node tools/build.js`), then a service started from the compiled JavaScript with plain `node`, no
 * register hook, against the real broker and Postgres. What it cannot check: the image's layers, its user and
 * its size, `npm ci --omit=dev` (checked instead: every package the compiled code requires is a production
 * dependency), and the vite dashboard build.
 */
describe('production build: compiled JavaScript, started with node', () => {
  const suite = new TestSuite();
  // Inside the repository so the compiled code finds node_modules the way /app/dist/server finds /app/node_modules.
  const out = path.join(ROOT, '.tally', `build-${suite.topicPrefix.replace(/[^a-z0-9]/gi, '')}`);
  let child: ChildProcess | undefined;
  let gateway: ChildProcess | undefined;
  let stderr = '';

  beforeAll(async () => {
    await new Promise<void>((resolve, reject) => {
      const build = spawn(process.execPath, [path.join(ROOT, 'tools/build.js'), out], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      build.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      build.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tools/build.js exited ${code}: ${err}`))));
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of [gateway, child]) {
      if (c && c.exitCode === null && !c.signalCode) {
        c.kill('SIGTERM');
        await new Promise((r) => c.once('exit', r));
      }
    }
    rmSync(out, { recursive: true, force: true });
    await suite.cleanup();
  }, 60_000);

  it('emits JavaScript only, for every service and the gateway, without tests or test support', () => {
    for (const service of ['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring', 'gateway']) {
      expect(existsSync(path.join(out, 'apps', service, 'src', 'main.js'))).toBe(true);
    }
    const all = [...jsFiles(out)].map((f) => path.relative(out, f));
    expect(all.filter((f) => /\.(spec|integration-spec|e2e-spec|testing)\.js$|test-support|libs\/testing/.test(f))).toEqual([]);
    // The gateway's OpenAPI document is required as JSON beside the code.
    expect(existsSync(path.join(out, 'apps/gateway/src/openapi/openapi.json'))).toBe(true);
  });

  it('requires only Node built-ins, its own files and production dependencies (the image has no dev dependencies)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const builtins = new Set(builtinModules);
    const outside: string[] = [];
    for (const file of jsFiles(out)) {
      for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
        if (spec.startsWith('.')) {
          // Path aliases were rewritten to relative paths that exist in the output.
          const target = path.resolve(path.dirname(file), spec);
          if (![target, `${target}.js`, path.join(target, 'index.js')].some((t) => existsSync(t))) outside.push(`${spec} (missing) in ${path.relative(out, file)}`);
          continue;
        }
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (builtins.has(name.replace(/^node:/, '')) || pkg.dependencies[name]) continue;
        outside.push(`${spec} in ${path.relative(out, file)}`);
      }
    }
    expect(outside).toEqual([]);
  });

  it('starts a compiled service with plain node: ready, migrated, and ingesting to Kafka', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['--enable-source-maps', path.join(out, 'apps/ingestion/src/main.js')], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        PORT: String(port),
        DATABASE_URL: suite.databaseUrl,
        KAFKA_BROKERS: suite.kafkaBrokers,
        DB_SCHEMA: suite.schema('ingestion'),
        KAFKA_TOPIC_PREFIX: suite.topicPrefix,
        KAFKA_PARTITIONS: '2',
        CATALOG_SIGNING_SECRET: suite.catalogSigningSecret,
        ADMIN_TOKEN: ADMIN,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const started = Date.now();
    await expectEventually(async () => {
      expect({ exitCode: child!.exitCode, stderr: stderr.slice(-2000) }).toMatchObject({ exitCode: null });
      expect(await isReady(port)).toBe(true);
    }, 90_000);
    process.stdout.write(`compiled ingestion ready in ${Date.now() - started} ms\n`);
    // Nothing compiled at run time: neither ts-node nor TypeScript was loaded by the process.
    expect(stderr).not.toMatch(/ts-node|typescript/i);

    const collector = await suite.collect([TOPICS.usageEvents]);
    await postJson(port, '/api/v1/admin/tenants', ADMIN, { id: 'acme', name: 'Acme' });
    const { key } = (await postJson(port, '/api/v1/admin/tenants/acme/api-keys', ADMIN, { name: 'compiled' })) as { key: string };
    await postJson(port, '/api/v1/meters', key, { slug: 'calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' });
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({ specversion: '1.0', id: 'evt-1', source: 'compiled', type: 'api.call', subject: 'c-1', time: new Date().toISOString(), data: { calls: 3 } }),
    });
    expect(res.status).toBe(202);
    await expectEventually(() => expect(collector.on<{ id: string; subject: string }>(TOPICS.usageEvents).map((m) => m.value.id)).toEqual(['evt-1']));
    // Nest's dependency injection worked from the compiled decorators' metadata (the request went through
    // guards, controllers and services), and the migrations ran from the compiled classes.
    const [{ n }] = await suite.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${suite.schema('ingestion')}".meters`);
    expect(n).toBe(1);

    // The compiled gateway in front of it: its OpenAPI document (a JSON file beside the code) is served, and a tenant
    // call is routed to the compiled ingestion.
    const gatewayPort = await freePort();
    let gatewayErr = '';
    gateway = spawn(process.execPath, [path.join(out, 'apps/gateway/src/main.js')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', GATEWAY_PORT: String(gatewayPort), INGESTION_URL: `http://127.0.0.1:${port}`, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    gateway.stderr!.on('data', (c: Buffer) => (gatewayErr += c.toString()));
    const doc = await expectEventually(async () => {
      expect({ exitCode: gateway!.exitCode, stderr: gatewayErr.slice(-2000) }).toMatchObject({ exitCode: null });
      const res = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/openapi.json`);
      expect(res.status).toBe(200);
      return (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    }, 60_000);
    expect(doc.openapi).toMatch(/^3\.1/);
    expect(doc.paths['/api/v1/events']).toBeDefined();
    const meters = await fetch(`http://127.0.0.1:${gatewayPort}/api/v1/meters`, { headers: { authorization: `Bearer ${key}` } });
    expect(meters.status).toBe(200);
    expect(JSON.stringify(await meters.json())).toContain('"calls"');
  }, 180_000);
});
