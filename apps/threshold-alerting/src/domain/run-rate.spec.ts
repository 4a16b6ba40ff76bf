import { projectRunRate } from './run-rate';

const DAY = 86_400_000;
const start = Date.UTC(2025, 0, 1);
const end = start + 30 * DAY;

describe('projectRunRate', () => {
  it('projects the average rate so far to the period end', () => {
    expect(projectRunRate('100', start, end, start + 10 * DAY)).toBe('300');
    expect(projectRunRate('1', start, end, start + 7 * DAY)).toBe('4.285714');
  });
  it('says nothing before a day has passed, or of a period of no length', () => {
    expect(projectRunRate('100', start, end, start + DAY - 1)).toBeNull();
    expect(projectRunRate('100', start, end, start - DAY)).toBeNull();
    expect(projectRunRate('100', start, start, start + DAY)).toBeNull();
  });
  it('projects a period shorter than a day once it is over, and the usage itself at or after the end', () => {
    expect(projectRunRate('5', start, start + 3_600_000, start + 1_800_000)).toBeNull();
    expect(projectRunRate('5', start, start + 3_600_000, start + 3_600_000)).toBe('5');
    expect(projectRunRate('100', start, end, end + DAY)).toBe('100');
  });
  it('keeps decimals exact and projects a negative usage as it is', () => {
    expect(projectRunRate('0.1', start, end, start + 15 * DAY)).toBe('0.2');
    expect(projectRunRate('-3', start, end, start + 15 * DAY)).toBe('-6');
  });
});
