import { parseBenchSingleProcess } from '../../bench/pipeline';

describe('BENCH_SINGLE_PROCESS', () => {
  it('is off unless exactly 1', () => {
    for (const v of [undefined, '', '0']) expect(parseBenchSingleProcess(v)).toBe(false);
    expect(parseBenchSingleProcess('1')).toBe(true);
  });

  it.each(['true', 'yes', '2', ' 1', '1 ', 'on', '-1'])('refuses %p rather than running the other mode', (v) => {
    expect(() => parseBenchSingleProcess(v)).toThrow(/BENCH_SINGLE_PROCESS: ".*" is neither 1/);
  });
});
