import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, UseGuards } from '@nestjs/common';
import { problem } from '@tally/nest-platform';
import { ApiKeyGuard, Tenant } from '../auth/guards';
import { MeterCatalogService, MeterValidationError, type MeterInput } from './meter-catalog.service';

/** Tenant-scoped meter definitions; every change is also published to `catalog.meters.v1`. */
@Controller('api/v1/meters')
@UseGuards(ApiKeyGuard)
export class MetersController {
  constructor(private readonly catalog: MeterCatalogService) {}

  @Get()
  list(@Tenant() tenant: string): Promise<MeterInput[]> {
    return this.catalog.list(tenant);
  }

  @Get(':slug')
  async get(@Tenant() tenant: string, @Param('slug') slug: string): Promise<MeterInput> {
    const meter = await this.catalog.get(tenant, slug);
    if (!meter) throw problem(404, `no meter "${slug}"`);
    return meter;
  }

  @Post()
  async create(@Tenant() tenant: string, @Body() body: MeterInput): Promise<MeterInput> {
    if (body?.slug && (await this.catalog.get(tenant, body.slug))) throw problem(409, `meter "${body.slug}" exists; use PUT to change it`);
    return this.save(tenant, body);
  }

  @Put(':slug')
  update(@Tenant() tenant: string, @Param('slug') slug: string, @Body() body: MeterInput): Promise<MeterInput> {
    return this.save(tenant, { ...body, slug });
  }

  @Delete(':slug')
  @HttpCode(204)
  async remove(@Tenant() tenant: string, @Param('slug') slug: string): Promise<void> {
    if (!(await this.catalog.remove(tenant, slug))) throw problem(404, `no meter "${slug}"`);
  }

  private async save(tenant: string, body: MeterInput): Promise<MeterInput> {
    try {
      return await this.catalog.upsert(tenant, body ?? ({} as MeterInput));
    } catch (e) {
      if (!(e instanceof MeterValidationError)) throw e;
      throw problem(
        400,
        'invalid meter',
        e.errors.map((m) => {
          const [field, ...rest] = m.split(': ');
          return { pointer: `/${field.replace(/\./g, '/')}`, detail: rest.join(': ') };
        }),
      );
    }
  }
}
