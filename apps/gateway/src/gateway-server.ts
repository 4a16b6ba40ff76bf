import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { JsonLogger } from '@tally/telemetry';
import { ApiDocs, DOCS_CONTENT_SECURITY_POLICY, OPENAPI_PATH } from './api-docs';
import { DASHBOARD_CONTENT_SECURITY_POLICY, DASHBOARD_PATH, dashboardFile } from './dashboard-static';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers';
import type { GatewayConfig } from './gateway-config';
import { gatewayRequestDuration, gatewayUpstreamFailures, metricsRegistry } from './gateway-metrics';
import { portalDecision } from './portal/portal-policy';
import { mintPortalToken, parseMintRequest, portalKey, verifyPortalToken, type PortalClaims } from './portal/portal-token';
import { RouteTable, UPSTREAMS, type UpstreamName } from './route-table';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Content Too Large',
  502: 'Bad Gateway',
  504: 'Gateway Timeout',
};
export const PORTAL_TOKENS_PATH = '/api/v1/portal/tokens';
export const PORTAL_SESSION_PATH = '/api/v1/portal/session';
const PORTAL_BEARER = /^bearer\s+(tpt_\S+)\s*$/i;

function sendProblem(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title: TITLES[status], status, detail, ...extra });
  res.writeHead(status, { 'content-type': 'application/problem+json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function sendBody(req: IncomingMessage, res: ServerResponse, contentType: string, body: Buffer | string, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** A dot segment (`.`/`..`, also percent-encoded) would mean one path to us and maybe another to a normalizing hop. */
const hasDotSegment = (pathname: string) => pathname.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s));

export interface Gateway {
  server: http.Server;
  close(): Promise<void>;
}

/**
 * The front door: `/api/v1/...` goes to the service the OpenAPI document names for the method and path; bodies are
 * streamed both ways (a CSV export or an event batch is never held in memory); an upstream that refuses, resets or
 * is slow becomes a 502/504 problem+json that names no host, port or error of the upstream (those go to the log).
 */
export function createGateway(config: GatewayConfig, document: { paths: Record<string, Record<string, unknown>> }, logger: JsonLogger): Gateway {
  const routes = new RouteTable(document);
  const docs = new ApiDocs(document);
  const tokenKey = portalKey(config.portalTokenSecret);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const server = http.createServer((req, res) => handle(req, res));
  // Slow clients: the whole request head within 30 s; bodies are bounded by the idle timeout below.
  server.headersTimeout = 30_000;
  server.requestTimeout = 0;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    if (!url.startsWith('/')) return sendProblem(res, 400, 'the request target must be a path');
    const pathname = url.split('?', 1)[0];
    const method = req.method ?? 'GET';
    if (method === 'GET' || method === 'HEAD') {
      if (pathname === '/health') return sendBody(req, res, 'application/json', JSON.stringify({ status: 'ok' }));
      if (pathname === '/health/ready') return void ready(req, res);
      if (pathname === '/metrics') return void metricsRegistry.metrics().then((text) => sendBody(req, res, metricsRegistry.contentType, text));
      if (pathname === OPENAPI_PATH) return sendBody(req, res, 'application/json', docs.documentBody, { 'cache-control': 'no-cache' });
      const asset = docs.asset(pathname);
      if (asset) return sendBody(req, res, asset.contentType, asset.body, { 'content-security-policy': DOCS_CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' });
    }
    if (hasDotSegment(pathname)) return sendProblem(res, 400, 'the path must not contain "." or ".." segments');
    if (method === 'GET' || method === 'HEAD') {
      if (pathname === '/') return redirect(res, 302, DASHBOARD_PATH);
      if (pathname === '/dashboard') return redirect(res, 308, DASHBOARD_PATH);
      if (pathname.startsWith(DASHBOARD_PATH)) return void serveDashboard(req, res, pathname);
    }
    const portalBearer = PORTAL_BEARER.exec(req.headers.authorization ?? '');
    if (portalBearer) return void servePortal(req, res, portalBearer[1], pathname, url.slice(pathname.length + 1));
    if (pathname === PORTAL_TOKENS_PATH) {
      if (method !== 'POST') return sendProblem(res, 405, `${method} is not allowed here`, { allow: 'POST' });
      return void mintToken(req, res);
    }
    const resolution = routes.resolve(method, pathname);
    if (!resolution.found) {
      req.resume();
      if (resolution.status === 405) return sendProblem(res, 405, `${method} is not allowed here`, { allow: resolution.allow.join(', ') });
      return sendProblem(res, 404, `no API at ${pathname.slice(0, 200)}; see ${OPENAPI_PATH}`);
    }
    forward(req, res, resolution.route.upstream, resolution.route.template);
  }

  async function serveDashboard(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    try {
      const file = await dashboardFile(config.dashboardDir, pathname);
      if (!file.found) return sendProblem(res, 404, file.built ? `no file at ${pathname.slice(0, 200)}` : 'the dashboard is not built: run npm run setup');
      sendBody(req, res, file.contentType, file.body, {
        'cache-control': file.cacheControl,
        'content-security-policy': DASHBOARD_CONTENT_SECURITY_POLICY,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    } catch (e) {
      logger.error('dashboard file could not be read', { path: pathname, error: (e as Error).message });
      if (!res.headersSent) sendProblem(res, 502, 'the dashboard could not be read');
    }
  }

  /**
   * `POST /api/v1/portal/tokens {customer, ttlSeconds?}` with the tenant's API key: the key and the customer are
   * checked by asking billing for the customer with that key (an unknown key is billing's 401, another tenant's
   * customer its 404), then the token is minted here. Nothing is stored: the token carries what it needs.
   */
  async function mintToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const authorization = req.headers.authorization;
    if (!authorization) {
      req.resume();
      return sendProblem(res, 401, 'an API key is required (Authorization: Bearer <key>)');
    }
    const raw = await readBody(req, 4096);
    if (raw === null) return sendProblem(res, 413, 'the body may be at most 4096 bytes', { connection: 'close' });
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      return sendProblem(res, 400, 'the body must be JSON');
    }
    const parsed = parseMintRequest(body);
    if (!parsed.ok) return sendProblem(res, 400, `${parsed.errors.length} invalid field(s)`, {}, { errors: parsed.errors });
    const check = await upstreamGet('billing', `/api/v1/customers/${encodeURIComponent(parsed.customer)}`, authorization);
    if (check.status === 401 || check.status === 403) return sendProblem(res, 401, 'the API key is not valid');
    if (check.status === 404) return sendProblem(res, 404, `no customer "${parsed.customer.slice(0, 200)}"`);
    if (check.status !== 200) return sendProblem(res, 502, 'the service behind this API is not reachable right now; retry shortly');
    const apiKey = authorization.replace(/^bearer\s+/i, '').trim();
    const expiresAt = Math.floor(Date.now() / 1000) + parsed.ttlSeconds;
    const token = mintPortalToken(tokenKey, { apiKey, customer: parsed.customer, expiresAt });
    const out = JSON.stringify({ token, customer: parsed.customer, expiresAt: new Date(expiresAt * 1000).toISOString(), url: `${DASHBOARD_PATH}#/portal?token=${token}` });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), 'cache-control': 'no-store' });
    res.end(out);
  }

  /** A request with a portal token: only what portalDecision allows, for the token's customer, with the tenant's key. */
  async function servePortal(req: IncomingMessage, res: ServerResponse, token: string, pathname: string, search: string): Promise<void> {
    const method = req.method ?? 'GET';
    const verified = verifyPortalToken(tokenKey, token, Math.floor(Date.now() / 1000));
    if (!verified.ok) {
      req.resume();
      return sendProblem(res, 401, verified.reason === 'expired' ? 'the portal token has expired' : 'the portal token is not valid', { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    const claims: PortalClaims = verified.claims;
    // What the dashboard opened with a token shows: its customer and when it ends (never the key inside).
    if (pathname === PORTAL_SESSION_PATH && (method === 'GET' || method === 'HEAD')) {
      return sendBody(req, res, 'application/json', JSON.stringify({ customer: claims.customer, expiresAt: new Date(claims.expiresAt * 1000).toISOString() }), { 'cache-control': 'no-store' });
    }
    const decision = portalDecision(method, pathname, search, claims.customer);
    if (!decision.allow) {
      req.resume();
      return sendProblem(res, decision.status, decision.detail);
    }
    const resolution = routes.resolve(method, decision.path.split('?', 1)[0]);
    if (!resolution.found) {
      req.resume();
      return sendProblem(res, 404, `no API at ${pathname.slice(0, 200)}`);
    }
    const authorization = `Bearer ${claims.apiKey}`;
    if (decision.ownership) {
      // The invoice id names no customer: read it with the tenant's key and answer as if another customer's did not exist.
      const invoice = await upstreamGet('billing', `/api/v1/invoices/${encodeURIComponent(decision.ownership.id)}`, authorization);
      const owner = invoice.status === 200 ? (invoice.json as { customer?: unknown } | null)?.customer : undefined;
      if (invoice.status === 401) return sendProblem(res, 401, 'the portal token is not valid');
      if (invoice.status !== 200 && invoice.status !== 404) return sendProblem(res, 502, 'the service behind this API is not reachable right now; retry shortly');
      if (owner !== claims.customer) return sendProblem(res, 404, `no invoice "${decision.ownership.id.slice(0, 200)}"`);
    }
    forward(req, res, resolution.route.upstream, resolution.route.template, { path: decision.path, authorization });
  }

  /** A small JSON read from an upstream (token minting and ownership checks), with the same time limits. */
  function upstreamGet(upstream: UpstreamName, path: string, authorization: string): Promise<{ status: number; json: unknown }> {
    const target = config.upstreams[upstream];
    return new Promise((resolve) => {
      const r = http.request(
        { protocol: 'http:', hostname: target.hostname, port: target.port || 80, method: 'GET', path, headers: { authorization, accept: 'application/json' }, agent, timeout: config.responseTimeoutMs },
        (upstreamRes) => {
          const chunks: Buffer[] = [];
          upstreamRes.on('data', (c: Buffer) => chunks.push(c));
          upstreamRes.on('end', () => {
            let json: unknown = null;
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              json = null;
            }
            resolve({ status: upstreamRes.statusCode ?? 502, json });
          });
          upstreamRes.on('error', () => resolve({ status: 502, json: null }));
        },
      );
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.on('error', (error) => {
        logger.warn('upstream failed', { upstream, route: path.split('/').slice(0, 4).join('/'), reason: 'check', error: error.message });
        resolve({ status: 502, json: null });
      });
      r.end();
    });
  }

  function forward(req: IncomingMessage, res: ServerResponse, upstream: UpstreamName, template: string, override?: { path: string; authorization: string }): void {
    const started = process.hrtime.bigint();
    const target = config.upstreams[upstream];
    let settled = false;
    const upstreamReq = http.request({
      protocol: 'http:',
      hostname: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: override?.path ?? req.url,
      headers: { ...upstreamRequestHeaders(req.headers, req.socket.remoteAddress), ...(override ? { authorization: override.authorization } : {}) },
      agent,
    });

    res.on('close', () => {
      clearTimeout(responseTimer);
      gatewayRequestDuration.observe({ upstream, route: template, method: req.method, status: res.headersSent ? String(res.statusCode) : 'aborted' }, Number(process.hrtime.bigint() - started) / 1e9);
      // The client went away (or the response is done): nothing more to fetch or send.
      if (!res.writableFinished) upstreamReq.destroy();
    });

    /** The upstream failed: a problem before the response started, a cut connection after (the status is out). */
    const fail = (reason: 'refused' | 'timeout' | 'reset', error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(responseTimer);
      gatewayUpstreamFailures.inc({ upstream, reason });
      logger.warn('upstream failed', { upstream, route: template, method: req.method, reason, error: error?.message, responseStarted: res.headersSent });
      upstreamReq.destroy();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      req.unpipe(upstreamReq);
      req.resume();
      if (reason === 'timeout') sendProblem(res, 504, 'the service behind this API did not answer in time; retry later', { connection: 'close' });
      else sendProblem(res, 502, 'the service behind this API is not reachable right now; retry shortly', { connection: 'close' });
    };

    const responseTimer = setTimeout(() => fail('timeout'), config.responseTimeoutMs);
    upstreamReq.on('socket', (socket) => {
      if (!socket.connecting) return;
      const connectTimer = setTimeout(() => fail('timeout'), config.connectTimeoutMs);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('close', () => clearTimeout(connectTimer));
    });
    // No byte either way for this long (an upload or a download that stalled).
    upstreamReq.setTimeout(config.idleTimeoutMs, () => fail('timeout'));
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ECONNREFUSED' || error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN' ? 'refused' : 'reset', error));

    upstreamReq.on('response', (upstreamRes) => {
      clearTimeout(responseTimer);
      res.writeHead(upstreamRes.statusCode ?? 502, clientResponseHeaders(upstreamRes.headers));
      pipeline(upstreamRes, res, (error) => {
        if (error && !res.writableFinished) fail('reset', error);
        else settled = true;
      });
    });

    req.on('error', () => upstreamReq.destroy());
    req.pipe(upstreamReq);
  }

  /** The gateway answers whatever its upstreams do (a down service gives 502 on its routes only); their state is shown. */
  async function ready(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const states = await Promise.all(UPSTREAMS.map(async (name) => [name, await upstreamReady(config.upstreams[name])] as const));
    sendBody(req, res, 'application/json', JSON.stringify({ status: 'ready', upstreams: Object.fromEntries(states) }), { 'cache-control': 'no-store' });
  }

  return {
    server,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      agent.destroy();
    },
  };
}

function redirect(res: ServerResponse, status: number, location: string): void {
  res.writeHead(status, { location, 'content-length': 0, 'cache-control': 'no-cache' });
  res.end();
}

/** The body, or null once it is longer than `limit` (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', () => resolve(null));
  });
}

function upstreamReady(base: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(new URL('/health/ready', base), { timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}
