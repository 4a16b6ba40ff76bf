import { createHash } from 'node:crypto';
import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { problem, type ProblemException } from '../problem-details';

export type TenantRequest = Request & { tenant?: string };

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export function bearerToken(req: Request): string | null {
  const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return match ? match[1] : null;
}

export const unauthorized = (detail: string, retryAfterSeconds?: number): ProblemException =>
  problem(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="tally"', ...(retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {}) });

/** The tenant of the authenticated API key (set by a tenant guard). */
export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const tenant = context.switchToHttp().getRequest<TenantRequest>().tenant;
  if (!tenant) throw new Error('@Tenant() used on a route without a tenant guard');
  return tenant;
});
