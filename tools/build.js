'use strict';
// Compiles the services and their libraries to CommonJS JavaScript under dist/server/ (the production image runs
// `node dist/server/apps/<service>/src/main.js`; no ts-node, no TypeScript at run time). Transpiled by swc, as
// tools/register.js and jest do, with the same decorator settings (Nest's DI reads the emitted design:
// metadata); the @tally/* path aliases are rewritten to relative requires, so nothing resolves them at run
// time. Type checking is `npm run typecheck`'s job, not this script's. Tests, test support and the test
// library (and *.testing.ts helpers) are left out; JSON files beside the code (the gateway's OpenAPI document) are copied.
//   node tools/build.js [outDir]
const fs = require('node:fs');
const path = require('node:path');
const swc = require('@swc/core');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.resolve(ROOT, process.argv[2] ?? 'dist/server');
const { compilerOptions } = require('../tsconfig.base.json');

/** Not part of any service: tests, what only tests import, and the browser dashboard (built by vite). */
const SKIP_DIRS = new Set(['node_modules', 'test-support', 'fixtures', 'dashboard', 'testing']);
const isSource = (name) => name.endsWith('.ts') && !name.endsWith('.d.ts') && !name.includes('test-support') && !/\.(spec|integration-spec|e2e-spec|testing)\.ts$/.test(name);

function* files(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) yield* files(full);
    } else yield full;
  }
}

const swcOptions = (filename) => ({
  filename,
  sourceMaps: true,
  swcrc: false,
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    baseUrl: ROOT,
    paths: compilerOptions.paths,
  },
  module: { type: 'commonjs' },
});

function build() {
  fs.rmSync(OUT, { recursive: true, force: true });
  let compiled = 0;
  let copied = 0;
  for (const top of ['apps', 'libs']) {
    for (const file of files(path.join(ROOT, top))) {
      const rel = path.relative(ROOT, file);
      const target = path.join(OUT, rel);
      if (isSource(file)) {
        const { code, map } = swc.transformSync(fs.readFileSync(file, 'utf8'), swcOptions(file));
        const js = target.replace(/\.ts$/, '.js');
        fs.mkdirSync(path.dirname(js), { recursive: true });
        fs.writeFileSync(js, `${code}\n//# sourceMappingURL=${path.basename(js)}.map\n`);
        fs.writeFileSync(`${js}.map`, map);
        compiled++;
      } else if (file.endsWith('.json') && !file.endsWith('project.json') && !file.endsWith('tsconfig.json')) {
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(file, target);
        copied++;
      }
    }
  }
  return { compiled, copied };
}

if (require.main === module) {
  const started = Date.now();
  const { compiled, copied } = build();
  process.stdout.write(`compiled ${compiled} files, copied ${copied} to ${path.relative(ROOT, OUT) || OUT} in ${Date.now() - started} ms\n`);
}

module.exports = { build };
