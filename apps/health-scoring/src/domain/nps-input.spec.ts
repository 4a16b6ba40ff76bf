import { npsInput } from './nps-input';

const NOW = new Date('2026-06-30T00:00:00Z');
const answer = (score: number, daysAgo: number) => ({ score, answeredAt: new Date(NOW.getTime() - daysAgo * 86_400_000) });

describe('npsInput', () => {
  it('is neutral 50 without an answer', () => {
    expect(npsInput([], NOW)).toEqual({ value: 50, latest: null, previous: null });
  });

  it('scales the latest answer to 0-100', () => {
    expect([0, 6, 7, 9, 10].map((s) => npsInput([answer(s, 1)], NOW).value)).toEqual([0, 60, 70, 90, 100]);
  });

  it('adds the trend since the previous answer, 5 points per step, clamped', () => {
    expect(npsInput([answer(5, 40), answer(8, 1)], NOW)).toEqual({ value: 95, latest: 8, previous: 5 }); // 80 + 15
    expect(npsInput([answer(6, 1), answer(8, 40)], NOW).value).toBe(50); // 60 - 10; order of arrival does not matter
    expect(npsInput([answer(10, 40), answer(3, 1)], NOW).value).toBe(0); // 30 - 35 -> 0
    expect(npsInput([answer(0, 40), answer(10, 1)], NOW).value).toBe(100); // 100 + 50 -> 100
  });

  it('fades to neutral between 180 and 365 days', () => {
    expect(npsInput([answer(0, 180)], NOW).value).toBe(0);
    expect(npsInput([answer(0, 272.5)], NOW).value).toBe(25); // half-way
    expect(npsInput([answer(10, 365)], NOW).value).toBe(50);
    expect(npsInput([answer(10, 1000)], NOW).value).toBe(50);
  });

  it('ignores answers dated after now', () => {
    expect(npsInput([answer(2, -1)], NOW).value).toBe(50);
  });
});
