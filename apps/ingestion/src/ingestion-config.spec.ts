import { loadServiceConfig } from '@tally/nest-platform';
import { ingestionConfigSchema, ingestionSettings } from './ingestion-config';

const load = (env: Record<string, string>) =>
  loadServiceConfig('ingestion', { port: 0 }, { CATALOG_SIGNING_SECRET: 'x'.repeat(32), ADMIN_TOKEN: 'a'.repeat(16), ...env }, ingestionConfigSchema);

describe('DEAD_LETTER_RETENTION_DAYS', () => {
  it('defaults to 90 days and takes a whole number of days', () => {
    expect(ingestionSettings(load({})).DEAD_LETTER_RETENTION_DAYS).toBe(90);
    expect(ingestionSettings(load({ DEAD_LETTER_RETENTION_DAYS: '7' })).DEAD_LETTER_RETENTION_DAYS).toBe(7);
  });

  it.each(['0', '-1', '2.5', 'never', '36601'])('stops start-up naming the variable for %p', (value) => {
    expect(() => load({ DEAD_LETTER_RETENTION_DAYS: value })).toThrow(/DEAD_LETTER_RETENTION_DAYS/);
  });
});
