import { meterReadingSchema } from './index';

describe('meterReadingSchema', () => {
  it.each(['12', '-3.5', '0.000001', '1e-7', '2.5E+21'])('takes the finite decimal %s for a SUM', (value) => {
    expect(meterReadingSchema.safeParse({ meter: 'm', aggregation: 'SUM', value }).success).toBe(true);
  });

  it.each(['NaN', 'Infinity', '-Infinity', 'twelve', '', '0x10', '1,5', ' 1'])('refuses %j for a numeric aggregation', (value) => {
    for (const aggregation of ['SUM', 'MAX', 'MIN', 'AVG', 'LATEST', 'TIME_WEIGHTED_SUM'] as const) {
      expect(meterReadingSchema.safeParse({ meter: 'm', aggregation, value }).success).toBe(false);
    }
  });

  it('refuses a missing value for a numeric aggregation, and takes null for COUNT and any text for UNIQUE_COUNT', () => {
    expect(meterReadingSchema.safeParse({ meter: 'm', aggregation: 'SUM', value: null }).success).toBe(false);
    expect(meterReadingSchema.safeParse({ meter: 'm', aggregation: 'COUNT', value: null }).success).toBe(true);
    expect(meterReadingSchema.safeParse({ meter: 'm', aggregation: 'UNIQUE_COUNT', value: 'NaN' }).success).toBe(true);
  });
});
