import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import type { JsonLogger } from '@tally/telemetry';
import { ApiDocs, DOCS_CONTENT_SECURITY_POLICY, OPENAPI_PATH } from './api-docs';
import { clientResponseHeaders, upstreamRequestHeaders } from './forwarded-headers';
import type { GatewayConfig } from './gateway-config';
import { gatewayRequestDuration, gatewayUpstreamFailures, metricsRegistry } from './gateway-metrics';
import { RouteTable, UPSTREAMS, type UpstreamName } from './route-table';

const TITLES: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 502: 'Bad Gateway', 504: 'Gateway Timeout' };

function sendProblem(res: ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ type: 'about:blank', title: TITLES[status], status, detail });
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
    const resolution = routes.resolve(method, pathname);
    if (!resolution.found) {
      req.resume();
      if (resolution.status === 405) return sendProblem(res, 405, `${method} is not allowed here`, { allow: resolution.allow.join(', ') });
      return sendProblem(res, 404, `no API at ${pathname.slice(0, 200)}; see ${OPENAPI_PATH}`);
    }
    forward(req, res, resolution.route.upstream, resolution.route.template);
  }

  function forward(req: IncomingMessage, res: ServerResponse, upstream: UpstreamName, template: string): void {
    const started = process.hrtime.bigint();
    const target = config.upstreams[upstream];
    let settled = false;
    const upstreamReq = http.request({
      protocol: 'http:',
      hostname: target.hostname,
      port: target.port || 80,
      method: req.method,
      path: req.url,
      headers: upstreamRequestHeaders(req.headers, req.socket.remoteAddress),
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
