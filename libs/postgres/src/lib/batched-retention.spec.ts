import { retentionCutoff, runBatchedRetention } from './batched-retention';

describe('retentionCutoff', () => {
  it('is whole 24-hour days before now, to the millisecond', () => {
    expect(retentionCutoff(new Date('2026-11-30T21:15:42.123Z'), 400).toISOString()).toBe('2025-10-26T21:15:42.123Z');
    expect(retentionCutoff(new Date('2026-03-01T00:00:00.000Z'), 1).toISOString()).toBe('2026-02-28T00:00:00.000Z');
  });

  it('crosses leap days and year ends by elapsed time, not calendar arithmetic', () => {
    expect(retentionCutoff(new Date('2024-03-01T00:00:00Z'), 1).toISOString()).toBe('2024-02-29T00:00:00.000Z');
    expect(retentionCutoff(new Date('2025-01-01T00:00:00Z'), 366).toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  it('ignores daylight saving: the window over a DST change is still n x 24 hours', () => {
    // Europe/Berlin went to summer time on 2026-03-29; the cut-off is exactly 24 h earlier, not 23.
    const now = new Date('2026-03-29T12:00:00Z');
    expect(now.getTime() - retentionCutoff(now, 1).getTime()).toBe(86_400_000);
  });

  it('does not mutate its input', () => {
    const now = new Date('2026-06-15T10:00:00Z');
    const before = now.getTime();
    retentionCutoff(now, 90);
    expect(now.getTime()).toBe(before);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %p days', (days) => {
    expect(() => retentionCutoff(new Date('2026-01-01T00:00:00Z'), days)).toThrow(RangeError);
  });

  it('refuses an invalid clock and a cut-off before the earliest representable time', () => {
    expect(() => retentionCutoff(new Date('nope'), 10)).toThrow(RangeError);
    expect(() => retentionCutoff(new Date(-8.64e15), 1)).toThrow(RangeError);
  });
});

describe('runBatchedRetention', () => {
  it('deletes in batches until one comes back short, with the cut-off it computed', async () => {
    const calls: Array<[string, number]> = [];
    const left = [3, 3, 1];
    const pass = await runBatchedRetention(new Date('2026-11-30T00:00:00Z'), 10, async (cutoff, limit) => {
      calls.push([cutoff.toISOString(), limit]);
      return left.shift() ?? 0;
    }, 3);
    expect(pass).toEqual({ cutoff: '2026-11-20T00:00:00.000Z', deleted: 7, batches: 3 });
    expect(calls).toEqual([['2026-11-20T00:00:00.000Z', 3], ['2026-11-20T00:00:00.000Z', 3], ['2026-11-20T00:00:00.000Z', 3]]);
  });

  it('runs one more batch after an exactly full one, and one empty batch when nothing is old', async () => {
    const left = [2, 0];
    expect(await runBatchedRetention(new Date('2026-11-30T00:00:00Z'), 1, async () => left.shift() ?? 0, 2)).toMatchObject({ deleted: 2, batches: 2 });
    expect(await runBatchedRetention(new Date('2026-11-30T00:00:00Z'), 1, async () => 0, 2)).toMatchObject({ deleted: 0, batches: 1 });
  });

  it('refuses a bad retention before deleting anything', async () => {
    let called = false;
    await expect(runBatchedRetention(new Date(), 0, async () => ((called = true), 0))).rejects.toThrow(RangeError);
    expect(called).toBe(false);
  });
});
