const { parseReplicas, expandReplicas, MAX_REPLICAS } = require('./replicas') as {
  parseReplicas(value: string | undefined, names: string[]): Map<string, number>;
  expandReplicas(services: Array<{ name: string; port: number }>, counts: Map<string, number>): Array<{ name: string; port: number; replica: number; label: string; logName: string }>;
  MAX_REPLICAS: number;
};

const NAMES = ['ingestion', 'aggregation', 'threshold-alerting'];

describe('TALLY_REPLICAS', () => {
  it('defaults every service to one process', () => {
    for (const v of [undefined, '', '  ']) expect([...parseReplicas(v, NAMES)]).toEqual(NAMES.map((n) => [n, 1]));
  });

  it('reads service=count pairs, with spaces and a trailing comma', () => {
    const counts = parseReplicas(' aggregation=2, threshold-alerting=3,', NAMES);
    expect(Object.fromEntries(counts)).toEqual({ ingestion: 1, aggregation: 2, 'threshold-alerting': 3 });
  });

  it.each([
    ['aggregation', /not service=count/],
    ['aggregation=two', /not service=count/],
    ['aggregation=-1', /not service=count/],
    ['aggregation=1.5', /not service=count/],
    ['billing=2', /unknown service "billing"/],
    ['Aggregation=2', /not service=count/],
    ['aggregation=0', /between 1 and/],
    [`aggregation=${MAX_REPLICAS + 1}`, /between 1 and/],
    ['aggregation=2,aggregation=3', /named twice/],
  ])('refuses %s', (value, message) => {
    expect(() => parseReplicas(value, NAMES)).toThrow(message);
  });

  it('expands to one entry per process: the first keeps the name, the others are numbered from 2', () => {
    const services = [
      { name: 'ingestion', port: 3001 },
      { name: 'aggregation', port: 3002 },
    ];
    const out = expandReplicas(services, parseReplicas('aggregation=3', ['ingestion', 'aggregation']));
    expect(out.map((s) => [s.label, s.logName, s.replica, s.port])).toEqual([
      ['ingestion', 'ingestion', 0, 3001],
      ['aggregation', 'aggregation', 0, 3002],
      ['aggregation#2', 'aggregation-2', 1, 3002],
      ['aggregation#3', 'aggregation-3', 2, 3002],
    ]);
  });
});
