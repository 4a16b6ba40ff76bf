import { createParamDecorator, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Request } from 'express';
import { problem, SERVICE_CONFIG, type ServiceConfig } from '@tally/nest-platform';
import { Inject } from '@nestjs/common';
import { ingestionSettings } from '../ingestion-config';
import { ApiKeyService } from './api-key.service';

type TenantRequest = Request & { tenant?: string };

function bearer(req: Request): string | null {
  const header = req.headers.authorization ?? '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : null;
}

const unauthorized = (detail: string) => problem(401, detail, undefined, { 'WWW-Authenticate': 'Bearer realm="tally"' });

/** Every tenant API call: `Authorization: Bearer <api key>`; the key decides the tenant, the client cannot. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeyService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<TenantRequest>();
    const key = bearer(req);
    if (!key) throw unauthorized('missing Authorization: Bearer <api key>');
    const tenant = await this.keys.tenantForKey(key);
    if (!tenant) throw unauthorized('unknown or revoked API key');
    req.tenant = tenant;
    return true;
  }
}

/** The admin API (tenants, keys): `Authorization: Bearer <ADMIN_TOKEN>`. */
@Injectable()
export class AdminTokenGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(SERVICE_CONFIG) config: ServiceConfig) {
    this.expected = createHash('sha256').update(ingestionSettings(config).ADMIN_TOKEN).digest();
  }

  canActivate(context: ExecutionContext): boolean {
    const token = bearer(context.switchToHttp().getRequest<Request>());
    // Compare digests in constant time so the token cannot be guessed byte by byte.
    if (!token || !timingSafeEqual(createHash('sha256').update(token).digest(), this.expected)) throw unauthorized('admin token required');
    return true;
  }
}

/** The tenant of the authenticated API key. */
export const Tenant = createParamDecorator((_: unknown, context: ExecutionContext): string => {
  const tenant = context.switchToHttp().getRequest<TenantRequest>().tenant;
  if (!tenant) throw new Error('@Tenant() used on a route without ApiKeyGuard');
  return tenant;
});
