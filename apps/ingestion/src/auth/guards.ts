import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { bearerToken, SERVICE_CONFIG, unauthorized, type ServiceConfig, type TenantRequest } from '@tally/nest-platform';
import { ingestionSettings } from '../ingestion-config';
import { ApiKeyService } from './api-key.service';

export { Tenant } from '@tally/nest-platform';

/** Every tenant API call: `Authorization: Bearer <api key>`; the key decides the tenant, the client cannot. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly keys: ApiKeyService) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<TenantRequest>();
    const key = bearerToken(req);
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
    const token = bearerToken(context.switchToHttp().getRequest<Request>());
    // Compare digests in constant time so the token cannot be guessed byte by byte.
    if (!token || !timingSafeEqual(createHash('sha256').update(token).digest(), this.expected)) throw unauthorized('admin token required');
    return true;
  }
}
