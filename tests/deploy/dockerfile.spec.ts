import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICES } from '../../tools/services';
const { SERVICE_NODE_FLAGS } = require('../../tools/service-node-flags') as { SERVICE_NODE_FLAGS: string[] };

// There is no Docker engine where the tests run, so the Dockerfile is read and checked against the repository;
// tests/deploy/compiled-image.integration-spec.ts runs its build command and starts the compiled output.
const ROOT = path.resolve(__dirname, '../..');
const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

interface Stage {
  from: string;
  name?: string;
  instructions: Array<{ op: string; args: string }>;
}
const stages: Stage[] = [];
for (const line of lines) {
  const [op, ...rest] = line.split(/\s+/);
  const args = rest.join(' ');
  if (op.toUpperCase() === 'FROM') {
    const [image, as, name] = args.split(/\s+/);
    stages.push({ from: image, name: as?.toUpperCase() === 'AS' ? name : undefined, instructions: [] });
  } else stages[stages.length - 1].instructions.push({ op: op.toUpperCase(), args });
}
const runtime = stages[stages.length - 1];
const all = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op).map((i) => i.args);

describe('Dockerfile', () => {
  it('is multi-stage on node:24-slim (the current Node LTS) in every stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.from).toBe('node:24-slim');
  });

  it('compiles in a build stage with the command the compiled-image test runs', () => {
    const build = stages.find((s) => s.name === 'build')!;
    expect(all(build, 'RUN').join(' ')).toContain('node tools/build.js dist/server');
    expect(existsSync(path.join(ROOT, 'tools/build.js'))).toBe(true);
  });

  it('runtime: production dependencies only, compiled code only, a non-root user, plain node on dist/server', () => {
    const copies = all(runtime, 'COPY');
    // node_modules from a stage that ran `npm ci --omit=dev`.
    const depsFrom = copies.find((c) => c.includes('node_modules'))!.match(/--from=(\S+)/)![1];
    expect(all(stages.find((s) => s.name === depsFrom)!, 'RUN').join(' ')).toMatch(/npm ci --omit=dev/);
    // No sources, no tools, no TypeScript config in the runtime stage.
    expect(copies.filter((c) => !c.includes('--from=')).map((c) => c.split(/\s+/)[0])).toEqual(['package.json']);
    expect(copies.some((c) => /\b(apps|libs|tools|tsconfig)/.test(c.split(/\s+/).slice(-2, -1)[0] ?? ''))).toBe(false);
    expect(all(runtime, 'USER')).toEqual(['node']);
    expect(all(runtime, 'ENV')).toContain('NODE_ENV=production');
    const cmd = all(runtime, 'CMD').join(' ');
    expect(cmd).toContain(`node --enable-source-maps ${SERVICE_NODE_FLAGS.join(' ')} dist/server/apps/\${SERVICE}/src/main.js`);
    expect(cmd).not.toMatch(/ts-node|register|\.ts\b/);
  });

  it('every COPY source of the build context exists, and every service has the main.ts the build compiles', () => {
    for (const stage of stages) {
      for (const copy of all(stage, 'COPY').filter((c) => !c.includes('--from='))) {
        const parts = copy.split(/\s+/).filter((p) => !p.startsWith('--'));
        for (const source of parts.slice(0, -1)) expect(existsSync(path.join(ROOT, source))).toBe(true);
      }
    }
    for (const s of [...SERVICES.map((d) => d.name), 'gateway']) expect(existsSync(path.join(ROOT, 'apps', s, 'src', 'main.ts'))).toBe(true);
  });
});
