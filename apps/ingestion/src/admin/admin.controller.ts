import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { problem } from '@tally/nest-platform';
import { AdminTokenGuard } from '../auth/guards';
import { ApiKeyService, type ApiKeyView } from '../auth/api-key.service';

/** Tenants and their API keys, for the operator (Bearer ADMIN_TOKEN). */
@Controller('api/v1/admin')
@UseGuards(AdminTokenGuard)
export class AdminController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post('tenants')
  async createTenant(@Body() body: { id?: string; name?: string }): Promise<{ id: string; name: string }> {
    const errors = [];
    if (!body?.id || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(body.id)) errors.push({ pointer: '/id', detail: 'lower-case letters, digits, - and _ (at most 63)' });
    if (!body?.name) errors.push({ pointer: '/name', detail: 'is required' });
    if (errors.length > 0) throw problem(400, 'invalid tenant', errors);
    const result = await this.keys.createTenant(body.id!, body.name!);
    if (!result.created) throw problem(409, `tenant "${body.id}" exists`);
    return { id: result.id, name: result.name };
  }

  @Get('tenants')
  listTenants(): Promise<Array<{ id: string; name: string; createdAt: string }>> {
    return this.keys.listTenants();
  }

  @Post('tenants/:tenant/api-keys')
  async createKey(@Param('tenant') tenant: string, @Body() body: { name?: string }): Promise<ApiKeyView & { key: string }> {
    if (!(await this.keys.tenantExists(tenant))) throw problem(404, `no tenant "${tenant}"`);
    return this.keys.createKey(tenant, body?.name ?? null);
  }

  @Get('tenants/:tenant/api-keys')
  listKeys(@Param('tenant') tenant: string): Promise<ApiKeyView[]> {
    return this.keys.listKeys(tenant);
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  async revokeKey(@Param('id') id: string): Promise<void> {
    if (!(await this.keys.revokeKey(id))) throw problem(404, `no active API key "${id}"`);
  }
}
