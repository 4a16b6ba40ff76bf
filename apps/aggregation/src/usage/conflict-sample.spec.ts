import { CONFLICT_SAMPLE_CHARS, conflictSample } from './usage-ledger.repository';

const event = (data: Record<string, unknown>) => ({ subject: 'customer-1', type: 'api.call', time: '2024-05-01T00:00:00Z', readings: [], data });

describe('conflictSample', () => {
  it('keeps a small payload whole, as JSON', () => {
    const { sample, truncated } = conflictSample(event({ calls: 3 }));
    expect(truncated).toBe(false);
    expect(JSON.parse(sample)).toEqual({ subject: 'customer-1', type: 'api.call', time: '2024-05-01T00:00:00Z', readings: [], data: { calls: 3 } });
  });

  it('cuts a large payload to the bound and says so', () => {
    const { sample, truncated } = conflictSample(event({ blob: 'x'.repeat(100_000) }));
    expect(truncated).toBe(true);
    expect(sample).toHaveLength(CONFLICT_SAMPLE_CHARS);
  });

  it('never leaves half of a surrogate pair at the cut', () => {
    const prefix = JSON.stringify(event({ blob: '' })).indexOf('""') + 1;
    // Place an emoji (two UTF-16 units) so that its first unit is the last one kept.
    const blob = 'a'.repeat(CONFLICT_SAMPLE_CHARS - 1 - prefix) + '😀'.repeat(10);
    const { sample, truncated } = conflictSample(event({ blob }));
    expect(truncated).toBe(true);
    expect(sample).toHaveLength(CONFLICT_SAMPLE_CHARS - 1);
    expect(Buffer.from(sample, 'utf8').toString('utf8')).toBe(sample);
  });
});
