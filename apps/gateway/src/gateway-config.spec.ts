import path from 'node:path';
import { loadGatewayConfig } from './gateway-config';

describe('loadGatewayConfig: dashboard and portal tokens', () => {
  it('serves the repository build by default and makes up a portal secret when none is set', () => {
    const a = loadGatewayConfig({});
    const b = loadGatewayConfig({});
    expect(a.dashboardDir).toBe(path.resolve(__dirname, '../../../dist/apps/dashboard'));
    expect(a.portalTokenSecretConfigured).toBe(false);
    expect(a.portalTokenSecret.length).toBeGreaterThanOrEqual(32);
    // Per process: two gateways without the setting would not accept each other's tokens.
    expect(a.portalTokenSecret).not.toBe(b.portalTokenSecret);
  });

  it('takes DASHBOARD_DIR and a PORTAL_TOKEN_SECRET of at least 32 characters', () => {
    const c = loadGatewayConfig({ DASHBOARD_DIR: '/srv/dashboard/', PORTAL_TOKEN_SECRET: 'x'.repeat(32) });
    expect(c).toMatchObject({ dashboardDir: '/srv/dashboard', portalTokenSecret: 'x'.repeat(32), portalTokenSecretConfigured: true });
    expect(() => loadGatewayConfig({ PORTAL_TOKEN_SECRET: 'short' })).toThrow(/PORTAL_TOKEN_SECRET: must be at least 32 characters/);
    // An empty value is the same as none (a blank line in an env file must not become a weak secret).
    expect(loadGatewayConfig({ PORTAL_TOKEN_SECRET: '' }).portalTokenSecretConfigured).toBe(false);
  });
});
