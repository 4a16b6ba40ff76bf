import path from 'node:path';

const { parseSingleProcess, parseServiceNames, configProblems, serviceEntry, FIVE_SERVICES } = require('./single-process') as {
  parseSingleProcess(value: string | undefined): boolean;
  parseServiceNames(args: string[]): string[];
  configProblems(names: string[], env: Record<string, string | undefined>): string[];
  serviceEntry(name: string, options?: { root?: string; dist?: boolean | string }): { entry: string; preload: string[] };
  FIVE_SERVICES: string[];
};

describe('TALLY_SINGLE_PROCESS', () => {
  it('is off unless set to 1', () => {
    for (const v of [undefined, '', ' ', '0', ' 0 ']) expect(parseSingleProcess(v)).toBe(false);
    for (const v of ['1', ' 1 ']) expect(parseSingleProcess(v)).toBe(true);
  });

  it.each(['true', 'yes', '2', '01', 'on', '1,0', '-1'])('refuses %p instead of guessing', (v) => {
    expect(() => parseSingleProcess(v)).toThrow(/TALLY_SINGLE_PROCESS: ".*" is neither 1/);
  });
});

describe('single-process service names', () => {
  it('hosts the five services by default, in pipeline order', () => {
    expect(parseServiceNames([])).toEqual(FIVE_SERVICES);
    expect(FIVE_SERVICES).toEqual(['ingestion', 'aggregation', 'threshold-alerting', 'billing', 'health-scoring']);
  });

  it('keeps the order given and takes the gateway too', () => {
    expect(parseServiceNames(['gateway', 'billing'])).toEqual(['gateway', 'billing']);
  });

  it.each([
    [['ingestion', 'dashboard'], /unknown service "dashboard"/],
    [['Ingestion'], /unknown service "Ingestion"/],
    [['threshold_alerting'], /unknown service "threshold_alerting"/],
    [['__proto__'], /unknown service "__proto__"/],
    [['aggregation', 'aggregation'], /"aggregation" is named twice/],
  ])('refuses %p', (args, message) => {
    expect(() => parseServiceNames(args)).toThrow(message);
  });
});

describe('single-process configuration that would make services collide', () => {
  const names = ['ingestion', 'aggregation', 'threshold-alerting'];

  it('accepts the defaults and per-service settings', () => {
    expect(configProblems(names, {})).toEqual([]);
    expect(configProblems(names, { INGESTION_PORT: '4001', AGGREGATION_PORT: '4002', THRESHOLD_ALERTING_PORT: '4003', PORT: '9999' })).toEqual([]);
    expect(configProblems(names, { DB_SCHEMA: 'x', INGESTION_DB_SCHEMA: 'a', AGGREGATION_DB_SCHEMA: 'b', THRESHOLD_ALERTING_DB_SCHEMA: 'c' })).toEqual([]);
  });

  it('accepts a shared setting that only one service ends up reading', () => {
    // Two of the three have their own schema: DB_SCHEMA is threshold-alerting's alone.
    expect(configProblems(names, { DB_SCHEMA: 'x', INGESTION_DB_SCHEMA: 'a', AGGREGATION_DB_SCHEMA: 'b' })).toEqual([]);
    // One service: nothing to collide with (as its own process).
    expect(configProblems(['billing'], { PORT: '80', DB_SCHEMA: 'x', CONSUMER_GROUP: 'g' })).toEqual([]);
  });

  it('refuses one PORT, DB_SCHEMA or CONSUMER_GROUP for several services, naming the variables to set', () => {
    const problems = configProblems(names, { PORT: '8080', DB_SCHEMA: 'tally', CONSUMER_GROUP: 'g', INGESTION_CONSUMER_GROUP: 'gi' });
    expect(problems).toEqual([
      'DB_SCHEMA=tally would be shared by ingestion, aggregation, threshold-alerting: unset it or set INGESTION_DB_SCHEMA, AGGREGATION_DB_SCHEMA, THRESHOLD_ALERTING_DB_SCHEMA',
      'CONSUMER_GROUP=g would be shared by aggregation, threshold-alerting: unset it or set AGGREGATION_CONSUMER_GROUP, THRESHOLD_ALERTING_CONSUMER_GROUP',
      'port 8080 is set for ingestion and aggregation and threshold-alerting: each service needs its own (<SERVICE>_PORT)',
    ]);
  });

  it('refuses two services on one port, also when it is a default', () => {
    expect(configProblems(names, { INGESTION_PORT: '4002', AGGREGATION_PORT: '4002' })).toEqual(['port 4002 is set for ingestion and aggregation: each service needs its own (<SERVICE>_PORT)']);
    // ingestion moved onto aggregation's default port.
    expect(configProblems(names, { INGESTION_PORT: '3002' })).toEqual(['port 3002 is set for ingestion and aggregation: each service needs its own (<SERVICE>_PORT)']);
  });

  it('lets port 0 (any free port) repeat, and checks the gateway by GATEWAY_PORT', () => {
    expect(configProblems(names, { PORT: '0' })).toEqual([]);
    expect(configProblems(['gateway', 'ingestion'], { GATEWAY_PORT: '3001' })).toEqual(['port 3001 is set for gateway and ingestion: each service needs its own (<SERVICE>_PORT)']);
    // The gateway has no schema or consumer group: a shared DB_SCHEMA is the one service's.
    expect(configProblems(['gateway', 'ingestion'], { DB_SCHEMA: 'x' })).toEqual([]);
  });
});

describe('single-process entries', () => {
  const root = path.resolve(__dirname, '..');

  it('loads a service from source as npm start does, or compiled as the image does', () => {
    expect(serviceEntry('threshold-alerting')).toEqual({ entry: path.join(root, 'apps/threshold-alerting/src/main.ts'), preload: [path.join(root, 'tools/register.js')] });
    expect(serviceEntry('billing', { dist: true })).toEqual({ entry: path.join(root, 'dist/server/apps/billing/src/main.js'), preload: [] });
    expect(serviceEntry('billing', { dist: '.tally/build-x' })).toEqual({ entry: path.join(root, '.tally/build-x/apps/billing/src/main.js'), preload: [] });
    expect(serviceEntry('billing', { dist: '/opt/tally' })).toEqual({ entry: '/opt/tally/apps/billing/src/main.js', preload: [] });
  });
});
