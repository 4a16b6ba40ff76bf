import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import { UPSTREAMS, type UpstreamName } from './route-table';

export interface GatewayConfig {
  port: number;
  /** Base URL of each upstream service (its own port, for operations). */
  upstreams: Record<UpstreamName, URL>;
  /** Connecting to an upstream longer than this answers 504. */
  connectTimeoutMs: number;
  /** No response headers from the upstream within this (after the request was sent) answers 504. */
  responseTimeoutMs: number;
  /** A request or response body that stalls this long (no bytes either way) is cut. */
  idleTimeoutMs: number;
  /** The built dashboard (apps/dashboard) served under /dashboard/. */
  dashboardDir: string;
  /** Encrypts and authenticates customer portal tokens (src/portal). */
  portalTokenSecret: string;
  /** False when no PORTAL_TOKEN_SECRET was set: a random one for this process, so tokens end with it. */
  portalTokenSecretConfigured: boolean;
}

const DEFAULT_PORTS: Record<UpstreamName, number> = { ingestion: 3001, aggregation: 3002, 'threshold-alerting': 3003, billing: 3004, 'health-scoring': 3005 };
/** `INGESTION_URL`, `THRESHOLD_ALERTING_URL`, ... */
export const upstreamUrlEnv = (name: UpstreamName) => `${name.toUpperCase().replace(/-/g, '_')}_URL`;

const upstreamUrl = z
  .string()
  .url('must be an http:// URL')
  .refine((u) => /^http:\/\/[^/?#]+\/?$/.test(u), 'must be http://host:port with no path, query or credentials')
  .refine((u) => !new URL(u).username && !new URL(u).password, 'must not carry credentials')
  .transform((u) => new URL(u));
const millis = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const schema = z.object({
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535),
  GATEWAY_CONNECT_TIMEOUT_MS: millis(100, 60_000).default(3_000),
  GATEWAY_RESPONSE_TIMEOUT_MS: millis(100, 600_000).default(30_000),
  GATEWAY_IDLE_TIMEOUT_MS: millis(1_000, 3_600_000).default(60_000),
  DASHBOARD_DIR: z.string().min(1),
  PORTAL_TOKEN_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ...Object.fromEntries(UPSTREAMS.map((name) => [upstreamUrlEnv(name), upstreamUrl])),
});

/** The gateway's settings from the environment; throws one message naming every bad variable (main exits 78). */
export function loadGatewayConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const input: Record<string, string | undefined> = {
    GATEWAY_PORT: env.GATEWAY_PORT ?? env.PORT ?? '3000',
    GATEWAY_CONNECT_TIMEOUT_MS: env.GATEWAY_CONNECT_TIMEOUT_MS,
    GATEWAY_RESPONSE_TIMEOUT_MS: env.GATEWAY_RESPONSE_TIMEOUT_MS,
    GATEWAY_IDLE_TIMEOUT_MS: env.GATEWAY_IDLE_TIMEOUT_MS,
    DASHBOARD_DIR: env.DASHBOARD_DIR ?? path.resolve(__dirname, '../../../dist/apps/dashboard'),
    PORTAL_TOKEN_SECRET: env.PORTAL_TOKEN_SECRET || undefined,
  };
  for (const name of UPSTREAMS) input[upstreamUrlEnv(name)] = env[upstreamUrlEnv(name)] ?? `http://127.0.0.1:${DEFAULT_PORTS[name]}`;
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`gateway: invalid configuration\n${problems}`);
  }
  const values = parsed.data as Record<string, unknown>;
  return {
    port: parsed.data.GATEWAY_PORT,
    upstreams: Object.fromEntries(UPSTREAMS.map((name) => [name, values[upstreamUrlEnv(name)] as URL])) as Record<UpstreamName, URL>,
    connectTimeoutMs: parsed.data.GATEWAY_CONNECT_TIMEOUT_MS,
    responseTimeoutMs: parsed.data.GATEWAY_RESPONSE_TIMEOUT_MS,
    idleTimeoutMs: parsed.data.GATEWAY_IDLE_TIMEOUT_MS,
    dashboardDir: path.resolve(parsed.data.DASHBOARD_DIR),
    // Several gateway replicas must share one secret, or a token minted by one is refused by the next.
    portalTokenSecret: parsed.data.PORTAL_TOKEN_SECRET ?? randomBytes(32).toString('base64url'),
    portalTokenSecretConfigured: parsed.data.PORTAL_TOKEN_SECRET !== undefined,
  };
}
