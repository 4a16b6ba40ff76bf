import { loadServiceConfig } from '@tally/nest-platform';
import { thresholdAlertingService } from '../threshold-alerting.service';
import { webhookSettings } from './webhooks.config';

const load = (env: Record<string, string>) =>
  loadServiceConfig('threshold-alerting', { port: 0 }, { CATALOG_SIGNING_SECRET: 'x'.repeat(32), ...env }, thresholdAlertingService.configSchema);

describe('webhook settings', () => {
  it('defaults: private targets refused, 10 attempts from 30 s up to 6 h, 10 s timeout, 32/4/2 in flight', () => {
    expect(webhookSettings(load({}))).toEqual({
      allowPrivateTargets: false,
      retry: { maxAttempts: 10, baseMs: 30_000, maxMs: 21_600_000 },
      timeoutMs: 10_000,
      limits: { total: 32, perTenant: 4, perEndpoint: 2 },
      pollIntervalMs: 1_000,
      maxEndpointsPerTenant: 20,
    });
  });

  it('reads the variables', () => {
    const s = webhookSettings(load({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'true', WEBHOOKS_MAX_ATTEMPTS: '3', WEBHOOKS_ENDPOINT_CONCURRENCY: '1', WEBHOOKS_TIMEOUT_MS: '500' }));
    expect(s).toMatchObject({ allowPrivateTargets: true, retry: { maxAttempts: 3 }, limits: { perEndpoint: 1 }, timeoutMs: 500 });
  });

  it('stops the service at start-up naming each bad variable', () => {
    expect(() => load({ WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'yes', WEBHOOKS_MAX_ATTEMPTS: '0', WEBHOOKS_TIMEOUT_MS: 'soon', WEBHOOKS_CONCURRENCY: '1.5' })).toThrow(
      /WEBHOOKS_ALLOW_PRIVATE_TARGETS: must be true or false[\s\S]*WEBHOOKS_MAX_ATTEMPTS[\s\S]*WEBHOOKS_TIMEOUT_MS[\s\S]*WEBHOOKS_CONCURRENCY/,
    );
  });
});
