// Two tiers: `unit` (*.spec.ts beside the code, no I/O) and `integration` (*.integration-spec.ts and the
// end-to-end *.e2e-spec.ts, against real Kafka and Postgres found by libs/testing's global setup).
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([alias, [target]]) => [`^${alias}$`, `<rootDir>/${target}`]),
);

const transform = {
  '^.+\\.ts$': [
    '@swc/jest',
    {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        target: 'es2022',
      },
      module: { type: 'commonjs' },
    },
  ],
  // The dashboard's React components (apps/dashboard), rendered to markup in the unit tier.
  '^.+\\.tsx$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'typescript', tsx: true }, transform: { react: { runtime: 'automatic' } }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};

const common = { rootDir: __dirname, testEnvironment: 'node', moduleNameMapper, transform, moduleFileExtensions: ['ts', 'tsx', 'js', 'json'] };

module.exports = {
  maxWorkers: 2,
  // Integration suites wait on real brokers and processes; unit tests finish long before this matters.
  testTimeout: 180_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/{apps,libs,tools,tests}/**/*.spec.ts', '<rootDir>/apps/dashboard/**/*.spec.tsx'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/{apps,libs,tests}/**/*.integration-spec.ts', '<rootDir>/tests/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/libs/testing/jest-global-setup.js',
      globalTeardown: '<rootDir>/libs/testing/jest-global-teardown.js',
    },
  ],
};
