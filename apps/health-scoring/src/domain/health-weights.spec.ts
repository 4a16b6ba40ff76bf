import { DEFAULT_WEIGHTS, weightProblems } from './health-weights';

describe('weightProblems', () => {
  it('accepts the default and 5 or 6 inputs summing to 100', () => {
    expect(weightProblems(DEFAULT_WEIGHTS)).toEqual([]);
    expect(weightProblems({ usage: 35, billing: 25, support: 20, nps: 10, activation: 10 })).toEqual([]);
    expect(weightProblems({ usage: 30, billing: 25, support: 15, nps: 10, activation: 10, thresholds: 10 })).toEqual([]);
  });

  it('refuses a sum other than 100', () => {
    expect(weightProblems({ usage: 40, billing: 30, support: 20, nps: 11 })).toEqual([{ pointer: '', detail: 'weights must sum to 100 (got 101)' }]);
    expect(weightProblems({ usage: 40, billing: 30, support: 20, nps: 9 })).toEqual([{ pointer: '', detail: 'weights must sum to 100 (got 99)' }]);
  });

  it('refuses fewer than 4 or more than 6 inputs', () => {
    expect(weightProblems({ usage: 50, billing: 30, support: 20 })).toEqual([{ pointer: '', detail: 'must weigh 4 to 6 inputs (got 3)' }]);
  });

  it('names each bad input by pointer', () => {
    expect(weightProblems({ usage: 40.5, billing: 0, support: '20', 'a/b': 10, nps: 101 })).toEqual([
      { pointer: '/usage', detail: 'must be a whole percent from 1 to 100' },
      { pointer: '/billing', detail: 'must be a whole percent from 1 to 100' },
      { pointer: '/support', detail: 'must be a whole percent from 1 to 100' },
      { pointer: '/a~1b', detail: 'unknown input; known: usage, billing, support, nps, activation, thresholds' },
      { pointer: '/nps', detail: 'must be a whole percent from 1 to 100' },
    ]);
    expect(weightProblems(null)).toEqual([{ pointer: '', detail: 'must be an object of input name to percent' }]);
    expect(weightProblems([40, 30, 20, 10])).toEqual([{ pointer: '', detail: 'must be an object of input name to percent' }]);
  });
});
