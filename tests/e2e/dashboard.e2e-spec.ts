import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createServiceApp, type ServiceApp } from '@tally/nest-platform';
import { JsonLogger } from '@tally/telemetry';
import { expectEventually, TestSuite } from '@tally/testing';
import { loadGatewayConfig, upstreamUrlEnv } from '../../apps/gateway/src/gateway-config';
import { createGateway, type Gateway } from '../../apps/gateway/src/gateway-server';
import { mintPortalToken, portalKey } from '../../apps/gateway/src/portal/portal-token';
import type { UpstreamName } from '../../apps/gateway/src/route-table';
import openApiDocument from '../../apps/gateway/src/openapi/openapi.json';
import { ApiKeyService } from '../../apps/ingestion/src/auth/api-key.service';
import { CatalogRepository } from '../../apps/billing/src/catalog/catalog.repository';
import { InvoiceService } from '../../apps/billing/src/invoices/invoice.service';
import { SubscriptionService } from '../../apps/billing/src/subscriptions/subscription.service';
import { SERVICES } from '../../tools/services';

/** Debian's package (tools/setup.js installs it when it can); no browser is ever downloaded. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ROOT = path.resolve(__dirname, '../..');
const DASHBOARD_DIR = path.join(ROOT, 'dist/apps/dashboard');
/** Every run's screenshots (gitignored); UPDATE_SCREENSHOTS=1 also refreshes the README's in docs/screenshots. */
const ARTIFACTS = path.join(ROOT, '.tally/artifacts/dashboard');
const DOCS_SHOTS = path.join(ROOT, 'docs/screenshots');
const SECRET = 'e2e-portal-secret-0123456789-abcdefghij';

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) process.stderr.write(`dashboard e2e skipped: no Chromium at ${CHROMIUM} (install Debian's chromium package, or run npm run setup as root)\n`);

/**
 * The dashboard in headless Chromium against the whole stack behind the front door (five services and the gateway
 * in this process on real Kafka and Postgres, the built app served by the gateway): sign in with an API key, watch a
 * customer's usage cross thresholds, the upcoming and a past invoice, the CSV export, and the customer portal opened
 * with a token that reaches nothing of another customer or tenant.
 */
(haveChromium ? describe : describe.skip)('dashboard in a real browser', () => {
  const suite = new TestSuite();
  const apps = new Map<string, ServiceApp>();
  let gateway: Gateway;
  let base: string;
  let browser: Browser;
  let acmeKey: string;
  let globexKey: string;

  const api = (key: string, p: string, init: RequestInit = {}) => fetch(`${base}${p}`, { ...init, headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) } });
  const send = (key: string, events: Array<{ id: string; subject: string; calls: number }>) =>
    api(key, '/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(events.map((e) => ({ specversion: '1.0', id: e.id, source: 'e2e', type: 'api.call', subject: e.subject, time: new Date().toISOString(), data: { calls: e.calls } }))),
    });
  const shot = async (page: Page, name: string, fullPage = true) => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(DOCS_SHOTS, { recursive: true });
      await page.screenshot({ path: path.join(DOCS_SHOTS, `${name}.png`), fullPage });
    }
  };

  /**
   * Structural accessibility checks in the rendered page: every form control and button has an accessible name,
   * every SVG is either described (role=img + aria-label) or hidden, ids are unique, heading levels do not skip,
   * every table header has a scope or sits in a thead.
   */
  const a11yProblems = (page: Page) =>
    page.evaluate(() => {
      const problems: string[] = [];
      const named = (el: Element) => Boolean(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el as HTMLInputElement).labels?.length || el.textContent?.trim());
      for (const el of document.querySelectorAll('input, select, textarea')) if (!(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label')) problems.push(`unlabelled ${el.outerHTML.slice(0, 80)}`);
      for (const el of document.querySelectorAll('button, a[href]')) if (!named(el)) problems.push(`nameless ${el.outerHTML.slice(0, 80)}`);
      for (const el of document.querySelectorAll('svg')) {
        if (el.getAttribute('aria-hidden') !== 'true' && !(el.getAttribute('role') === 'img' && el.getAttribute('aria-label'))) problems.push(`undescribed svg`);
      }
      const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
      for (const id of new Set(ids.filter((id, i) => ids.indexOf(id) !== i))) problems.push(`duplicate id ${id}`);
      let level = 0;
      for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
        const next = Number(h.tagName[1]);
        if (next > level + 1) problems.push(`heading h${next} after h${level}: ${h.textContent}`);
        level = next;
      }
      for (const th of document.querySelectorAll('th')) if (!th.getAttribute('scope') && !th.closest('thead')) problems.push(`th without scope: ${th.textContent}`);
      return problems;
    });

  beforeAll(async () => {
    if (!existsSync(path.join(DASHBOARD_DIR, 'index.html'))) {
      const built = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--config', 'apps/dashboard/vite.config.mts', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
      if (built.status !== 0) throw new Error('the dashboard build failed');
    }
    await suite.createTopics();
    const env: Record<string, string> = { GATEWAY_PORT: '0', DASHBOARD_DIR, PORTAL_TOKEN_SECRET: SECRET };
    for (const definition of SERVICES) {
      // Health scores follow usage within a second here (defaults: 5 s debounce, 5 s job interval).
      // The operations view reads 21 times per page (list + one trend per row): above the default per-tenant
      // read limit (20/s, burst 40) when the test pages quickly, which is not what is tested here.
      const settings = { ADMIN_TOKEN: 'e2e-admin-token-0123456789', HEALTH_RESCORE_DEBOUNCE_MS: '300', HEALTH_RESCORE_INTERVAL_MS: '300', API_READ_RATE_LIMIT_PER_SECOND: '500' };
      const service = await createServiceApp(definition, suite.serviceConfig(definition, settings));
      await service.app.listen(0, '127.0.0.1');
      apps.set(definition.name, service);
      env[upstreamUrlEnv(definition.name as UpstreamName)] = `http://127.0.0.1:${(service.app.getHttpServer().address() as AddressInfo).port}`;
    }
    gateway = createGateway(loadGatewayConfig(env), openApiDocument, new JsonLogger('gateway', undefined, 'warn'));
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;

    const keys = apps.get('ingestion')!.app.get(ApiKeyService);
    await keys.createTenant('acme', 'Acme');
    await keys.createTenant('globex', 'Globex');
    acmeKey = (await keys.createKey('acme', 'dashboard')).key;
    globexKey = (await keys.createKey('globex', 'dashboard')).key;
    for (const key of [acmeKey, globexKey]) {
      const meter = await expectEventually(async () => {
        const res = await api(key, '/api/v1/meters', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slug: 'api-calls', eventType: 'api.call', aggregation: 'SUM', valueProperty: '$.calls' }) });
        expect(res.status).toBe(201);
        return res;
      });
      expect(meter.ok).toBe(true);
    }

    const billing = apps.get('billing')!.app;
    const catalog = billing.get(CatalogRepository);
    const plan = {
      code: 'starter',
      name: 'Starter',
      interval: 'monthly' as const,
      currency: 'EUR',
      baseFee: '29',
      charges: [{ meter: 'api-calls', model: 'standard', properties: { amount: '0.01' }, includedUnits: '100', thresholds: [50, 75, 90, 100], hardLimit: false }],
    };
    for (const [tenant, id, name] of [
      ['acme', 'c-1', 'Customer One'],
      ['acme', 'c-2', 'Customer Two'],
      ['globex', 'c-1', 'Globex One'],
      ['globex', 'g-only', 'Globex Only'],
    ]) {
      await catalog.upsertCustomer(tenant, { id, name, currency: 'EUR', timezone: 'UTC', taxRate: '0' });
    }
    await catalog.addPlanVersion('acme', plan);
    await catalog.addPlanVersion('globex', plan);
    const subscriptions = billing.get(SubscriptionService);
    // Both acme customers started weeks ago: their first period is closed and invoiced, so each has a past invoice.
    await subscriptions.create('acme', { customer: 'c-1', plan: 'starter', startAt: new Date(Date.now() - 40 * 86_400_000).toISOString() });
    await subscriptions.create('acme', { customer: 'c-2', plan: 'starter', startAt: new Date(Date.now() - 35 * 86_400_000).toISOString() });
    await subscriptions.create('globex', { customer: 'c-1', plan: 'starter' });
    await subscriptions.rollPeriods(new Date());
    await billing.get(InvoiceService).closePeriods(new Date());
    // Usage counts once the current period's entitlement is projected.
    const now = Date.now();
    await expectEventually(async () => {
      for (const [key, customer] of [
        [acmeKey, 'c-1'],
        [acmeKey, 'c-2'],
        [globexKey, 'c-1'],
      ]) {
        const res = await api(key, `/api/v1/entitlements/${customer}/api-calls`);
        expect(res.status).toBe(200);
        const check = (await res.json()) as { periodStart: string; periodEnd: string };
        expect(Date.parse(check.periodStart)).toBeLessThanOrEqual(now);
        expect(Date.parse(check.periodEnd)).toBeGreaterThan(now);
      }
    }, 60_000);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    for (const { app } of [...apps.values()].reverse()) await app.close();
    await suite.cleanup();
  });

  it('signs in, shows usage crossing thresholds, the upcoming and past invoices and exports CSV', async () => {
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    // The refused sign-in's 401 is logged by Chromium as a failed resource; anything else is the app's error.
    page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource') && consoleErrors.push(m.text()));

    await page.goto(`${base}/`);
    await page.getByLabel('Tenant API key').fill('tly_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    expect(await a11yProblems(page)).toEqual([]);
    await page.getByLabel('Tenant API key').fill(acmeKey);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Operations' }).waitFor();
    expect(await page.evaluate(() => Object.values(sessionStorage).join())).toContain(acmeKey);

    // 80 of 100 included: 50 % and 75 % crossed, 90 % not yet.
    expect((await send(acmeKey, [{ id: 'e-1', subject: 'c-1', calls: 50 }, { id: 'e-2', subject: 'c-1', calls: 30 }, { id: 'e-3', subject: 'c-2', calls: 7 }])).status).toBe(202);
    await page.getByLabel('Open customer').fill('c-1');
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('heading', { name: 'Customer One' }).waitFor({ timeout: 5_000 }).catch(async (e) => {
      throw new Error(`${(e as Error).message}\npage: ${await page.locator('main').textContent()}`);
    });
    const bar = page.getByRole('progressbar', { name: /api-calls/ });
    await expectEventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByRole('heading', { name: 'Customer One' }).waitFor();
      expect(await bar.getAttribute('aria-valuenow', { timeout: 5_000 })).toBe('80');
    }, 60_000, 500);
    expect(await page.locator('[data-threshold="75"]').textContent()).toContain('crossed');
    expect(await page.locator('[data-threshold="90"]').textContent()).toContain('not reached');

    // 15 more: the 90 % threshold is crossed and listed.
    expect((await send(acmeKey, [{ id: 'e-4', subject: 'c-1', calls: 15 }])).status).toBe(202);
    await expectEventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.getByRole('heading', { name: 'Customer One' }).waitFor();
      expect(await bar.getAttribute('aria-valuenow', { timeout: 5_000 })).toBe('95');
    }, 60_000, 500);
    await page.getByText('90 % of included reached').waitFor();
    expect(await page.locator('[data-threshold="100"]').textContent()).toContain('not reached');
    // The alert threshold-alerting published for it, read back from the alerts API under "Recent alerts".
    const recent = page.getByRole('table', { name: /Recent alerts of c-1/ });
    await expectEventually(async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      expect(await recent.textContent({ timeout: 5_000 })).toContain('90 % of included');
    }, 30_000, 500);
    // The daily chart has today's bar with the day's 95 calls.
    expect(await page.locator(`rect.bar-day[data-day="${new Date().toISOString().slice(0, 10)}"]`).getAttribute('data-value')).toBe('95');

    // The upcoming invoice: the base fee and the usage line so far, and a projection.
    const upcoming = page.getByTestId('upcoming-invoice');
    await upcoming.waitFor();
    expect(await upcoming.textContent()).toMatch(/projected at period end: €/);
    expect(await upcoming.locator('tbody tr').count()).toBeGreaterThanOrEqual(1);
    await shot(page, 'customer-usage');
    expect(await a11yProblems(page)).toEqual([]);

    // A past invoice (the first period, closed in the set-up) as billing's HTML in the sandboxed frame.
    await page.getByRole('button', { name: /^View invoice/ }).first().click();
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    const frame = page.frameLocator('iframe.invoice-frame');
    await expectEventually(async () => expect(await frame.locator('body').textContent()).toContain('Customer One'));
    expect(await page.locator('iframe.invoice-frame').getAttribute('sandbox')).toBe('');
    await shot(page, 'invoice', false);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });

    // CSV export of the customer's events: a file with c-1's three events and nothing of c-2.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export events (CSV)' }).click()]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const rows = csv.trim().split('\n');
    expect(rows).toHaveLength(4);
    expect(csv).toContain('e-4');
    expect(csv).not.toContain('e-3');
    await page.getByText('Exported 3 events as CSV.').waitFor();

    // Operations: every band reachable by keyboard, revenue and the cohort table (or its empty state) rendered.
    await page.goto(`${base}/dashboard/#/`);
    await page.getByRole('heading', { name: 'Customers by health' }).waitFor();
    await page.getByRole('heading', { name: 'Revenue' }).waitFor();
    await page.getByText('Net revenue retention').waitFor();
    await page.getByRole('button', { name: 'Healthy (green)' }).focus();
    await page.keyboard.press('Enter');
    expect(await page.getByRole('button', { name: 'Healthy (green)' }).getAttribute('aria-pressed')).toBe('true');
    // Health-scoring scores both customers after their usage; all bands list them with a link to each.
    await expectEventually(async () => {
      const res = await api(acmeKey, '/api/v1/customers/health');
      expect(((await res.json()) as { items: Array<{ customer: string }> }).items.map((i) => i.customer)).toEqual(['c-1', 'c-2']);
    }, 30_000);
    await page.reload();
    await page.getByRole('button', { name: 'All bands' }).click();
    // Scoped to the health table: c-2 is linked from the churn-risk feed too.
    await page.getByTestId('health-all').getByRole('link', { name: 'c-2' }).waitFor();
    await page.getByRole('heading', { name: 'Problems to look at' }).waitFor();
    // The alerts feed across customers, the signals feed and the dead letters (acme has none: an empty state).
    const feed = page.getByRole('table', { name: 'Threshold alerts, newest first' });
    expect(await feed.locator('tr', { hasText: '90 % of included' }).locator('a').textContent()).toBe('c-1');
    // c-2 (little usage) entered a risk band when first scored: its churn-risk signal is in the feed.
    await page.getByTestId('churn-risk-list').getByRole('link', { name: 'c-2' }).waitFor();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await page.getByText('No dead letters.').waitFor();
    await shot(page, 'operations');
    expect(await a11yProblems(page)).toEqual([]);
    await page.getByTestId('health-all').getByRole('link', { name: 'c-2' }).click();
    await page.getByRole('heading', { name: 'Customer Two' }).waitFor();

    // Narrow screen: the customer view still fits (no horizontal scrolling of the page itself).
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${base}/dashboard/#/customers/c-1`);
    await page.getByRole('heading', { name: 'Customer One' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)).toBe(true);
    await shot(page, 'customer-usage-mobile');
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it("opens the customer portal with a token that reaches nothing of another customer or tenant", async () => {
    // Minting: the vendor's backend, with its API key.
    const refused = await Promise.all([
      fetch(`${base}/api/v1/portal/tokens`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: 'c-1' }) }),
      api('tly_wrong', '/api/v1/portal/tokens', { method: 'POST', body: JSON.stringify({ customer: 'c-1' }) }),
      api(acmeKey, '/api/v1/portal/tokens', { method: 'POST', body: JSON.stringify({ customer: 'g-only' }) }),
      api(acmeKey, '/api/v1/portal/tokens', { method: 'POST', body: JSON.stringify({ customer: 'c-1', ttlSeconds: 10 }) }),
      api(acmeKey, '/api/v1/portal/tokens', { method: 'POST', body: '{"customer":' }),
      api(acmeKey, '/api/v1/portal/tokens', { method: 'GET' }),
    ]);
    expect(refused.map((r) => r.status)).toEqual([401, 401, 404, 400, 400, 405]);
    const minted = await api(acmeKey, '/api/v1/portal/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: 'c-1', ttlSeconds: 600 }) });
    expect(minted.status).toBe(201);
    const { token, url, expiresAt } = (await minted.json()) as { token: string; url: string; expiresAt: string };
    expect(token).not.toContain(acmeKey);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(590_000);

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}${url}`);
    await page.getByRole('heading', { name: 'Customer One' }).waitFor();
    await page.getByRole('progressbar', { name: /api-calls/ }).waitFor();
    expect(await page.getByRole('progressbar', { name: /api-calls/ }).getAttribute('aria-valuenow')).toBe('95');
    // The token left the address bar; the page knows no API key.
    expect(page.url()).not.toContain(token);
    expect(await page.evaluate(() => Object.values(sessionStorage).join())).not.toContain(acmeKey);
    await page.getByRole('table', { name: /Recent alerts of c-1/ }).getByText('90 % of included').waitFor();
    await shot(page, 'customer-portal');
    expect(await a11yProblems(page)).toEqual([]);

    // Another customer through the UI: the portal view stays on its own customer.
    await page.goto(`${base}/dashboard/#/customers/c-2`);
    await page.getByRole('heading', { name: 'Customer One' }).waitFor();
    expect(await page.getByText('Customer Two').count()).toBe(0);

    // ...and through the API, from the page, with the token: paths, query params, batch and list endpoints.
    const statuses = await page.evaluate(async (t) => {
      const get = async (p: string, init: RequestInit = {}) => (await fetch(p, { ...init, headers: { authorization: `Bearer ${t}`, ...(init.headers ?? {}) } })).status;
      return {
        own: await get('/api/v1/customers/c-1'),
        otherCustomer: await get('/api/v1/customers/c-2'),
        otherInvoices: await get('/api/v1/customers/c-2/invoices'),
        otherUpcoming: await get('/api/v1/customers/c-2/invoices/upcoming'),
        otherEntitlement: await get('/api/v1/entitlements/c-2/api-calls'),
        encodedOther: await get('/api/v1/customers/c%2D2'),
        eventsOfOther: await get('/api/v1/events?subject=c-2'),
        eventsTwoSubjects: await get('/api/v1/events?subject=c-1&subject=c-2'),
        eventsArraySubject: await get('/api/v1/events?subject[]=c-2'),
        queryOther: await get('/api/v1/meters/api-calls/query?subject=c-2'),
        queryGroupBy: await get('/api/v1/meters/api-calls/query?groupBy=subject'),
        batch: await get('/api/v1/entitlements/check', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ checks: [{ customer: 'c-2', meter: 'api-calls' }] }) }),
        customers: await get('/api/v1/customers'),
        health: await get('/api/v1/customers/health'),
        conflicts: await get('/api/v1/events/conflicts'),
        analytics: await get('/api/v1/analytics'),
        meters: await get('/api/v1/meters'),
        ingest: await get('/api/v1/events', { method: 'POST', headers: { 'content-type': 'application/cloudevents+json' }, body: '{}' }),
        mint: await get('/api/v1/portal/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: 'c-2' }) }),
        unknownInvoice: await get('/api/v1/invoices/00000000-0000-0000-0000-000000000000'),
        alertsOwn: await get('/api/v1/alerts'),
        alertsOther: await get('/api/v1/alerts?customer=c-2'),
        alertsTwoCustomers: await get('/api/v1/alerts?customer=c-1&customer=c-2'),
        signals: await get('/api/v1/health/signals?type=churn-risk'),
        deadLetters: await get('/api/v1/dead-letters'),
      };
    }, token);
    expect(statuses).toEqual({
      own: 200,
      otherCustomer: 403,
      otherInvoices: 403,
      otherUpcoming: 403,
      otherEntitlement: 403,
      encodedOther: 403,
      eventsOfOther: 403,
      eventsTwoSubjects: 400,
      eventsArraySubject: 400,
      queryOther: 403,
      queryGroupBy: 400,
      batch: 405,
      customers: 403,
      health: 403,
      conflicts: 403,
      analytics: 403,
      meters: 403,
      ingest: 405,
      mint: 405,
      unknownInvoice: 404,
      alertsOwn: 200,
      alertsOther: 403,
      alertsTwoCustomers: 400,
      signals: 403,
      deadLetters: 403,
    });
    // c-2 crosses 50 % too; the token's alerts stay c-1's, also with a cursor taken from the vendor's whole feed.
    expect((await send(acmeKey, [{ id: 'e-5', subject: 'c-2', calls: 60 }])).status).toBe(202);
    await expectEventually(async () => {
      const all = (await (await api(acmeKey, '/api/v1/alerts?customer=c-2')).json()) as { items: unknown[] };
      expect(all.items.length).toBeGreaterThan(0);
    }, 30_000, 500);
    const vendorFirst = (await (await api(acmeKey, '/api/v1/alerts?limit=1')).json()) as { nextCursor: string };
    for (const path of ['/api/v1/alerts', '/api/v1/alerts?limit=500', `/api/v1/alerts?cursor=${vendorFirst.nextCursor}`]) {
      const own = (await (await api(token, path)).json()) as { items: Array<{ customer: string }> };
      expect(own.items.length).toBeGreaterThan(0);
      expect(new Set(own.items.map((a) => a.customer))).toEqual(new Set(['c-1']));
    }
    // Unfiltered reads through the token are the customer's only: no c-2 event in the JSON list or the CSV.
    const events = (await (await api(token, '/api/v1/events')).json()) as { data: Array<{ subject: string }> };
    expect(events.data.length).toBe(3);
    expect(new Set(events.data.map((e) => e.subject))).toEqual(new Set(['c-1']));
    const csv = await (await api(token, '/api/v1/events', { headers: { accept: 'text/csv' } })).text();
    expect(csv).not.toContain('c-2');
    // c-2's invoice, named by id, is as unknown to c-1's token as a made-up id.
    const c2 = (await (await api(acmeKey, '/api/v1/customers/c-2/invoices')).json()) as { data: Array<{ id: string }> };
    const c1 = (await (await api(acmeKey, '/api/v1/customers/c-1/invoices')).json()) as { data: Array<{ id: string }> };
    expect(c1.data.length).toBeGreaterThan(0);
    expect((await api(token, `/api/v1/invoices/${c1.data[0].id}`)).status).toBe(200);
    expect((await api(token, `/api/v1/invoices/${c1.data[0].id}.pdf`)).status).toBe(200);
    expect(c2.data.length).toBeGreaterThan(0);
    for (const other of c2.data) expect((await api(token, `/api/v1/invoices/${other.id}`)).status).toBe(404);

    // Another tenant's token for its own "c-1" reads that tenant's customer, never acme's, and vice versa.
    const globexToken = ((await (await api(globexKey, '/api/v1/portal/tokens', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ customer: 'c-1' }) })).json()) as { token: string }).token;
    expect(((await (await api(globexToken, '/api/v1/customers/c-1')).json()) as { name: string }).name).toBe('Globex One');
    expect(((await (await api(globexToken, '/api/v1/entitlements/c-1/api-calls')).json()) as { usage: string }).usage).toBe('0');
    for (const inv of c1.data) expect((await api(globexToken, `/api/v1/invoices/${inv.id}`)).status).toBe(404);

    // Expired, tampered, foreign-secret and malformed tokens: 401, and the page says the link is not valid.
    const key = portalKey(SECRET);
    const expired = mintPortalToken(key, { apiKey: acmeKey, customer: 'c-1', expiresAt: Math.floor(Date.now() / 1000) - 1 });
    const mid = Math.floor(token.length / 2);
    const tampered = token.slice(0, mid) + (token[mid] === 'A' ? 'B' : 'A') + token.slice(mid + 1);
    const foreign = mintPortalToken(portalKey('another-secret-0123456789-abcdefghijkl'), { apiKey: acmeKey, customer: 'c-2', expiresAt: Math.floor(Date.now() / 1000) + 600 });
    for (const bad of [expired, tampered, foreign, 'tpt_', `${token}x`]) {
      const res = await api(bad, '/api/v1/customers/c-1');
      expect(res.status).toBe(401);
    }
    expect(((await (await api(expired, '/api/v1/customers/c-1')).json()) as { detail: string }).detail).toMatch(/expired/);
    const fresh = await browser.newContext();
    const expiredPage = await fresh.newPage();
    await expiredPage.goto(`${base}/dashboard/#/portal?token=${expired}`);
    await expiredPage.getByRole('heading', { name: 'Link not valid' }).waitFor();
    expect(await expiredPage.getByRole('alert').textContent()).toMatch(/expired/);
    await fresh.close();
    await context.close();
  });

  it('pages through 10,000 scored customers 20 at a time', async () => {
    const keys = apps.get('ingestion')!.app.get(ApiKeyService);
    await keys.createTenant('initech', 'Initech');
    const { key } = await keys.createKey('initech', 'dashboard');
    await suite.query(
      `INSERT INTO "${suite.schema('health-scoring')}".customer_health (tenant, customer, score, band, components, contributions, scored_at)
       SELECT 'initech', 'cust-' || lpad(i::text, 5, '0'), i % 100, CASE WHEN i % 100 < 40 THEN 'red' WHEN i % 100 < 70 THEN 'yellow' WHEN i % 100 < 90 THEN 'green' ELSE 'excellent' END,
              '{}'::jsonb, '{}'::jsonb, now()
       FROM generate_series(1, 10000) AS i`,
    );
    // The key reaches health-scoring through the catalog topic.
    await expectEventually(async () => expect((await api(key, '/api/v1/customers/health?limit=1')).status).toBe(200));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/dashboard/`);
    await page.getByLabel('Tenant API key').fill(key);
    let started = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    const rows = page.getByTestId('health-all').locator('tbody tr');
    await page.getByRole('link', { name: 'cust-00020' }).waitFor();
    const firstPageMs = Date.now() - started;
    expect(await rows.count()).toBe(20);
    expect(await rows.first().locator('a').textContent()).toBe('cust-00001');

    started = Date.now();
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByRole('link', { name: 'cust-00040' }).waitFor();
    const nextPageMs = Date.now() - started;
    expect(await rows.first().locator('a').textContent()).toBe('cust-00021');
    await page.getByRole('button', { name: 'Next →' }).click();
    await page.getByRole('link', { name: 'cust-00060' }).waitFor();
    await page.getByText('Page 3').waitFor();
    await page.getByRole('button', { name: '← Previous' }).click();
    await page.getByRole('link', { name: 'cust-00021' }).waitFor();
    // One band: 40 % of the customers are red, still 20 rows a page.
    await page.getByRole('button', { name: 'At risk (red)' }).click();
    await page.getByText('Page 1').waitFor();
    await expectEventually(async () => expect(await page.getByTestId('health-red').locator('tbody tr').count()).toBe(20));
    expect(await page.getByTestId('health-red').locator('tbody tr').first().locator('a').textContent()).toBe('cust-00001');
    process.stdout.write(`[dashboard e2e] 10,000 customers: first page ${firstPageMs} ms (sign-in included), next page ${nextPageMs} ms\n`);
    expect(firstPageMs).toBeLessThan(5_000);
    expect(nextPageMs).toBeLessThan(3_000);
    await context.close();
  });

  it('the accessibility check finds what it looks for', async () => {
    const page = await browser.newPage();
    await page.setContent('<h1>a</h1><h3>b</h3><input id="x"><input id="x" aria-label="ok"><button></button><svg></svg><table><tr><th>h</th></tr></table>');
    expect(await a11yProblems(page)).toEqual([
      'unlabelled <input id="x">',
      'nameless <button></button>',
      'undescribed svg',
      'duplicate id x',
      'heading h3 after h1: b',
      'th without scope: h',
    ]);
    await page.close();
  });

  it('serves the built app with a strict content security policy and nothing outside its directory', async () => {
    const page = await fetch(`${base}/dashboard/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(`${base}/`, { redirect: 'manual' })).headers.get('location')).toBe('/dashboard/');
    for (const p of ['/dashboard/..%2f..%2fpackage.json', '/dashboard/%2e%2e/package.json', '/dashboard/assets/nope.js', '/dashboard/a\\b.js']) {
      expect([400, 404]).toContain((await fetch(`${base}${p}`)).status);
    }
  });
});
