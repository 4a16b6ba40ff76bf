import { loadServiceConfig } from '@tally/nest-platform';
import { thresholdAlertingService } from '../threshold-alerting.service';
import { alertLogSettings } from './alert-log.config';

const load = (env: Record<string, string>) =>
  loadServiceConfig('threshold-alerting', { port: 0 }, { CATALOG_SIGNING_SECRET: 'x'.repeat(32), ...env }, thresholdAlertingService.configSchema);

describe('ALERT_LOG_RETENTION_DAYS', () => {
  it('defaults to 400 days and takes a whole number of days', () => {
    expect(alertLogSettings(load({})).ALERT_LOG_RETENTION_DAYS).toBe(400);
    expect(alertLogSettings(load({ ALERT_LOG_RETENTION_DAYS: '30' })).ALERT_LOG_RETENTION_DAYS).toBe(30);
  });

  it.each(['0', '-5', '1.5', 'forever', '36601'])('stops start-up naming the variable for %p', (value) => {
    expect(() => load({ ALERT_LOG_RETENTION_DAYS: value })).toThrow(/ALERT_LOG_RETENTION_DAYS/);
  });
});
