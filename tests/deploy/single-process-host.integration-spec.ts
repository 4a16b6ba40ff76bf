import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

const { ServiceHost } = require('../../tools/single-process') as {
  ServiceHost: new (options: {
    names: string[];
    env?: Record<string, string | undefined>;
    dist?: boolean | string;
    stopTimeoutMs?: number;
    stdout?: NodeJS.WritableStream;
    stderr?: NodeJS.WritableStream;
    say?: (msg: string) => void;
  }) => { start(): unknown; stop(signal?: string): Promise<number>; done: Promise<number>; flushed(ms?: number): Promise<void> };
};

/** Collects what is written, line by line. */
class Lines extends Writable {
  text = '';
  _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
  get lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/**
 * The host's lifecycle (tools/single-process.js) with stand-in services: small mains written to a temporary
 * "build" (--dist layout) that behave like a service (a SIGTERM handler that closes and exits) or misbehave
 * (throw, end unasked, ignore the stop, are still starting). Real threads, real process.exit in them; no
 * Kafka or Postgres involved, so every path the real services cannot be made to take on demand is covered.
 */
describe('single-process host lifecycle', () => {
  let dir: string;
  const write = (name: string, body: string) => {
    mkdirSync(path.join(dir, 'apps', name, 'src'), { recursive: true });
    writeFileSync(path.join(dir, 'apps', name, 'src', 'main.js'), body);
  };
  /** A well-behaved service: alive until SIGTERM/SIGINT, then says so and exits 0 after a short close. */
  const wellBehaved = (name: string, extra = '') => `
    const keepAlive = setInterval(() => {}, 1000);
    ${extra}
    const stop = (signal) => { console.log(JSON.stringify({ service: '${name}', message: 'stopping', signal, seen: process.env.SEEN })); clearInterval(keepAlive); setTimeout(() => process.exit(0), 50); };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  `;
  const host = (names: string[], options: { stopTimeoutMs?: number; env?: Record<string, string> } = {}) => {
    const stdout = new Lines();
    const stderr = new Lines();
    const said: string[] = [];
    const h = new ServiceHost({ names, dist: dir, env: { ...process.env, ...options.env }, stopTimeoutMs: options.stopTimeoutMs ?? 5_000, stdout, stderr, say: (m) => said.push(m) });
    h.start();
    return { h, stdout, stderr, said };
  };
  const stopped = (out: Lines) =>
    out.lines
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { service: string; message: string; signal: string; seen?: string })
      .filter((l) => l.message === 'stopping');

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'single-process-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('forwards a stop to every service\'s own handler, with the signal, and ends 0', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('billing', wellBehaved('billing'));
    const { h, stdout } = host(['ingestion', 'billing']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stop('SIGINT')).toBe(0);
    await h.flushed();
    expect(stopped(stdout).map((s) => [s.service, s.signal]).sort()).toEqual([['billing', 'SIGINT'], ['ingestion', 'SIGINT']]);
  });

  it('gives each thread its own environment: what one service sets, another does not see', async () => {
    write('ingestion', wellBehaved('ingestion', "process.env.SEEN = 'set by ingestion';"));
    write('billing', wellBehaved('billing', 'setTimeout(() => {}, 0);'));
    const { h, stdout } = host(['ingestion', 'billing'], { env: { SEEN: 'from the host' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stop()).toBe(0);
    await h.flushed();
    expect(Object.fromEntries(stopped(stdout).map((s) => [s.service, s.seen]))).toEqual({ ingestion: 'set by ingestion', billing: 'from the host' });
  });

  it('delivers a stop that arrives while a service is still starting once it registers its handler', async () => {
    // Registers its handler only after 800 ms, as runService does after listen.
    write('ingestion', `const keepAlive = setInterval(() => {}, 1000); setTimeout(() => { ${wellBehaved('ingestion').replace('const keepAlive = setInterval(() => {}, 1000);', '')} }, 800);`);
    const { h, stdout, said } = host(['ingestion']);
    const started = Date.now();
    expect(await h.stop()).toBe(0);
    await h.flushed();
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect(stopped(stdout).map((s) => s.service)).toEqual(['ingestion']);
    expect(said.join('\n')).not.toContain('cutting it off');
  });

  it('an uncaught error in one service stops the others gracefully and ends 1', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('aggregation', "setInterval(() => {}, 1000); setTimeout(() => { throw new Error('boom in aggregation'); }, 300);");
    write('billing', wellBehaved('billing'));
    const { h, stdout, said } = host(['ingestion', 'aggregation', 'billing']);
    expect(await h.done).toBe(1);
    await h.flushed();
    expect(said.join('\n')).toContain('aggregation crashed: Error: boom in aggregation');
    expect(said.join('\n')).toContain('aggregation stopped (exit code 1); stopping ingestion, billing');
    expect(stopped(stdout).map((s) => s.service).sort()).toEqual(['billing', 'ingestion']);
  });

  it('keeps the code of the service that failed (78 for a refused configuration) and its last words', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('billing', "process.stderr.write('invalid configuration for billing:\\n  - BILLING_JOB_INTERVAL_MS: too small\\n'); process.exit(78);");
    const { h, stderr } = host(['ingestion', 'billing']);
    expect(await h.done).toBe(78);
    await h.flushed();
    expect(stderr.lines).toEqual(expect.arrayContaining(['[billing] invalid configuration for billing:', '[billing]   - BILLING_JOB_INTERVAL_MS: too small']));
  });

  it('treats a service that ends cleanly without being asked as a failure: never a half-running host', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('health-scoring', "console.log('nothing to do');");
    const { h, said } = host(['ingestion', 'health-scoring']);
    expect(await h.done).toBe(1);
    expect(said.join('\n')).toContain('health-scoring stopped (exit code 0)');
  });

  it('cuts off a service that ignores the stop after the timeout and ends 1', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('aggregation', "setInterval(() => {}, 1000); process.on('SIGTERM', () => console.log('ignoring it'));");
    const { h, stdout, said } = host(['ingestion', 'aggregation'], { stopTimeoutMs: 1_000 });
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    expect(await h.stop()).toBe(1);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(said.join('\n')).toContain('aggregation did not stop within 1 s; cutting it off');
    expect(stopped(stdout).map((s) => s.service)).toEqual(['ingestion']);
  });

  it('ends with the code of a service whose own shutdown failed', async () => {
    write('ingestion', wellBehaved('ingestion'));
    write('billing', "setInterval(() => {}, 1000); process.on('SIGTERM', () => process.exit(3));");
    const { h, stdout, said } = host(['ingestion', 'billing']);
    await new Promise((r) => setTimeout(r, 300));
    expect(await h.stop()).toBe(3);
    await h.flushed();
    expect(said.join('\n')).toContain('billing stopped with exit code 3');
    expect(stopped(stdout).map((s) => s.service)).toEqual(['ingestion']);
  });

  it('a second stop (SIGINT after SIGTERM) does not stop twice', async () => {
    write('ingestion', wellBehaved('ingestion'));
    const { h, stdout } = host(['ingestion']);
    await new Promise((r) => setTimeout(r, 300));
    const [a, b] = await Promise.all([h.stop('SIGTERM'), h.stop('SIGINT')]);
    await h.flushed();
    expect([a, b]).toEqual([0, 0]);
    expect(stopped(stdout).map((s) => s.signal)).toEqual(['SIGTERM']);
  });

  it('copies whole lines: a line written in pieces is not split or interleaved', async () => {
    write('ingestion', `${wellBehaved('ingestion')} process.stdout.write('{"service":"ingestion",'); setTimeout(() => process.stdout.write('"message":"in pieces"}\\n'), 100);`);
    write('billing', `${wellBehaved('billing')} for (let i = 0; i < 50; i++) console.log(JSON.stringify({ service: 'billing', message: 'line ' + i }));`);
    const { h, stdout } = host(['ingestion', 'billing']);
    await new Promise((r) => setTimeout(r, 400));
    expect(await h.stop()).toBe(0);
    await h.flushed();
    for (const line of stdout.lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(stdout.lines).toContain('{"service":"ingestion","message":"in pieces"}');
  });
});
