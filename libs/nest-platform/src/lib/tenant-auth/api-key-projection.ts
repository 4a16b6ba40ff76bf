import { Controller, Injectable, Module, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { TOPICS, type ApiKeyChanged } from '@tally/contracts';
import { schemaOf } from '@tally/postgres';
import type { ConsumedBatch } from '../exactly-once-transport';
import { bearerToken, hashApiKey, unauthorized, type TenantRequest } from './bearer';

export class CreateApiKeyProjection1732400000060 implements MigrationInterface {
  name = 'CreateApiKeyProjection1732400000060';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE ${schemaOf(q.connection)}.api_key_projection (
      key_id text PRIMARY KEY, key_hash text NOT NULL UNIQUE, tenant text NOT NULL, revoked boolean NOT NULL)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE ${schemaOf(q.connection)}.api_key_projection`);
  }
}

/** Keeps this service's copy of API key hashes from `catalog.api-keys.v1`. */
@Controller()
export class ApiKeyProjectionController {
  @EventPattern(TOPICS.catalogApiKeys)
  async onApiKeys(@Payload() batch: ConsumedBatch<ApiKeyChanged>): Promise<void> {
    const latest = new Map(batch.messages.map((m) => [m.value.keyId, m.value]));
    const keys = [...latest.values()];
    await batch.manager.query(
      `INSERT INTO ${schemaOf(batch.manager.connection)}.api_key_projection (key_id, key_hash, tenant, revoked)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])
       ON CONFLICT (key_id) DO UPDATE SET revoked = excluded.revoked OR api_key_projection.revoked`,
      [keys.map((k) => k.keyId), keys.map((k) => k.keyHash), keys.map((k) => k.tenant), keys.map((k) => k.revoked)],
    );
  }
}

/**
 * Authenticates tenant API calls in services other than ingestion, against their projection of the
 * key hashes. A revocation reaches it as fast as Kafka delivers it (plus this 5 s cache).
 */
@Injectable()
export class ProjectedApiKeyGuard implements CanActivate {
  private readonly cache = new Map<string, { tenant: string | null; until: number }>();

  constructor(private readonly dataSource: DataSource) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<TenantRequest>();
    const key = bearerToken(req);
    if (!key) throw unauthorized('missing Authorization: Bearer <api key>');
    const hash = hashApiKey(key);
    let hit = this.cache.get(hash);
    if (!hit || hit.until < Date.now()) {
      const rows = await this.dataSource.query(
        `SELECT tenant FROM ${schemaOf(this.dataSource)}.api_key_projection WHERE key_hash = $1 AND NOT revoked`,
        [hash],
      );
      hit = { tenant: rows[0]?.tenant ?? null, until: Date.now() + 5_000 };
      if (this.cache.size > 10_000) this.cache.clear();
      this.cache.set(hash, hit);
    }
    if (!hit.tenant) throw unauthorized('unknown or revoked API key');
    req.tenant = hit.tenant;
    return true;
  }
}

/** Import into a service that serves tenant APIs (and add CreateApiKeyProjection to its migrations). */
@Module({ controllers: [ApiKeyProjectionController], providers: [ProjectedApiKeyGuard], exports: [ProjectedApiKeyGuard] })
export class TenantAuthModule {}
