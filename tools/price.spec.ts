import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// End to end: `npm run --silent price` as a user runs it, stdin to stdout.
function runPrice(input: string): { stdout: string; stderr: string; status: number | null } {
  const run = spawnSync('npm', ['run', '--silent', 'price'], { cwd: join(__dirname, '..'), input, encoding: 'utf8', timeout: 60_000 });
  return { stdout: run.stdout, stderr: run.stderr, status: run.status };
}

describe('npm run price', () => {
  it('writes one JSON line per request, in order, and nothing else', () => {
    const input = [
      '{"model": "standard", "properties": {"amount": "0.00012"}, "units": "1000001"}',
      '',
      '{"model": "graduated", "properties": {"graduated_ranges": [{"from_value": 0, "to_value": 100, "per_unit_amount": "1", "flat_amount": "10"}, {"from_value": 101, "to_value": null, "per_unit_amount": "0.5", "flat_amount": "5"}]}, "units": "100.5"}',
      'not json',
      '{"model": "percentage", "properties": {"rate": "1.3", "fixed_amount": "2", "free_units_per_events": 3, "free_units_per_total_aggregation": "250"}, "events": ["50", "100", "250", "400"]}',
      '   ',
      '{"model": "tiered", "properties": {}, "units": "1"}',
      '{"model": "standard", "properties": {"amount": "1e-7"}, "units": "1e-7"}',
    ].join('\n');
    const run = runPrice(`${input}\n`);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      { amount: '120.00012', units: '1000001' },
      { amount: '115.25', units: '100.5' },
      { error: expect.stringMatching(/^invalid JSON: /) },
      { amount: '11.15', units: '800' },
      { error: 'unknown charge model "tiered" (expected one of: standard, graduated, volume, package, percentage, graduated_percentage, dynamic)' },
      { amount: '0.00000000000001', units: '0.0000001' },
    ]);
  });

  it('prices a last line without a trailing newline, and prints nothing for empty input', () => {
    expect(runPrice('{"model": "package", "properties": {"amount": "5", "package_size": 100, "free_units": 0}, "units": "100.5"}').stdout).toBe(
      '{"amount":"10","units":"100.5"}\n',
    );
    expect(runPrice('')).toEqual({ stdout: '', stderr: '', status: 0 });
  });
});
